// Reading GGUF files (versions 2 and 3), strictly: the file is untrusted input.
// The file is memory-mapped and tensor data is never copied; every offset,
// length and count is checked before use, and a malformed file raises a
// FormatError with one line naming the file, what is wrong and where.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "format/format_error.h"
#include "format/ggml_types.h"
#include "format/gguf_value.h"

namespace forge {

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" little-endian
inline constexpr uint64_t kGgufDefaultAlignment = 32;
inline constexpr int kGgufMaxDims = 4;      // GGML_MAX_DIMS
inline constexpr size_t kGgufMaxNameLen = 63;  // GGML_MAX_NAME (64) minus the terminator

struct GgufTensorInfo {
  std::string name;
  GgmlType type;
  std::vector<int64_t> dims;      // GGML order: dims[0] is the row length
  uint64_t offset = 0;            // from the start of the data section
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
  std::span<const uint8_t> data;  // into the mapping

  int64_t rows() const;           // product of dims[1..]
  std::string shape_string() const;  // "[64, 512]"
};

class MappedFile;

class GgufFile {
 public:
  // Maps and parses the file at `path`.
  static GgufFile open(const std::string& path);
  // Parses bytes owned by the caller (they must outlive the result); `name`
  // is used in error messages.
  static GgufFile parse(std::span<const uint8_t> bytes, std::string name);

  GgufFile(GgufFile&&) noexcept;
  GgufFile& operator=(GgufFile&&) noexcept;
  ~GgufFile();

  const std::string& path() const { return name_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return bytes_.size(); }
  std::span<const uint8_t> bytes() const { return bytes_; }

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Typed access. T: an integer type, float, double, bool or std::string.
  // Throws FormatError "<file>: metadata key 'K' is missing" or "... has type
  // X, expected Y".
  template <class T>
  T get(std::string_view key) const;
  template <class T>
  std::optional<T> get_optional(std::string_view key) const;
  template <class T>
  T get_or(std::string_view key, T fallback) const {
    auto v = get_optional<T>(key);
    return v ? *v : fallback;
  }
  // Arrays of a scalar or string type, same conversion rules per element.
  template <class T>
  std::vector<T> get_array(std::string_view key) const;
  template <class T>
  std::optional<std::vector<T>> get_array_optional(std::string_view key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  const GgufTensorInfo& tensor(std::string_view name) const;  // throws if missing

 private:
  GgufFile() = default;
  friend class GgufParser;

  std::unique_ptr<MappedFile> mapping_;
  std::string name_;
  std::span<const uint8_t> bytes_;
  uint32_t version_ = 0;
  uint64_t alignment_ = kGgufDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace forge
