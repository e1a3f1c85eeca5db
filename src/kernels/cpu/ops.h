// The element-wise and row-wise ops of a forward pass (embedding lookup,
// norms, RoPE, GLU, residual add, soft-capping), as templates over their
// widths: the interpreter instantiates them with RunLen, generated code with
// FixedLen<N>. One body of arithmetic, two ways to call it (DESIGN.md).
// Matrix products are kernels.h's matvec; attention is attention.h.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "format/ggml_types.h"
#include "kernels/cpu/kernels.h"
#include "kernels/cpu/repack.h"
#include "quant/fp16.h"
#include "quant/quant.h"

namespace forge::kernels::cpu::ops {

// out[i] = table[tokens[i]] * scale, rows of W floats; a table in the rows8
// layout (repack.h) when `rows8`.
template <class Len>
void embed(Len W, GgmlType type, const uint8_t* table, size_t row_bytes, bool rows8, float scale,
           const int32_t* tokens, int n, float* out) {
  const int64_t w = W.get();
  for (int i = 0; i < n; ++i) {
    float* x = out + static_cast<size_t>(i) * w;
    if (rows8) {
      dequantize_rows8_row(type, w, table, tokens[i], x);
    } else {
      quant::dequantize_row(type, table + static_cast<size_t>(tokens[i]) * row_bytes, x, w);
    }
    if (scale != 1.0f) {
      for (int64_t j = 0; j < w; ++j) x[j] *= scale;
    }
  }
}

// Rows [r0, r1) of `in` (W wide, in groups of G): first in += residual (when
// given: a residual add fused into the norm), then
// out = (in - mean) / sqrt(var + eps) * (weight + offset) (+ bias) per group,
// the mean being 0 for RMSNorm. Weights hold one row for every group, or one
// row per group (per-head norms stored per head).
template <class LenW, class LenG>
void norm(LenW W, LenG G, bool layer_norm, bool row_per_group, float* in, const float* residual, float* out,
          const float* weights, const float* bias, float eps, float offset, int r0, int r1) {
  const int64_t w = W.get(), g_len = G.get(), groups = w / g_len;
  for (int r = r0; r < r1; ++r) {
    if (residual) {
      float* xr = in + static_cast<size_t>(r) * w;
      const float* res = residual + static_cast<size_t>(r) * w;
      for (int64_t j = 0; j < w; ++j) xr[j] += res[j];
    }
    for (int64_t g = 0; g < groups; ++g) {
      const float* x = in + static_cast<size_t>(r) * w + g * g_len;
      float* y = out + static_cast<size_t>(r) * w + g * g_len;
      const float* weight = row_per_group ? weights + g * g_len : weights;
      double mean = 0.0;
      if (layer_norm) {
        for (int64_t j = 0; j < g_len; ++j) mean += x[j];
        mean /= static_cast<double>(g_len);
      }
      double ss = 0.0;
      for (int64_t j = 0; j < g_len; ++j) ss += (x[j] - mean) * (x[j] - mean);
      const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(g_len) + eps));
      for (int64_t j = 0; j < g_len; ++j) {
        const float v = static_cast<float>(x[j] - mean) * scale * (weight[j] + offset);
        y[j] = bias ? v + bias[j] : v;
      }
    }
  }
}

// theta_i = pos * base^(-2i/d) / factor_i (RoFormer; llama3's per-frequency
// factors from the rope_freqs tensor, when given).
inline std::vector<float> rope_inv_freq(int rope_dims, double base, const float* factors) {
  std::vector<float> inv(rope_dims / 2);
  for (int i = 0; i < rope_dims / 2; ++i) {
    double f = std::pow(base, -2.0 * i / rope_dims);
    if (factors) f /= factors[i];
    inv[i] = static_cast<float>(f);
  }
  return inv;
}

// Rotates the first RD dimensions of each HD-wide head of q (nh heads) and k
// (nkv heads) for n tokens, token t at position pos[t] (pos0 + t when pos is
// null). Adjacent pairs (2i, 2i+1), or half-split pairs (i, i + RD/2).
template <class LenHD, class LenRD>
void rope(LenHD HD, LenRD RD, bool adjacent, float* q, int nh, float* k, int nkv, const int* pos, int pos0, int n,
          const float* inv, float rope_scale) {
  const int64_t hd = HD.get(), half = RD.get() / 2;
  std::vector<float> cs(half), sn(half);
  for (int t = 0; t < n; ++t) {
    const double p = (pos ? pos[t] : pos0 + t) / static_cast<double>(rope_scale);
    for (int64_t i = 0; i < half; ++i) {
      const double theta = p * inv[i];
      cs[i] = static_cast<float>(std::cos(theta));
      sn[i] = static_cast<float>(std::sin(theta));
    }
    for (int which = 0; which < 2; ++which) {
      const int heads = which == 0 ? nh : nkv;
      float* base = (which == 0 ? q : k) + static_cast<size_t>(t) * heads * hd;
      for (int h = 0; h < heads; ++h) {
        float* x = base + h * hd;
        for (int64_t i = 0; i < half; ++i) {
          const int64_t a = adjacent ? 2 * i : i;
          const int64_t c = adjacent ? 2 * i + 1 : i + half;
          const float x0 = x[a], x1 = x[c];
          x[a] = x0 * cs[i] - x1 * sn[i];
          x[c] = x0 * sn[i] + x1 * cs[i];
        }
      }
    }
  }
}

// gate = act(gate) * up over n rows of W: SiLU, or GELU with the tanh
// approximation (Hendrycks & Gimpel): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
template <class Len>
void glu(Len W, bool gelu, float* g, const float* u, int n) {
  const size_t count = static_cast<size_t>(n) * W.get();
  if (!gelu) {
    for (size_t i = 0; i < count; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
  } else {
    const float k = 0.7978845608028654f;
    for (size_t i = 0; i < count; ++i) {
      const float x = g[i];
      g[i] = 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x))) * u[i];
    }
  }
}

// dst += src over n rows of W.
template <class Len>
void add(Len W, float* dst, const float* src, int n) {
  const size_t count = static_cast<size_t>(n) * W.get();
  for (size_t i = 0; i < count; ++i) dst[i] += src[i];
}

// x = cap * tanh(x / cap) over rows [r0, r1) of W.
template <class Len>
void softcap(Len W, float* x, float cap, int r0, int r1) {
  const size_t w = static_cast<size_t>(W.get());
  for (size_t i = static_cast<size_t>(r0) * w; i < static_cast<size_t>(r1) * w; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

// Writes one token's keys (kw floats) and values (vw floats) into a cache
// row, as F16 bits or F32.
inline void store_kv(const float* k, const float* v, size_t kw, size_t vw, bool f16, void* k_row, void* v_row) {
  if (f16) {
    auto* kd = static_cast<uint16_t*>(k_row);
    auto* vd = static_cast<uint16_t*>(v_row);
    for (size_t j = 0; j < kw; ++j) kd[j] = quant::fp32_to_fp16(k[j]);
    for (size_t j = 0; j < vw; ++j) vd[j] = quant::fp32_to_fp16(v[j]);
  } else {
    auto* kd = static_cast<float*>(k_row);
    auto* vd = static_cast<float*>(v_row);
    for (size_t j = 0; j < kw; ++j) kd[j] = k[j];
    for (size_t j = 0; j < vw; ++j) vd[j] = v[j];
  }
}

}  // namespace forge::kernels::cpu::ops
