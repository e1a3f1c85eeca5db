#include "format/gguf_file.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <numeric>
#include <sstream>

#include "format/mapped_file.h"

namespace forge {

// Reads the byte layout of GGUF (ggml's docs/gguf.md): header (magic, version,
// n_tensors, n_kv), key/value pairs, tensor infos, padding to the alignment,
// then tensor data. Every read is bounds-checked; counts are checked against
// the bytes left before anything is allocated (CVE-2024-21802 class), and all
// size arithmetic is overflow-checked (CVE-2025-53630, CVE-2026-27940,
// CVE-2026-33298 classes).
class GgufParser {
 public:
  GgufParser(std::span<const uint8_t> bytes, const std::string& name) : b_(bytes), name_(name) {}

  void parse(GgufFile& f);

 private:
  // Metadata values of all kinds, arrays included, that one file may hold: far
  // above any real vocabulary (a few hundred thousand tokens with scores, types
  // and merges), low enough that a hostile file cannot make us allocate
  // gigabytes of value objects.
  static constexpr uint64_t kMaxMetadataValues = uint64_t{1} << 24;
  static constexpr int kMaxArrayDepth = 8;

  [[noreturn]] void fail(const std::string& what) const { throw FormatError(name_ + ": " + what); }
  [[noreturn]] void fail_at(uint64_t offset, const std::string& what) const {
    fail(what + " (at offset " + std::to_string(offset) + ")");
  }
  uint64_t left() const { return b_.size() - pos_; }
  void need(uint64_t n, const std::string& what) const {
    if (n > left()) {
      fail_at(pos_, "file is truncated: " + what + " needs " + std::to_string(n) + " bytes but only " +
                        std::to_string(left()) + " remain");
    }
  }
  template <class T>
  T read(const std::string& what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string(const std::string& what);
  GgufValue read_value(GgufValueType type, const std::string& key, int depth);
  static uint64_t min_encoded_size(GgufValueType t);

  void read_header(GgufFile& f);
  void read_metadata(GgufFile& f, uint64_t n_kv);
  void read_tensor_infos(GgufFile& f, uint64_t n_tensors);
  void check_alignment(GgufFile& f);
  void place_tensors(GgufFile& f);

  std::span<const uint8_t> b_;
  const std::string& name_;
  uint64_t pos_ = 0;
  uint64_t values_read_ = 0;
};

std::string GgufParser::read_string(const std::string& what) {
  uint64_t at = pos_;
  uint64_t len = read<uint64_t>(what + " length");
  if (len > left()) {
    fail_at(at, what + " has length " + std::to_string(len) + ", past the end of the file (" + std::to_string(left()) +
                    " bytes remain)");
  }
  std::string s(reinterpret_cast<const char*>(b_.data() + pos_), len);
  pos_ += len;
  return s;
}

uint64_t GgufParser::min_encoded_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8: case GgufValueType::I8: case GgufValueType::BOOL: return 1;
    case GgufValueType::U16: case GgufValueType::I16: return 2;
    case GgufValueType::U32: case GgufValueType::I32: case GgufValueType::F32: return 4;
    case GgufValueType::U64: case GgufValueType::I64: case GgufValueType::F64: return 8;
    case GgufValueType::STRING: return 8;
    case GgufValueType::ARRAY: return 12;
  }
  return 1;
}

GgufValue GgufParser::read_value(GgufValueType type, const std::string& key, int depth) {
  if (++values_read_ > kMaxMetadataValues) {
    fail_at(pos_, "metadata holds more than " + std::to_string(kMaxMetadataValues) + " values (key '" + key + "')");
  }
  const std::string what = "value of key '" + key + "'";
  switch (type) {
    case GgufValueType::U8: return GgufValue(read<uint8_t>(what));
    case GgufValueType::I8: return GgufValue(read<int8_t>(what));
    case GgufValueType::U16: return GgufValue(read<uint16_t>(what));
    case GgufValueType::I16: return GgufValue(read<int16_t>(what));
    case GgufValueType::U32: return GgufValue(read<uint32_t>(what));
    case GgufValueType::I32: return GgufValue(read<int32_t>(what));
    case GgufValueType::F32: return GgufValue(read<float>(what));
    case GgufValueType::U64: return GgufValue(read<uint64_t>(what));
    case GgufValueType::I64: return GgufValue(read<int64_t>(what));
    case GgufValueType::F64: return GgufValue(read<double>(what));
    case GgufValueType::BOOL: {
      uint64_t at = pos_;
      uint8_t v = read<uint8_t>(what);
      if (v > 1) fail_at(at, "key '" + key + "' holds bool value " + std::to_string(v) + ", expected 0 or 1");
      return GgufValue(GgufValue::Storage(v != 0));
    }
    case GgufValueType::STRING: return GgufValue::string(read_string(what));
    case GgufValueType::ARRAY: {
      if (depth >= kMaxArrayDepth) {
        fail_at(pos_, "key '" + key + "': arrays nested deeper than " + std::to_string(kMaxArrayDepth));
      }
      uint64_t at = pos_;
      uint32_t elem = read<uint32_t>("element type of array '" + key + "'");
      if (elem >= kGgufValueTypeCount) {
        fail_at(at, "key '" + key + "': unknown array element type " + std::to_string(elem));
      }
      auto elem_type = static_cast<GgufValueType>(elem);
      uint64_t count_at = pos_;
      uint64_t count = read<uint64_t>("length of array '" + key + "'");
      if (count > left() / min_encoded_size(elem_type)) {
        fail_at(count_at, "key '" + key + "': array of " + std::to_string(count) + " " +
                              std::string(gguf_value_type_name(elem_type)) + " items cannot fit in the " +
                              std::to_string(left()) + " bytes left");
      }
      if (count > kMaxMetadataValues - values_read_) {
        fail_at(count_at, "key '" + key + "': array of " + std::to_string(count) + " items exceeds the limit of " +
                              std::to_string(kMaxMetadataValues) + " metadata values");
      }
      std::vector<GgufValue> items;
      items.reserve(count);
      for (uint64_t i = 0; i < count; ++i) items.push_back(read_value(elem_type, key, depth + 1));
      return GgufValue::array(elem_type, std::move(items));
    }
  }
  fail_at(pos_, "key '" + key + "': unknown value type");
}

void GgufParser::read_header(GgufFile& f) {
  if (b_.size() < 4) fail("file is too small to be GGUF (" + std::to_string(b_.size()) + " bytes)");
  uint32_t magic = read<uint32_t>("magic");
  if (magic != kGgufMagic) {
    char m[5] = {0};
    std::memcpy(m, &magic, 4);
    for (char& c : std::span(m, 4)) {
      if (c < 0x20 || c > 0x7e) c = '?';
    }
    fail_at(0, std::string("bad magic '") + m + "', not a GGUF file");
  }
  uint32_t version = read<uint32_t>("version");
  if (version == 1) {
    fail_at(4, "GGUF version 1 is not supported (only versions 2 and 3); re-convert the model with a current converter");
  }
  if (version != 2 && version != 3) {
    if (__builtin_bswap32(version) == 2 || __builtin_bswap32(version) == 3) {
      fail_at(4, "big-endian GGUF files are not supported");
    }
    fail_at(4, "unsupported GGUF version " + std::to_string(version) + " (supported: 2 and 3)");
  }
  f.version_ = version;
}

void GgufParser::read_metadata(GgufFile& f, uint64_t n_kv) {
  // A key/value pair takes at least 8 (key length) + 1 (key) + 4 (type) + 1 bytes.
  f.kv_.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    uint64_t at = pos_;
    std::string key = read_string("key of metadata entry " + std::to_string(i));
    if (key.empty()) fail_at(at, "metadata entry " + std::to_string(i) + " has an empty key");
    if (f.kv_index_.count(key)) fail_at(at, "duplicate metadata key '" + key + "'");
    uint64_t type_at = pos_;
    uint32_t type = read<uint32_t>("type of key '" + key + "'");
    if (type >= kGgufValueTypeCount) {
      fail_at(type_at, "key '" + key + "' has unknown value type " + std::to_string(type));
    }
    GgufValue v = read_value(static_cast<GgufValueType>(type), key, 0);
    f.kv_index_.emplace(key, f.kv_.size());
    f.kv_.emplace_back(std::move(key), std::move(v));
  }
}

void GgufParser::check_alignment(GgufFile& f) {
  const GgufValue* a = f.find("general.alignment");
  if (!a) return;
  if (a->type() != GgufValueType::U32) {
    fail("key 'general.alignment' has type " + std::string(gguf_value_type_name(a->type())) + ", expected uint32");
  }
  uint32_t align = *a->as<uint32_t>();
  if (align == 0 || !std::has_single_bit(align)) {
    fail("key 'general.alignment' is " + std::to_string(align) + ", expected a non-zero power of two");
  }
  f.alignment_ = align;
}

void GgufParser::read_tensor_infos(GgufFile& f, uint64_t n_tensors) {
  f.tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    uint64_t at = pos_;
    GgufTensorInfo t;
    t.name = read_string("name of tensor " + std::to_string(i));
    const std::string q = "tensor '" + t.name + "'";
    if (t.name.empty()) fail_at(at, "tensor " + std::to_string(i) + " has an empty name");
    if (t.name.size() > kGgufMaxNameLen) {
      fail_at(at, "name of tensor " + std::to_string(i) + " is " + std::to_string(t.name.size()) +
                      " bytes long (at most " + std::to_string(kGgufMaxNameLen) + ")");
    }
    if (f.tensor_index_.count(t.name)) fail_at(at, "duplicate " + q);

    uint64_t dims_at = pos_;
    uint32_t n_dims = read<uint32_t>("dimension count of " + q);
    if (n_dims < 1 || n_dims > static_cast<uint32_t>(kGgufMaxDims)) {
      fail_at(dims_at, q + " has " + std::to_string(n_dims) + " dimensions (expected 1 to " +
                           std::to_string(kGgufMaxDims) + ")");
    }
    uint64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t dim_at = pos_;
      uint64_t raw = read<uint64_t>("dimension " + std::to_string(d) + " of " + q);
      if (raw > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        fail_at(dim_at, q + " has negative dimension " + std::to_string(static_cast<int64_t>(raw)));
      }
      if (raw == 0) fail_at(dim_at, q + " has a zero dimension " + std::to_string(d));
      if (n_elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / raw) {
        fail_at(dim_at, q + ": element count overflows 64 bits");
      }
      n_elements *= raw;
      t.dims.push_back(static_cast<int64_t>(raw));
    }
    t.n_elements = n_elements;

    uint64_t type_at = pos_;
    uint32_t type_id = read<uint32_t>("type of " + q);
    auto info = ggml_type_info(type_id);
    if (!info) {
      std::string_view removed = ggml_removed_type_name(type_id);
      if (!removed.empty()) {
        fail_at(type_at, q + " has type " + std::string(removed) + " (id " + std::to_string(type_id) +
                             "), which ggml removed; re-quantize the model");
      }
      fail_at(type_at, q + " has unknown tensor type id " + std::to_string(type_id));
    }
    t.type = info->type;
    if (t.dims[0] % info->block_size != 0) {
      fail_at(type_at, q + " has row length " + std::to_string(t.dims[0]) + ", not a multiple of the " +
                           std::string(info->name) + " block size " + std::to_string(info->block_size));
    }
    uint64_t blocks = n_elements / static_cast<uint64_t>(info->block_size);
    if (blocks > std::numeric_limits<uint64_t>::max() / info->type_size) {
      fail_at(type_at, q + ": byte size overflows 64 bits");
    }
    t.n_bytes = blocks * info->type_size;

    uint64_t off_at = pos_;
    t.offset = read<uint64_t>("data offset of " + q);
    f.tensor_index_.emplace(t.name, f.tensors_.size());
    f.tensors_.push_back(std::move(t));
    (void)off_at;
  }
}

void GgufParser::place_tensors(GgufFile& f) {
  const uint64_t align = f.alignment_;
  // Data starts at the next multiple of the alignment after the tensor infos.
  uint64_t pad = (align - pos_ % align) % align;
  f.data_offset_ = pos_ + pad;
  if (f.tensors_.empty()) return;
  if (f.data_offset_ > b_.size()) {
    fail_at(pos_, "file is truncated: the tensor data section would start at offset " + std::to_string(f.data_offset_) +
                      ", past the end of the file (" + std::to_string(b_.size()) + " bytes)");
  }
  const uint64_t data_size = b_.size() - f.data_offset_;
  for (auto& t : f.tensors_) {
    const std::string q = "tensor '" + t.name + "'";
    if (t.offset % align != 0) {
      fail(q + " has data offset " + std::to_string(t.offset) + ", not a multiple of the alignment " +
           std::to_string(align));
    }
    if (t.offset > data_size || t.n_bytes > data_size - t.offset) {
      fail(q + " ends past the file end (offset " + std::to_string(f.data_offset_) + " + " + std::to_string(t.offset) +
           ", size " + std::to_string(t.n_bytes) + ", file " + std::to_string(b_.size()) + " bytes)");
    }
    t.data = b_.subspan(f.data_offset_ + t.offset, t.n_bytes);
  }
  std::vector<size_t> order(f.tensors_.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return f.tensors_[a].offset < f.tensors_[b].offset; });
  for (size_t i = 1; i < order.size(); ++i) {
    const auto& prev = f.tensors_[order[i - 1]];
    const auto& cur = f.tensors_[order[i]];
    if (prev.offset + prev.n_bytes > cur.offset) {
      fail("tensors '" + prev.name + "' and '" + cur.name + "' overlap ('" + prev.name + "' spans " +
           std::to_string(prev.offset) + ".." + std::to_string(prev.offset + prev.n_bytes) + ", '" + cur.name +
           "' starts at " + std::to_string(cur.offset) + ")");
    }
  }
}

void GgufParser::parse(GgufFile& f) {
  read_header(f);
  uint64_t nt_at = pos_;
  uint64_t n_tensors = read<uint64_t>("tensor count");
  uint64_t nkv_at = pos_;
  uint64_t n_kv = read<uint64_t>("metadata count");
  // Each tensor info takes at least 8+1 (name) + 4 (n_dims) + 8 (one dim) + 4 (type) + 8 (offset) = 33 bytes,
  // each key/value pair at least 8+1 (key) + 4 (type) + 1 (value) = 14.
  auto describe = [](uint64_t n) {
    std::string s = std::to_string(n);
    if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      s += " (" + std::to_string(static_cast<int64_t>(n)) + " as signed)";
    }
    return s;
  };
  if (n_tensors > left() / 33) {
    fail_at(nt_at, "tensor count " + describe(n_tensors) + " is impossible for a file of " +
                       std::to_string(b_.size()) + " bytes");
  }
  if (n_kv > left() / 14) {
    fail_at(nkv_at, "metadata count " + describe(n_kv) + " is impossible for a file of " + std::to_string(b_.size()) +
                        " bytes");
  }
  read_metadata(f, n_kv);
  check_alignment(f);
  read_tensor_infos(f, n_tensors);
  place_tensors(f);
}

GgufFile GgufFile::parse(std::span<const uint8_t> bytes, std::string name) {
  GgufFile f;
  f.name_ = std::move(name);
  f.bytes_ = bytes;
  GgufParser(bytes, f.name_).parse(f);
  return f;
}

GgufFile GgufFile::open(const std::string& path) {
  auto mapping = std::make_unique<MappedFile>(path);
  GgufFile f = parse(mapping->bytes(), path);
  f.mapping_ = std::move(mapping);
  return f;
}

GgufFile::GgufFile(GgufFile&&) noexcept = default;
GgufFile& GgufFile::operator=(GgufFile&&) noexcept = default;
GgufFile::~GgufFile() = default;

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = kv_index_.find(std::string(key));
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

namespace {

[[noreturn]] void wrong_type(const std::string& file, std::string_view key, const GgufValue& v,
                             std::string_view expected) {
  std::string got(gguf_value_type_name(v.type()));
  if (const auto* arr = v.as_array()) got += " of " + std::string(gguf_value_type_name(arr->elem_type));
  throw FormatError(file + ": metadata key '" + std::string(key) + "' has type " + got + " (value " +
                    v.to_display(4) + "), expected " + std::string(expected));
}

}  // namespace

template <class T>
std::optional<T> GgufFile::get_optional(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  auto r = v->as<T>();
  if (!r) wrong_type(name_, key, *v, gguf_cpp_type_name<T>());
  return r;
}

template <class T>
T GgufFile::get(std::string_view key) const {
  if (!find(key)) throw FormatError(name_ + ": metadata key '" + std::string(key) + "' is missing");
  return *get_optional<T>(key);
}

template <class T>
std::optional<std::vector<T>> GgufFile::get_array_optional(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  const GgufArray* arr = v->as_array();
  const std::string expected = "array of " + std::string(gguf_cpp_type_name<T>());
  if (!arr) wrong_type(name_, key, *v, expected);
  std::vector<T> out;
  out.reserve(arr->items.size());
  for (size_t i = 0; i < arr->items.size(); ++i) {
    auto e = arr->items[i].as<T>();
    if (!e) {
      throw FormatError(name_ + ": metadata key '" + std::string(key) + "' item " + std::to_string(i) + " (" +
                        arr->items[i].to_display(4) + ") cannot be read as " + std::string(gguf_cpp_type_name<T>()));
    }
    out.push_back(std::move(*e));
  }
  return out;
}

template <class T>
std::vector<T> GgufFile::get_array(std::string_view key) const {
  if (!find(key)) throw FormatError(name_ + ": metadata key '" + std::string(key) + "' is missing");
  return *get_array_optional<T>(key);
}

#define FORGE_INSTANTIATE(T)                                                         \
  template T GgufFile::get<T>(std::string_view) const;                               \
  template std::optional<T> GgufFile::get_optional<T>(std::string_view) const;       \
  template std::vector<T> GgufFile::get_array<T>(std::string_view) const;            \
  template std::optional<std::vector<T>> GgufFile::get_array_optional<T>(std::string_view) const;
FORGE_INSTANTIATE(uint8_t)
FORGE_INSTANTIATE(int8_t)
FORGE_INSTANTIATE(uint16_t)
FORGE_INSTANTIATE(int16_t)
FORGE_INSTANTIATE(uint32_t)
FORGE_INSTANTIATE(int32_t)
FORGE_INSTANTIATE(uint64_t)
FORGE_INSTANTIATE(int64_t)
FORGE_INSTANTIATE(float)
FORGE_INSTANTIATE(double)
FORGE_INSTANTIATE(bool)
FORGE_INSTANTIATE(std::string)
#undef FORGE_INSTANTIATE

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensorInfo& GgufFile::tensor(std::string_view name) const {
  const GgufTensorInfo* t = find_tensor(name);
  if (!t) throw FormatError(name_ + ": tensor '" + std::string(name) + "' is missing");
  return *t;
}

int64_t GgufTensorInfo::rows() const {
  int64_t r = 1;
  for (size_t i = 1; i < dims.size(); ++i) r *= dims[i];
  return r;
}

std::string GgufTensorInfo::shape_string() const {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

}  // namespace forge
