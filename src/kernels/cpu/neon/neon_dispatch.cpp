// Run-time dispatch over the NEON kernel templates (RunLen: the interpreter's
// row lengths). AArch64 builds only; see neon_entry.h.
#include <type_traits>

#include "kernels/cpu/neon/neon_entry.h"
#include "kernels/cpu/neon/neon_kernels.h"
#include "quant/quant.h"

namespace forge::kernels::cpu::neon {

#define FORGE_BLOCK_OF(p) std::remove_pointer_t<decltype(p)>

void quantize_act(GgmlType weight_type, const float* x, void* out, int64_t n) {
  quant::visit_block_type(weight_type, [&](auto* p) {
    using WB = FORGE_BLOCK_OF(p);
    quantize_act<WB>(RunLen{n}, x, static_cast<typename BlockTraits<WB>::Act*>(out));
  });
}

float vec_dot(GgmlType weight_type, int64_t n, const void* w_row, const void* act_row) {
  float r = 0;
  quant::visit_block_type(weight_type, [&](auto* p) {
    using WB = FORGE_BLOCK_OF(p);
    r = vec_dot<WB>(RunLen{n}, static_cast<const WB*>(w_row),
                    static_cast<const typename BlockTraits<WB>::Act*>(act_row));
  });
  return r;
}

void matvec(GgmlType weight_type, int64_t n, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* acts,
            size_t act_stride, int batch, float* y, int64_t y_stride) {
  quant::visit_block_type(weight_type, [&](auto* p) {
    matvec<FORGE_BLOCK_OF(p)>(RunLen{n}, w, w_stride, r0, r1, acts, act_stride, batch, y, y_stride);
  });
}

#undef FORGE_BLOCK_OF

}  // namespace forge::kernels::cpu::neon
