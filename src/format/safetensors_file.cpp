#include "format/safetensors_file.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>

#include "format/hf_config_json.h"
#include "format/mapped_file.h"

namespace forge {

class SafetensorsParser {
 public:
  SafetensorsParser(std::span<const uint8_t> bytes, const std::string& name) : b_(bytes), name_(name) {}
  void parse(SafetensorsFile& f);

 private:
  [[noreturn]] void fail(const std::string& what) const { throw FormatError(name_ + ": " + what); }
  Json read_header(SafetensorsFile& f);
  void read_metadata(SafetensorsFile& f, const Json& m);
  SafetensorsTensor read_tensor(const std::string& name, const Json& entry, uint64_t buffer_size);
  std::vector<int64_t> read_shape(const std::string& q, const Json& shape, uint64_t& n_elements);
  void check_tiling(const SafetensorsFile& f, uint64_t buffer_size);

  std::span<const uint8_t> b_;
  const std::string& name_;
};

Json SafetensorsParser::read_header(SafetensorsFile& f) {
  if (b_.size() < 8) {
    fail("file is too small to be SafeTensors (" + std::to_string(b_.size()) +
         " bytes, the header length alone takes 8)");
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | b_[i];  // little-endian whatever the host
  if (n > kSafetensorsMaxHeader) {
    fail("header length " + std::to_string(n) + " is above the limit of " + std::to_string(kSafetensorsMaxHeader) +
         " bytes (at offset 0)");
  }
  if (n > b_.size() - 8) {
    fail("header length " + std::to_string(n) + " runs past the end of the file (" + std::to_string(b_.size()) +
         " bytes) (at offset 0)");
  }
  if (n == 0) fail("header is empty (length 0 at offset 0)");
  f.header_size_ = n;
  std::string_view text(reinterpret_cast<const char*>(b_.data() + 8), n);
  if (text.front() != '{') fail("header does not start with '{' (at offset 8)");
  Json h = parse_json_strictly(text, name_ + ": header");
  if (!h.is_object()) fail("header is a JSON " + json_type_name(h) + ", expected an object");
  return h;
}

void SafetensorsParser::read_metadata(SafetensorsFile& f, const Json& m) {
  if (!m.is_object()) fail("'__metadata__' is a JSON " + json_type_name(m) + ", expected an object of strings");
  for (const auto& [key, value] : m.items()) {
    if (!value.is_string()) {
      fail("'__metadata__' key '" + key + "' has type " + json_type_name(value) + ", expected string");
    }
    f.metadata_.emplace_back(key, value.get<std::string>());
  }
}

std::vector<int64_t> SafetensorsParser::read_shape(const std::string& q, const Json& shape, uint64_t& n_elements) {
  if (!shape.is_array()) fail(q + ": 'shape' has type " + json_type_name(shape) + ", expected array");
  std::vector<int64_t> dims;
  dims.reserve(shape.size());
  // The element count, and the product of the non-zero dims: a tensor with a
  // zero dim is empty, but its other dims still must not overflow a stride.
  uint64_t count = 1, strides = 1;
  const uint64_t max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  for (size_t i = 0; i < shape.size(); ++i) {
    const Json& d = shape[i];
    const std::string which = q + ": shape[" + std::to_string(i) + "]";
    if (d.is_number_integer() && !d.is_number_unsigned()) fail(which + " is negative (" + d.dump() + ")");
    if (!d.is_number_unsigned()) {
      fail(which + " has type " + json_type_name(d) + " (" + d.dump() + "), expected a non-negative integer");
    }
    uint64_t v = d.get<uint64_t>();
    if (v > max) fail(which + " is " + std::to_string(v) + ", above 2^63 - 1");
    if (v != 0) {
      if (strides > max / v) fail(q + ": element count of shape " + shape.dump() + " overflows 64 bits");
      strides *= v;
    } else {
      count = 0;
    }
    dims.push_back(static_cast<int64_t>(v));
  }
  n_elements = count == 0 ? 0 : strides;
  return dims;
}

SafetensorsTensor SafetensorsParser::read_tensor(const std::string& name, const Json& entry, uint64_t buffer_size) {
  const std::string q = "tensor '" + name + "'";
  if (!entry.is_object()) fail(q + " is a JSON " + json_type_name(entry) + ", expected an object");
  auto field = [&](const char* key) -> const Json& {
    auto it = entry.find(key);
    if (it == entry.end()) fail(q + " has no '" + key + "'");
    return *it;
  };
  SafetensorsTensor t;
  t.name = name;

  const Json& dtype = field("dtype");
  if (!dtype.is_string()) fail(q + ": 'dtype' has type " + json_type_name(dtype) + ", expected string");
  auto dt = safetensors_dtype_from_name(dtype.get_ref<const std::string&>());
  if (!dt) fail(q + " has unknown dtype " + dtype.dump());
  t.dtype = *dt;

  t.shape = read_shape(q, field("shape"), t.n_elements);

  const Json& offs = field("data_offsets");
  if (!offs.is_array() || offs.size() != 2 || !offs[0].is_number_unsigned() || !offs[1].is_number_unsigned()) {
    fail(q + ": 'data_offsets' is " + offs.dump() + ", expected [begin, end] as two non-negative integers");
  }
  t.begin = offs[0].get<uint64_t>();
  t.end = offs[1].get<uint64_t>();
  if (t.begin > t.end) {
    fail(q + " has data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "]: begin after end");
  }
  if (t.end > buffer_size) {
    fail(q + " ends past the file end (data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
         "], byte buffer " + std::to_string(buffer_size) + " bytes from offset " +
         std::to_string(b_.size() - buffer_size) + ")");
  }
  const uint64_t bits = static_cast<uint64_t>(safetensors_dtype_bits(t.dtype));
  if (t.n_elements > std::numeric_limits<uint64_t>::max() / bits) fail(q + ": byte size overflows 64 bits");
  if (t.n_elements * bits % 8 != 0) {
    fail(q + ": " + std::to_string(t.n_elements) + " elements of " + std::string(t.dtype_name()) +
         " do not fill whole bytes");
  }
  const uint64_t n_bytes = t.n_elements * bits / 8;
  if (t.end - t.begin != n_bytes) {
    fail(q + " spans " + std::to_string(t.end - t.begin) + " bytes (data_offsets [" + std::to_string(t.begin) + ", " +
         std::to_string(t.end) + "]) but shape " + t.shape_string() + " of " + std::string(t.dtype_name()) + " needs " +
         std::to_string(n_bytes));
  }
  t.data = b_.subspan(b_.size() - buffer_size + t.begin, n_bytes);
  return t;
}

void SafetensorsParser::check_tiling(const SafetensorsFile& f, uint64_t buffer_size) {
  // Tensors are kept sorted by (begin, end); each must start where the one
  // before ended, the first at 0, and the last must end at the buffer's end.
  uint64_t covered = 0;
  const SafetensorsTensor* prev = nullptr;
  for (const auto& t : f.tensors_) {
    if (t.begin < covered) {
      fail("tensors '" + prev->name + "' and '" + t.name + "' overlap ('" + prev->name + "' spans " +
           std::to_string(prev->begin) + ".." + std::to_string(prev->end) + ", '" + t.name + "' starts at " +
           std::to_string(t.begin) + ")");
    }
    if (t.begin > covered) {
      fail("bytes " + std::to_string(covered) + ".." + std::to_string(t.begin) +
           " of the byte buffer belong to no tensor (a hole before '" + t.name + "')");
    }
    covered = t.end;
    prev = &t;
  }
  if (covered != buffer_size) {
    fail("bytes " + std::to_string(covered) + ".." + std::to_string(buffer_size) +
         " at the end of the byte buffer belong to no tensor");
  }
}

void SafetensorsParser::parse(SafetensorsFile& f) {
  Json h = read_header(f);
  const uint64_t buffer_size = b_.size() - 8 - f.header_size_;
  for (const auto& [key, value] : h.items()) {
    if (key == "__metadata__") {
      read_metadata(f, value);
      continue;
    }
    f.tensors_.push_back(read_tensor(key, value, buffer_size));
  }
  std::stable_sort(f.tensors_.begin(), f.tensors_.end(), [](const SafetensorsTensor& a, const SafetensorsTensor& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  check_tiling(f, buffer_size);
  f.tensor_index_.reserve(f.tensors_.size());
  for (size_t i = 0; i < f.tensors_.size(); ++i) f.tensor_index_.emplace(f.tensors_[i].name, i);
}

SafetensorsFile SafetensorsFile::parse(std::span<const uint8_t> bytes, std::string name) {
  SafetensorsFile f;
  f.name_ = std::move(name);
  f.bytes_ = bytes;
  SafetensorsParser(bytes, f.name_).parse(f);
  return f;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  auto mapping = std::make_unique<MappedFile>(path);
  SafetensorsFile f = parse(mapping->bytes(), path);
  f.mapping_ = std::move(mapping);
  return f;
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

const std::string* SafetensorsFile::find_metadata(std::string_view key) const {
  for (const auto& [k, v] : metadata_) {
    if (k == key) return &v;
  }
  return nullptr;
}

const SafetensorsTensor* SafetensorsFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const SafetensorsTensor& SafetensorsFile::tensor(std::string_view name) const {
  const SafetensorsTensor* t = find_tensor(name);
  if (!t) throw FormatError(name_ + ": tensor '" + std::string(name) + "' is missing");
  return *t;
}

std::string SafetensorsTensor::shape_string() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

}  // namespace forge
