// The scalar path: forge::quant's reference arithmetic behind the kernel API.
#pragma once

#include "kernels/cpu/kernels.h"

namespace forge::kernels::cpu::scalar {

void quantize_act(GgmlType weight_type, const float* x, void* out, int64_t n);
float vec_dot(GgmlType weight_type, int64_t n, const void* w_row, const void* act_row);
void matvec(GgmlType weight_type, int64_t n, const void* w, size_t w_stride, int64_t r0, int64_t r1,
            const void* acts, size_t act_stride, int batch, float* y, int64_t y_stride);

}  // namespace forge::kernels::cpu::scalar
