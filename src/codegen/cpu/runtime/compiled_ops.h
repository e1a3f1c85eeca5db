// The ops of a compiled model: the interpreter's arithmetic (src/interp) as
// templates over the model's dimensions, so generated code calls them with
// constants and the compiler unrolls and vectorizes for those shapes. Each
// function does exactly the float operations the interpreter does, in the
// same order, so a compiled program reproduces the interpreter's logits.
// Include only from code compiled with -mavx2 -mfma -mf16c -ffp-contract=off.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "interp/thread_pool.h"
#include "kernels/cpu/avx2/avx2_kernels.h"
#include "quant/fp16.h"
#include "quant/quant.h"

namespace forge::compiled {

using interp::ThreadPool;
using kernels::cpu::FixedLen;
namespace kx = kernels::cpu::avx2;

// x[t] = table[token t] * scale, W floats a row.
template <int64_t W>
void embed(GgmlType type, const uint8_t* table, size_t row_bytes, float scale, const int32_t* tokens, int n,
           float* out) {
  for (int i = 0; i < n; ++i) {
    float* x = out + static_cast<size_t>(i) * W;
    quant::dequantize_row(type, table + static_cast<size_t>(tokens[i]) * row_bytes, x, W);
    if (scale != 1.0f) {
      for (int64_t j = 0; j < W; ++j) x[j] *= scale;
    }
  }
}

// Rows [r0, r1) of `in` (W wide, groups of G): in += residual (if given),
// then out = norm(in) * (weight + offset) (+ bias).
template <int64_t W, int64_t G, bool kLayerNorm, bool kRowPerGroup>
void norm(float* in, const float* residual, float* out, const float* weights, const float* bias, float eps,
          float offset, int r0, int r1) {
  constexpr int64_t kGroups = W / G;
  for (int r = r0; r < r1; ++r) {
    if (residual) {
      float* xr = in + static_cast<size_t>(r) * W;
      const float* res = residual + static_cast<size_t>(r) * W;
      for (int64_t j = 0; j < W; ++j) xr[j] += res[j];
    }
    for (int64_t g = 0; g < kGroups; ++g) {
      const float* x = in + static_cast<size_t>(r) * W + g * G;
      float* y = out + static_cast<size_t>(r) * W + g * G;
      const float* weight = kRowPerGroup ? weights + g * G : weights;
      double mean = 0.0;
      if constexpr (kLayerNorm) {
        for (int64_t j = 0; j < G; ++j) mean += x[j];
        mean /= G;
      }
      double ss = 0.0;
      for (int64_t j = 0; j < G; ++j) ss += (x[j] - mean) * (x[j] - mean);
      const float scale = static_cast<float>(1.0 / std::sqrt(ss / G + eps));
      for (int64_t j = 0; j < G; ++j) {
        float v = static_cast<float>(x[j] - mean) * scale * (weight[j] + offset);
        y[j] = bias ? v + bias[j] : v;
      }
    }
  }
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
// Rows rows of K inputs, kRowBytes bytes a row; run in chunks of 16 rows.
template <class WB, int64_t K, int64_t Rows, size_t kRowBytes>
struct MatPart {
  static constexpr int64_t kRowsPerChunk = 16;
  static constexpr int64_t kChunks = (Rows + kRowsPerChunk - 1) / kRowsPerChunk;
  const uint8_t* w;
  const uint8_t* acts;
  size_t act_stride;
  float* y;
  const float* bias;  // may be null

  void run(int64_t chunk, int batch) const {
    const int64_t first = chunk * kRowsPerChunk;
    const int64_t last = std::min(first + kRowsPerChunk, Rows);
    kx::matvec<WB>(FixedLen<K>{}, w, kRowBytes, first, last, acts, act_stride, batch, y, Rows);
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

// theta_i = base^(-2i/d) / factor_i (RoFormer), as the interpreter computes it.
inline std::vector<float> rope_inv_freq(int rope_dims, double base, const float* factors) {
  std::vector<float> inv(rope_dims / 2);
  for (int i = 0; i < rope_dims / 2; ++i) {
    double f = std::pow(base, -2.0 * i / rope_dims);
    if (factors) f /= factors[i];
    inv[i] = static_cast<float>(f);
  }
  return inv;
}

// Rotates NH query heads and NKV key heads (HD wide, first RD dims) of n tokens at pos, pos+1, ...
template <int64_t HD, int64_t NH, int64_t NKV, int64_t RD, bool kAdjacent>
void rope(float* q, float* k, int n, int pos, const float* inv, float rope_scale) {
  constexpr int64_t kHalf = RD / 2;
  float cs[kHalf], sn[kHalf];
  for (int t = 0; t < n; ++t) {
    const double p = (pos + t) / static_cast<double>(rope_scale);
    for (int64_t i = 0; i < kHalf; ++i) {
      const double theta = p * inv[i];
      cs[i] = static_cast<float>(std::cos(theta));
      sn[i] = static_cast<float>(std::sin(theta));
    }
    for (int which = 0; which < 2; ++which) {
      const int64_t heads = which == 0 ? NH : NKV;
      float* base = (which == 0 ? q : k) + static_cast<size_t>(t) * heads * HD;
      for (int64_t h = 0; h < heads; ++h) {
        float* x = base + h * HD;
        for (int64_t i = 0; i < kHalf; ++i) {
          const int64_t a = kAdjacent ? 2 * i : i;
          const int64_t c = kAdjacent ? 2 * i + 1 : i + kHalf;
          const float x0 = x[a], x1 = x[c];
          x[a] = x0 * cs[i] - x1 * sn[i];
          x[c] = x0 * sn[i] + x1 * cs[i];
        }
      }
    }
  }
}

// Causal (optionally windowed) attention of n tokens at pos, pos+1, ...;
// writes their keys and values into the F16 cache of this layer first.
template <int64_t HD, int64_t HDV, int64_t NH, int64_t NKV>
void attention(ThreadPool& pool, const float* q, const float* k, const float* v, float* out, uint16_t* k_cache,
               uint16_t* v_cache, int n, int pos, int window, float scale, float cap) {
  constexpr int64_t kKW = NKV * HD, kVW = NKV * HDV, kGroup = NH / NKV;
  for (int t = 0; t < n; ++t) {
    const size_t at = static_cast<size_t>(pos + t);
    for (int64_t j = 0; j < kKW; ++j) k_cache[at * kKW + j] = quant::fp32_to_fp16(k[t * kKW + j]);
    for (int64_t j = 0; j < kVW; ++j) v_cache[at * kVW + j] = quant::fp32_to_fp16(v[t * kVW + j]);
  }
  pool.parallel_for(static_cast<int64_t>(n) * NH, [&](int64_t task) {
    const int t = static_cast<int>(task / NH);
    const int64_t h = task % NH;
    const int64_t kvh = h / kGroup;
    const int p = pos + t;
    const int start = window > 0 ? std::max(0, p - window + 1) : 0;
    std::vector<float> scores(p - start + 1);
    const float* qh = q + static_cast<size_t>(t) * NH * HD + h * HD;
    float max_s = -INFINITY;
    for (int j = start; j <= p; ++j) {
      float s = 0.0f;
      const uint16_t* kj = k_cache + static_cast<size_t>(j) * kKW + kvh * HD;
      for (int64_t d = 0; d < HD; ++d) s += qh[d] * quant::fp16_to_fp32(kj[d]);
      s *= scale;
      if (cap > 0.0f) s = cap * std::tanh(s / cap);
      scores[j - start] = s;
      max_s = std::max(max_s, s);
    }
    double sum = 0.0;
    for (float& s : scores) {
      s = std::exp(s - max_s);
      sum += s;
    }
    const float inv_sum = static_cast<float>(1.0 / sum);
    float* o = out + static_cast<size_t>(t) * NH * HDV + h * HDV;
    std::fill(o, o + HDV, 0.0f);
    for (int j = start; j <= p; ++j) {
      const float w = scores[j - start] * inv_sum;
      const uint16_t* vj = v_cache + static_cast<size_t>(j) * kVW + kvh * HDV;
      for (int64_t d = 0; d < HDV; ++d) o[d] += w * quant::fp16_to_fp32(vj[d]);
    }
  });
}

// gate = act(gate) * up over n rows of W.
template <int64_t W, bool kGelu>
void glu(float* g, const float* u, int n) {
  const size_t count = static_cast<size_t>(n) * W;
  if constexpr (!kGelu) {
    for (size_t i = 0; i < count; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
  } else {
    // GELU, tanh approximation (Hendrycks & Gimpel), as the interpreter.
    const float k = 0.7978845608028654f;
    for (size_t i = 0; i < count; ++i) {
      const float x = g[i];
      g[i] = 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x))) * u[i];
    }
  }
}

template <int64_t W>
void add(float* dst, const float* src, int n) {
  const size_t count = static_cast<size_t>(n) * W;
  for (size_t i = 0; i < count; ++i) dst[i] += src[i];
}

template <int64_t W>
void softcap(float* x, float cap, int r0, int r1) {
  for (size_t i = static_cast<size_t>(r0) * W; i < static_cast<size_t>(r1) * W; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

}  // namespace forge::compiled
