// Run-time-length entry points of the NEON kernels (AArch64 builds only; NEON
// is part of the AArch64 base architecture, so they are always callable there).
#pragma once

#include <cstddef>
#include <cstdint>

#include "format/ggml_types.h"

namespace forge::kernels::cpu::neon {

void quantize_act(GgmlType weight_type, const float* x, void* out, int64_t n);
float vec_dot(GgmlType weight_type, int64_t n, const void* w_row, const void* act_row);
void matvec(GgmlType weight_type, int64_t n, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* acts,
            size_t act_stride, int batch, float* y, int64_t y_stride);

}  // namespace forge::kernels::cpu::neon
