#include "kernels/cpu/scalar_kernels.h"

#include "quant/quant.h"

namespace forge::kernels::cpu::scalar {

void quantize_act(GgmlType weight_type, const float* x, void* out, int64_t n) {
  quant::quantize_row(quant::vec_dot_type(weight_type), x, out, n);
}

float vec_dot(GgmlType weight_type, int64_t n, const void* w_row, const void* act_row) {
  return quant::vec_dot(weight_type, n, w_row, act_row);
}

void matvec(GgmlType weight_type, int64_t n, const void* w, size_t w_stride, int64_t r0, int64_t r1,
            const void* acts, size_t act_stride, int batch, float* y, int64_t y_stride) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(acts);
  for (int64_t r = r0; r < r1; ++r) {
    for (int b = 0; b < batch; ++b) {
      y[b * y_stride + r] = quant::vec_dot(weight_type, n, wb + r * w_stride, ab + b * act_stride);
    }
  }
}

}  // namespace forge::kernels::cpu::scalar
