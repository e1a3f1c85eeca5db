#include "model/hf_binder.h"

#include <cstring>

#include "quant/quant.h"

namespace forge::model {

void HfBinder::fail(const std::string& what) const {
  throw ModelError(w_.path() + ": " + what);
}

const SafetensorsTensor& HfBinder::find(const std::string& name) const {
  const SafetensorsTensor* t = w_.find(name);
  if (!t) fail("tensor '" + name + "' is missing (" + config_ + " describes a model that has it)");
  return *t;
}

WeightRef HfBinder::view(const SafetensorsTensor& t, int64_t rows, int64_t cols) const {
  const bool is_vector = rows == 0;
  const bool shape_ok = is_vector ? (t.shape.size() == 1 && t.shape[0] == cols)
                                  : (t.shape.size() == 2 && t.shape[0] == rows && t.shape[1] == cols);
  if (!shape_ok) {
    // Appended piecewise: GCC 12 warns (-Wrestrict, a false positive) on
    // "literal" + std::string inside a conditional.
    std::string want = "[";
    if (!is_vector) want += std::to_string(rows) + ", ";
    want += std::to_string(cols);
    want += "]";
    fail("tensor '" + t.name + "' has shape " + t.shape_string() + " but " + config_ + " implies " + want);
  }
  const auto type = safetensors_dtype_to_ggml(t.dtype);
  if (!type) {
    fail("tensor '" + t.name + "' has dtype " + std::string(t.dtype_name()) +
         ", which Forge cannot compute with (supported: F32, F16, BF16)");
  }
  WeightRef w;
  w.name = t.name;
  w.type = *type;
  w.rows = is_vector ? 1 : rows;
  w.cols = cols;
  w.row_bytes = ggml_row_size(ggml_type_info(*type), cols);
  w.data = t.data.data();
  return w;
}

WeightRef HfBinder::matrix(const std::string& name, int64_t rows, int64_t cols) const {
  return view(find(name), rows, cols);
}

WeightRef HfBinder::optional_matrix(const std::string& name, int64_t rows, int64_t cols) const {
  return has(name) ? matrix(name, rows, cols) : WeightRef{};
}

WeightRef HfBinder::vector(const std::string& name, int64_t n) const {
  WeightRef w = view(find(name), 0, n);
  if (w.type == GgmlType::F32) return w;
  std::vector<uint8_t> f32(n * sizeof(float));
  quant::dequantize_row(w.type, w.data, reinterpret_cast<float*>(f32.data()), n);
  spec_.owned.push_back(std::move(f32));
  w.type = GgmlType::F32;
  w.row_bytes = n * sizeof(float);
  w.data = spec_.owned.back().data();
  return w;
}

WeightRef HfBinder::optional_vector(const std::string& name, int64_t n) const {
  return has(name) ? vector(name, n) : WeightRef{};
}

WeightRef HfBinder::stacked_vectors(const std::vector<std::string>& names, int64_t n, std::string label) const {
  std::vector<uint8_t> rows(names.size() * n * sizeof(float));
  for (size_t i = 0; i < names.size(); ++i) {
    const WeightRef v = vector(names[i], n);
    std::memcpy(rows.data() + i * n * sizeof(float), v.data, n * sizeof(float));
  }
  spec_.owned.push_back(std::move(rows));
  WeightRef w;
  w.name = std::move(label);
  w.type = GgmlType::F32;
  w.rows = static_cast<int64_t>(names.size());
  w.cols = n;
  w.row_bytes = n * sizeof(float);
  w.data = spec_.owned.back().data();
  return w;
}

}  // namespace forge::model
