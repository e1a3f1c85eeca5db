// Binds Hugging Face SafeTensors tensors to WeightRefs with shapes and dtypes
// checked against config.json. SafeTensors is row-major [rows, cols], so a
// Linear weight [out, in] is `out` rows of `in` elements, as GGML stores it.
#pragma once

#include <string>

#include "format/safetensors_set.h"
#include "model/model_error.h"
#include "model/model_spec.h"

namespace forge::model {

class HfBinder {
 public:
  HfBinder(const SafetensorsSet& w, std::string config_path, ModelSpec& spec)
      : w_(w), config_(std::move(config_path)), spec_(spec) {}

  bool has(const std::string& name) const { return w_.find(name) != nullptr; }
  // A [rows, cols] matrix in F32, F16 or BF16, never copied.
  WeightRef matrix(const std::string& name, int64_t rows, int64_t cols) const;
  WeightRef optional_matrix(const std::string& name, int64_t rows, int64_t cols) const;
  // A [n] vector (norm weight, bias), widened to F32 into spec.owned when
  // stored narrower: the interpreter reads these as floats.
  WeightRef vector(const std::string& name, int64_t n) const;
  WeightRef optional_vector(const std::string& name, int64_t n) const;
  // Vectors `names` (each [n]) stacked into one F32 matrix of names.size()
  // rows (stablelm's per-head q/k norms).
  WeightRef stacked_vectors(const std::vector<std::string>& names, int64_t n, std::string label) const;

  [[noreturn]] void fail(const std::string& what) const;

 private:
  const SafetensorsTensor& find(const std::string& name) const;
  WeightRef view(const SafetensorsTensor& t, int64_t rows, int64_t cols) const;

  const SafetensorsSet& w_;
  std::string config_;
  ModelSpec& spec_;
};

}  // namespace forge::model
