// Run-time-length entry points of the AVX2 kernels, compiled in their own
// translation unit with -mavx2 -mfma -mf16c (call only when
// isa_available(Isa::kAvx2)); the rest of the binary stays baseline x86-64.
#pragma once

#include <cstddef>
#include <cstdint>

#include "format/ggml_types.h"

namespace forge::kernels::cpu {
struct AttentionRow;
}

namespace forge::kernels::cpu::avx2 {

void quantize_act(GgmlType weight_type, const float* x, void* out, int64_t n);
float vec_dot(GgmlType weight_type, int64_t n, const void* w_row, const void* act_row);
void matvec(GgmlType weight_type, int64_t n, const void* w, size_t w_stride, int64_t r0, int64_t r1,
            const void* acts, size_t act_stride, int batch, float* y, int64_t y_stride);
void attend(const AttentionRow& a);

}  // namespace forge::kernels::cpu::avx2
