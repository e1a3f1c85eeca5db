// Reading one SafeTensors file, strictly: the file is untrusted input.
//
// Layout (huggingface/safetensors, "Format"): an 8-byte little-endian header
// length N, N bytes of UTF-8 JSON (an object: tensor name -> {"dtype", "shape",
// "data_offsets": [begin, end]} plus an optional "__metadata__" object of
// string -> string), then the byte buffer. Offsets are relative to the start of
// the buffer. The file is memory-mapped and tensor data is never copied.
//
// Validation: header length past the end or above 100 MB (the reference
// implementation's limit); invalid JSON or UTF-8; duplicate keys; wrong JSON
// types; unknown dtype names; shapes that are not non-negative integers;
// element and byte counts overflowing 64 bits; data_offsets with begin > end,
// past the buffer, or not matching product(shape) * dtype size. As the format
// requires (and the reference implementation checks), the tensors must tile
// the byte buffer exactly: no overlap, no hole, no trailing byte. A hole or a
// trailing region is where a polyglot file would hide its second meaning, so
// it is refused like an overlap.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "format/format_error.h"
#include "format/safetensors_dtype.h"

namespace forge {

// The reference implementation's MAX_HEADER_SIZE.
inline constexpr uint64_t kSafetensorsMaxHeader = 100'000'000;

struct SafetensorsTensor {
  std::string name;
  SafetensorsDtype dtype = SafetensorsDtype::F32;
  std::vector<int64_t> shape;     // HF order: row-major, outermost first ([out, in] for a Linear weight)
  uint64_t n_elements = 0;        // 1 for a scalar (shape [])
  uint64_t begin = 0, end = 0;    // data_offsets, relative to the byte buffer
  std::span<const uint8_t> data;  // into the mapping

  std::string_view dtype_name() const { return safetensors_dtype_name(dtype); }
  std::string shape_string() const;  // "[512, 64]"
};

class MappedFile;

class SafetensorsFile {
 public:
  // Maps and parses the file at `path`.
  static SafetensorsFile open(const std::string& path);
  // Parses bytes owned by the caller (they must outlive the result); `name`
  // is used in error messages.
  static SafetensorsFile parse(std::span<const uint8_t> bytes, std::string name);

  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  ~SafetensorsFile();

  const std::string& path() const { return name_; }
  uint64_t header_size() const { return header_size_; }  // N
  uint64_t data_offset() const { return 8 + header_size_; }
  uint64_t file_size() const { return bytes_.size(); }

  // "__metadata__" in file order (empty when absent).
  const std::vector<std::pair<std::string, std::string>>& metadata() const { return metadata_; }
  const std::string* find_metadata(std::string_view key) const;

  // Tensors in byte-buffer order.
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  const SafetensorsTensor* find_tensor(std::string_view name) const;
  const SafetensorsTensor& tensor(std::string_view name) const;  // throws FormatError if missing

 private:
  SafetensorsFile() = default;
  friend class SafetensorsParser;

  std::unique_ptr<MappedFile> mapping_;
  std::string name_;
  std::span<const uint8_t> bytes_;
  uint64_t header_size_ = 0;
  std::vector<std::pair<std::string, std::string>> metadata_;
  std::vector<SafetensorsTensor> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace forge
