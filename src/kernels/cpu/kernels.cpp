#include "kernels/cpu/kernels.h"

#include "kernels/cpu/avx2/avx2_entry.h"
#include "kernels/cpu/neon/neon_entry.h"
#include "kernels/cpu/scalar_kernels.h"
#include "quant/quant.h"

namespace forge::kernels::cpu {

bool isa_available(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return true;
    case Isa::kAvx2:
#if defined(__x86_64__) && defined(FORGE_KERNELS_AVX2)
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
      return false;
#endif
    case Isa::kNeon:
#if defined(__aarch64__) && defined(FORGE_KERNELS_NEON)
      return true;
#else
      return false;
#endif
  }
  return false;
}

Isa detect_isa() {
  if (isa_available(Isa::kAvx2)) return Isa::kAvx2;
  if (isa_available(Isa::kNeon)) return Isa::kNeon;
  return Isa::kScalar;
}

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::kAvx2:
      return "avx2";
    case Isa::kNeon:
      return "neon";
    case Isa::kScalar:
      break;
  }
  return "scalar";
}

size_t act_row_size(GgmlType weight_type, int64_t n) {
  const GgmlType t = quant::vec_dot_type(weight_type);
  return ggml_row_size(ggml_type_info(t), n);
}

void quantize_act(Isa isa, GgmlType weight_type, const float* x, void* out, int64_t n) {
#ifdef FORGE_KERNELS_AVX2
  if (isa == Isa::kAvx2) return avx2::quantize_act(weight_type, x, out, n);
#endif
#ifdef FORGE_KERNELS_NEON
  if (isa == Isa::kNeon) return neon::quantize_act(weight_type, x, out, n);
#endif
  (void)isa;
  scalar::quantize_act(weight_type, x, out, n);
}

float vec_dot(Isa isa, GgmlType weight_type, int64_t n, const void* w_row, const void* act_row) {
#ifdef FORGE_KERNELS_AVX2
  if (isa == Isa::kAvx2) return avx2::vec_dot(weight_type, n, w_row, act_row);
#endif
#ifdef FORGE_KERNELS_NEON
  if (isa == Isa::kNeon) return neon::vec_dot(weight_type, n, w_row, act_row);
#endif
  (void)isa;
  return scalar::vec_dot(weight_type, n, w_row, act_row);
}

void matvec(Isa isa, GgmlType weight_type, int64_t n, const void* w, size_t w_stride, int64_t r0, int64_t r1,
            const void* acts, size_t act_stride, int batch, float* y, int64_t y_stride) {
#ifdef FORGE_KERNELS_AVX2
  if (isa == Isa::kAvx2) return avx2::matvec(weight_type, n, w, w_stride, r0, r1, acts, act_stride, batch, y, y_stride);
#endif
#ifdef FORGE_KERNELS_NEON
  if (isa == Isa::kNeon) return neon::matvec(weight_type, n, w, w_stride, r0, r1, acts, act_stride, batch, y, y_stride);
#endif
  (void)isa;
  scalar::matvec(weight_type, n, w, w_stride, r0, r1, acts, act_stride, batch, y, y_stride);
}

}  // namespace forge::kernels::cpu
