// The ops of a compiled model: the shared op templates (kernels/cpu/ops.h,
// attention.h, the matvec kernels) instantiated with this model's dimensions
// as constants, so the compiler unrolls and vectorizes for those shapes. The
// arithmetic is the interpreter's own, so a compiled program reproduces the
// interpreter's logits.
// Include only from code compiled with -ffp-contract=off and, on x86-64,
// -mavx2 -mfma -mf16c (on AArch64 the NEON kernels are used).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "interp/thread_pool.h"
#include "kernels/cpu/attention.h"
#if defined(__aarch64__)
#include "kernels/cpu/neon/neon_kernels.h"
#else
#include "kernels/cpu/avx2/avx2_kernels.h"
#include "kernels/cpu/avx2/avx2_rows8.h"
#endif
#include "kernels/cpu/ops.h"
#include "quant/quant.h"

namespace forge::compiled {

using interp::ThreadPool;
using kernels::cpu::FixedLen;
#if defined(__aarch64__)
namespace kx = kernels::cpu::neon;
#else
namespace kx = kernels::cpu::avx2;
#endif

namespace kops = kernels::cpu::ops;

// x[t] = table[token t] * scale, W floats a row; the table in the rows8
// layout when it is also the output projection's matrix.
template <int64_t W>
void embed(GgmlType type, const uint8_t* table, size_t row_bytes, bool rows8, float scale, const int32_t* tokens,
           int n, float* out) {
  kops::embed(FixedLen<W>{}, type, table, row_bytes, rows8, scale, tokens, n, out);
}

// Rows [r0, r1) of `in` (W wide, groups of G): in += residual (if given),
// then out = norm(in) * (weight + offset) (+ bias).
template <int64_t W, int64_t G, bool kLayerNorm, bool kRowPerGroup>
void norm(float* in, const float* residual, float* out, const float* weights, const float* bias, float eps,
          float offset, int r0, int r1) {
  kops::norm(FixedLen<W>{}, FixedLen<G>{}, kLayerNorm, kRowPerGroup, in, residual, out, weights, bias, eps, offset, r0,
             r1);
}

// Activation rows for weights of block type WB: K inputs each, `stride` bytes apart.
template <class WB, int64_t K>
void quantize_rows(ThreadPool& pool, const float* x, uint8_t* acts, size_t stride, int n) {
  using Act = typename quant::BlockTraits<WB>::Act;
  pool.parallel_for(n, [&](int64_t b) {
    kx::quantize_act<WB>(FixedLen<K>{}, x + b * K, reinterpret_cast<Act*>(acts + b * stride));
  });
}

// One weight of a (possibly fused) projection: y[b][r] = W[r] . act[b] (+ bias[r]),
// Rows rows of K inputs, kRowBytes bytes a row, as GGUF blocks or (kRows8)
// in the rows8 layout of kernels/cpu/repack.h; run in chunks of rows.
template <class WB, int64_t K, int64_t Rows, size_t kRowBytes, bool kRows8>
struct MatPart {
  // rows8: whole groups, and enough rows a chunk that the kernel's per-call
  // activation sums are paid rarely.
  static constexpr int64_t kRowsPerChunk = kRows8 ? 64 : 16;
  static constexpr int64_t kChunks = (Rows + kRowsPerChunk - 1) / kRowsPerChunk;
  const uint8_t* w;
  const uint8_t* acts;
  size_t act_stride;
  float* y;
  const float* bias;  // may be null

  void run(int64_t chunk, int batch) const {
    const int64_t first = chunk * kRowsPerChunk;
    const int64_t last = std::min(first + kRowsPerChunk, Rows);
#if defined(__aarch64__)
    static_assert(!kRows8, "AArch64 programs read plain weights");
    kx::matvec<WB>(FixedLen<K>{}, w, kRowBytes, first, last, acts, act_stride, batch, y, Rows);
#else
    if constexpr (kRows8) {
      kx::matvec_rows8<WB>(FixedLen<K>{}, w, first / 8, last / 8, acts, act_stride, batch, y, Rows);
    } else {
      kx::matvec<WB>(FixedLen<K>{}, w, kRowBytes, first, last, acts, act_stride, batch, y, Rows);
    }
#endif
    if (bias) {
      for (int b = 0; b < batch; ++b) {
        for (int64_t r = first; r < last; ++r) y[static_cast<size_t>(b) * Rows + r] += bias[r];
      }
    }
  }
};

// All chunks of all parts in one parallel loop.
template <class... P>
void matmul(ThreadPool& pool, int batch, const P&... parts) {
  constexpr int64_t kTotal = (P::kChunks + ...);
  pool.parallel_for(kTotal, [&](int64_t c) {
    (void)((c < P::kChunks ? (parts.run(c, batch), true) : (c -= P::kChunks, false)) || ...);
  });
}

using kops::rope_inv_freq;

// Rotates NH query heads and NKV key heads (HD wide, first RD dims) of n tokens at pos, pos+1, ...
template <int64_t HD, int64_t NH, int64_t NKV, int64_t RD, bool kAdjacent>
void rope(float* q, float* k, int n, int pos, const float* inv, float rope_scale) {
  kops::rope(FixedLen<HD>{}, FixedLen<RD>{}, kAdjacent, q, NH, k, NKV, nullptr, pos, n, inv, rope_scale);
}

// Causal (optionally windowed) attention of n tokens at pos, pos+1, ...;
// writes their keys and values into the F16 cache of this layer first.
template <int64_t HD, int64_t HDV, int64_t NH, int64_t NKV>
void attention(ThreadPool& pool, const float* q, const float* k, const float* v, float* out, uint16_t* k_cache,
               uint16_t* v_cache, int n, int pos, int window, float scale, float cap) {
  constexpr int64_t kKW = NKV * HD, kVW = NKV * HDV, kGroup = NH / NKV;
  for (int t = 0; t < n; ++t) {
    const size_t at = static_cast<size_t>(pos + t);
    kops::store_kv(k + t * kKW, v + t * kVW, kKW, kVW, true, k_cache + at * kKW, v_cache + at * kVW);
  }
  static const kernels::cpu::Isa isa = kernels::cpu::detect_isa();
  // One task per token and KV head (the interpreter's split; attention.h).
  pool.parallel_for(static_cast<int64_t>(n) * NKV, [&](int64_t task) {
    const int t = static_cast<int>(task / NKV);
    const int64_t kvh = task % NKV;
    const int64_t h = kvh * kGroup;
    const int p = pos + t;
    kernels::cpu::AttentionRow a;
    a.q = q + static_cast<size_t>(t) * NH * HD + h * HD;
    a.n_q = kGroup;
    a.k = k_cache + kvh * HD;
    a.v = v_cache + kvh * HDV;
    a.f16 = true;
    a.k_stride = kKW;
    a.v_stride = kVW;
    a.head_dim = HD;
    a.head_dim_v = HDV;
    a.first = kernels::cpu::attention_first(p, window);
    a.last = p;
    a.scale = scale;
    a.softcap = cap;
    a.out = out + static_cast<size_t>(t) * NH * HDV + h * HDV;
    kernels::cpu::attend(isa, a);
  });
}

// gate = act(gate) * up over n rows of W.
template <int64_t W, bool kGelu>
void glu(float* g, const float* u, int n) {
  kops::glu(FixedLen<W>{}, kGelu, g, u, n);
}

template <int64_t W>
void add(float* dst, const float* src, int n) {
  kops::add(FixedLen<W>{}, dst, src, n);
}

template <int64_t W>
void softcap(float* x, float cap, int r0, int r1) {
  kops::softcap(FixedLen<W>{}, x, cap, r0, r1);
}

}  // namespace forge::compiled
