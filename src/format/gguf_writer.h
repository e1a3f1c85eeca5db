// Writing GGUF version 3 files: metadata in insertion order, tensor infos, then
// tensor data, each tensor's data aligned to `general.alignment` (default 32)
// and padded with zero bytes, as ggml's writer lays it out.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "format/ggml_types.h"
#include "format/gguf_file.h"
#include "format/gguf_value.h"

namespace forge {

class GgufWriter {
 public:
  // Fills a tensor's bytes when the file is written, so large outputs (a
  // quantized model) need only one tensor in memory at a time.
  using Fill = std::function<void(std::span<uint8_t> out)>;

  // Sets a key, replacing an existing value in place (order is kept).
  void set(const std::string& key, GgufValue value);
  void set_string(const std::string& key, std::string v) { set(key, GgufValue::string(std::move(v))); }
  void set_u32(const std::string& key, uint32_t v) { set(key, GgufValue(GgufValue::Storage(v))); }
  void set_f32(const std::string& key, float v) { set(key, GgufValue(GgufValue::Storage(v))); }
  void set_bool(const std::string& key, bool v) { set(key, GgufValue(GgufValue::Storage(v))); }
  void remove(const std::string& key);
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }

  // Tensors, written in the order added. `dims` in GGML order (row length
  // first). The borrowed span must stay valid until write().
  void add_tensor(std::string name, GgmlType type, std::vector<int64_t> dims, std::span<const uint8_t> data);
  void add_tensor(std::string name, GgmlType type, std::vector<int64_t> dims, std::vector<uint8_t> data);
  void add_tensor(std::string name, GgmlType type, std::vector<int64_t> dims, Fill fill);

  // Copies all metadata and tensors (borrowed) of a file.
  static GgufWriter copy_of(const GgufFile& file);

  // Writes to `path` through a temporary file renamed into place; throws
  // FormatError on an I/O error or inconsistent tensors.
  void write(const std::string& path) const;
  std::vector<uint8_t> to_bytes() const;

 private:
  struct Tensor {
    std::string name;
    GgmlType type;
    std::vector<int64_t> dims;
    uint64_t n_bytes = 0;
    std::span<const uint8_t> borrowed;
    std::vector<uint8_t> owned;
    Fill fill;
  };
  void add(Tensor t);
  uint64_t alignment() const;
  template <class Sink>
  void emit(Sink& sink) const;

  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<Tensor> tensors_;
};

}  // namespace forge
