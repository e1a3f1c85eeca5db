#include "model/gguf_binder.h"

#include "quant/quant.h"

namespace forge::model {

void GgufBinder::fail(const std::string& what) const { throw ModelError(f_.path() + ": " + what); }

const GgufValue* GgufBinder::find(const std::string& key) const {
  if (overrides_) {
    if (auto it = overrides_->find(key); it != overrides_->end()) return &it->second;
  }
  return f_.find(key);
}

template <class T>
std::optional<T> GgufBinder::typed(const std::string& key) const {
  if (overrides_) {
    if (auto it = overrides_->find(key); it != overrides_->end()) {
      auto v = it->second.as<T>();
      if (!v) fail("override of metadata key '" + key + "' (" + it->second.to_display(4) + ") has the wrong type");
      return v;
    }
  }
  return f_.get_optional<T>(key);
}

template <>
std::optional<std::string> GgufBinder::typed<std::string>(const std::string& key) const {
  if (overrides_) {
    if (auto it = overrides_->find(key); it != overrides_->end()) {
      if (!it->second.as_string()) fail("override of metadata key '" + key + "' must be a string");
      return *it->second.as_string();
    }
  }
  return f_.get_optional<std::string>(key);
}

template <class T>
T GgufBinder::key(const std::string& suffix) const {
  const std::string k = arch_ + "." + suffix;
  auto v = typed<T>(k);
  if (!v) fail("metadata key '" + k + "' is missing (" + arch_ + " models need it)");
  return *v;
}

template <class T>
std::optional<T> GgufBinder::opt(const std::string& suffix) const {
  return typed<T>(arch_ + "." + suffix);
}

template uint32_t GgufBinder::key<uint32_t>(const std::string&) const;
template float GgufBinder::key<float>(const std::string&) const;
template std::string GgufBinder::key<std::string>(const std::string&) const;
template std::optional<uint32_t> GgufBinder::opt<uint32_t>(const std::string&) const;
template std::optional<float> GgufBinder::opt<float>(const std::string&) const;
template std::optional<bool> GgufBinder::opt<bool>(const std::string&) const;
template std::optional<std::string> GgufBinder::opt<std::string>(const std::string&) const;

int GgufBinder::dim(const std::string& suffix) const {
  uint32_t v = key<uint32_t>(suffix);
  if (v == 0 || v > (1u << 24)) {
    fail("metadata key '" + arch_ + "." + suffix + "' is " + std::to_string(v) + ", out of range");
  }
  return static_cast<int>(v);
}

WeightRef GgufBinder::bind(const GgufTensorInfo& t, int64_t cols, int64_t rows, bool is_vector, const char* why) const {
  const bool shape_ok = is_vector ? (t.dims.size() == 1 && t.dims[0] == cols)
                                  : (t.dims.size() == 2 && t.dims[0] == cols && t.dims[1] == rows);
  if (!shape_ok) {
    // Appended piecewise: GCC 12 warns (-Wrestrict, a false positive) on
    // "literal" + std::string inside a conditional.
    std::string expected = "[";
    expected += std::to_string(cols);
    if (!is_vector) expected += ", " + std::to_string(rows);
    expected += "]";
    fail("tensor '" + t.name + "' has shape " + t.shape_string() + ", expected " + expected + " (" + why + ")");
  }
  if (!quant::is_supported(t.type)) {
    fail("tensor '" + t.name + "' has type " + std::string(ggml_type_info(t.type).name) +
         ", which Forge cannot compute with (supported: f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0, q2_K..q6_K)");
  }
  if (is_vector && t.type != GgmlType::F32) {
    fail("tensor '" + t.name + "' has type " + std::string(ggml_type_info(t.type).name) + ", expected f32");
  }
  WeightRef w;
  w.name = t.name;
  w.type = t.type;
  w.cols = cols;
  w.rows = rows;
  w.row_bytes = ggml_row_size(ggml_type_info(t.type), cols);
  w.data = t.data.data();
  return w;
}

WeightRef GgufBinder::matrix(const std::string& name, int64_t cols, int64_t rows, const char* why) const {
  const GgufTensorInfo* t = f_.find_tensor(name);
  if (!t) fail("tensor '" + name + "' is missing (" + arch_ + " models need it: " + why + ")");
  return bind(*t, cols, rows, false, why);
}

WeightRef GgufBinder::optional_matrix(const std::string& name, int64_t cols, int64_t rows, const char* why) const {
  const GgufTensorInfo* t = f_.find_tensor(name);
  return t ? bind(*t, cols, rows, false, why) : WeightRef{};
}

WeightRef GgufBinder::vector(const std::string& name, int64_t n, const char* why) const {
  const GgufTensorInfo* t = f_.find_tensor(name);
  if (!t) fail("tensor '" + name + "' is missing (" + arch_ + " models need it: " + why + ")");
  return bind(*t, n, 1, true, why);
}

WeightRef GgufBinder::optional_vector(const std::string& name, int64_t n, const char* why) const {
  const GgufTensorInfo* t = f_.find_tensor(name);
  return t ? bind(*t, n, 1, true, why) : WeightRef{};
}

}  // namespace forge::model
