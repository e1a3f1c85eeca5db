#include "model/gguf_binder.h"

#include "quant/quant.h"

namespace forge::model {

void GgufBinder::fail(const std::string& what) const { throw ModelError(f_.path() + ": " + what); }

template <class T>
T GgufBinder::key(const std::string& suffix) const {
  const std::string k = arch_ + "." + suffix;
  if (!f_.has(k)) fail("metadata key '" + k + "' is missing (" + arch_ + " models need it)");
  return f_.get<T>(k);
}

template <class T>
std::optional<T> GgufBinder::opt(const std::string& suffix) const {
  return f_.get_optional<T>(arch_ + "." + suffix);
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
    std::string expected = is_vector ? "[" + std::to_string(cols) + "]"
                                     : "[" + std::to_string(cols) + ", " + std::to_string(rows) + "]";
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
