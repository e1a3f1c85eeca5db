// CPU kernels for the GGML weight formats: quantize an activation row to the
// format's vec-dot type, dot products, and a "matrix times a few vectors"
// helper over a range of weight rows (so a caller's thread pool can split
// rows). Each entry point exists per ISA; `detect_isa()` picks the best one
// the running CPU has (CPUID), and the scalar path is the reference
// (forge::quant), which the SIMD paths are tested against.
//
// Activations for F32/F16/BF16 weights stay F32 (see quant/quant.h).
// Kernels trust their callers: types must be supported (quant::is_supported),
// n a multiple of the block size, pointers valid. They never throw.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "format/ggml_types.h"

namespace forge::kernels::cpu {

enum class Isa { kScalar, kAvx2, kNeon };

// The best ISA of the running CPU (AVX2 needs AVX2, FMA and F16C; NEON is
// there on every AArch64 CPU, so an AArch64 build always has it).
Isa detect_isa();
std::string_view isa_name(Isa isa);
// Whether this build and this CPU can run `isa`.
bool isa_available(Isa isa);

// Row lengths: a compile-time constant for generated code (FixedLen<4096>),
// or a run-time value for the interpreter (RunLen{n}). The header-only kernel
// templates (avx2/avx2_kernels.h, neon/neon_kernels.h) take either.
template <int64_t N>
struct FixedLen {
  static constexpr int64_t get() { return N; }
};
struct RunLen {
  int64_t n;
  constexpr int64_t get() const { return n; }
};

// Bytes of one activation row of n elements for weights of `weight_type`.
size_t act_row_size(GgmlType weight_type, int64_t n);

// x[n] -> the vec-dot type of `weight_type`, written to `out`
// (act_row_size bytes). All ISAs produce identical bytes.
void quantize_act(Isa isa, GgmlType weight_type, const float* x, void* out, int64_t n);

// Dot product of one weight row with one quantized activation row.
float vec_dot(Isa isa, GgmlType weight_type, int64_t n, const void* w_row, const void* act_row);

// y[b * y_stride + r] = W[r] . act[b] for r in [r0, r1) and b < batch.
// W row r starts at w + r * w_stride bytes, act[b] at acts + b * act_stride
// bytes. batch == 1 is decode; batch > 1 (prefill) reuses each decoded weight
// block for every activation row.
void matvec(Isa isa, GgmlType weight_type, int64_t n, const void* w, size_t w_stride, int64_t r0, int64_t r1,
            const void* acts, size_t act_stride, int batch, float* y, int64_t y_stride);

}  // namespace forge::kernels::cpu
