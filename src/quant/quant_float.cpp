// F32, F16 and BF16 rows: conversions, and dot products with F32 activations.
#include <cstring>

#include "quant/fp16.h"
#include "quant/quant.h"

namespace forge::quant {

void dequantize_row(const BlockF32* x, float* y, int64_t n) { std::memcpy(y, x, static_cast<size_t>(n) * 4); }
void quantize_row(const float* x, BlockF32* y, int64_t n) { std::memcpy(y, x, static_cast<size_t>(n) * 4); }

void dequantize_row(const BlockF16* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = fp16_to_fp32(x[i].v);
}
void quantize_row(const float* x, BlockF16* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i].v = fp32_to_fp16(x[i]);
}

void dequantize_row(const BlockBF16* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_fp32(x[i].v);
}
void quantize_row(const float* x, BlockBF16* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i].v = fp32_to_bf16(x[i]);
}

// Float dot products accumulate in double: the reference should be the most
// accurate answer, and the SIMD paths are checked against it with a tolerance.
float vec_dot(const BlockF32* w, const BlockF32* a, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(w[i].v) * a[i].v;
  return static_cast<float>(s);
}
float vec_dot(const BlockF16* w, const BlockF32* a, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(fp16_to_fp32(w[i].v)) * a[i].v;
  return static_cast<float>(s);
}
float vec_dot(const BlockBF16* w, const BlockF32* a, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(bf16_to_fp32(w[i].v)) * a[i].v;
  return static_cast<float>(s);
}

}  // namespace forge::quant
