// AVX2 attention of the query heads of one KV head (see attention.h).
// Compiled with -mavx2 -mfma -mf16c. Each key and value row is loaded (and
// converted from F16) once for up to 4 query heads; 4 heads' scores are
// reduced together.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/avx2/avx2_entry.h"

namespace forge::kernels::cpu::avx2 {

namespace {

constexpr int kHeads = 4;  // query heads a pass

inline __m256 load8(const void* base, bool f16, size_t i) {
  if (f16) return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(base) + i)));
  return _mm256_loadu_ps(static_cast<const float*>(base) + i);
}

// The 8-lane sums of 4 vectors, as 4 floats.
inline __m128 hsum4(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

// Heads [h0, h0 + nh) of the group, nh <= kHeads.
void attend_heads(const AttentionRow& a, int h0, int nh) {
  const int len = a.last - a.first + 1;
  const float* q[kHeads];
  float* scores[kHeads];
  for (int i = 0; i < kHeads; ++i) {
    q[i] = a.q + static_cast<size_t>(h0 + std::min(i, nh - 1)) * a.head_dim;  // spare lanes repeat the last head
    scores[i] = a.scores + static_cast<size_t>(std::min(i, nh - 1)) * len;
  }
  float max_s[kHeads];
  std::fill(max_s, max_s + kHeads, -INFINITY);
  for (int j = a.first; j <= a.last; ++j) {
    const size_t kb = static_cast<size_t>(a.ring ? j % a.ring : j) * a.k_stride;
    __m256 acc[kHeads] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int d = 0; d < a.head_dim; d += 8) {
      const __m256 k = load8(a.k, a.f16, kb + d);
      for (int i = 0; i < kHeads; ++i) acc[i] = _mm256_fmadd_ps(_mm256_loadu_ps(q[i] + d), k, acc[i]);
    }
    alignas(16) float s4[4];
    _mm_store_ps(s4, _mm_mul_ps(hsum4(acc[0], acc[1], acc[2], acc[3]), _mm_set1_ps(a.scale)));
    for (int i = 0; i < nh; ++i) {
      float s = s4[i];
      if (a.softcap > 0.0f) s = a.softcap * std::tanh(s / a.softcap);
      scores[i][j - a.first] = s;
      max_s[i] = std::max(max_s[i], s);
    }
  }
  __m256 inv_sum[kHeads];
  for (int i = 0; i < kHeads; ++i) {
    if (i < nh) {
      double sum = 0.0;
      for (int j = 0; j < len; ++j) {
        scores[i][j] = std::exp(scores[i][j] - max_s[i]);
        sum += scores[i][j];
      }
      inv_sum[i] = _mm256_set1_ps(static_cast<float>(1.0 / sum));
    } else {
      inv_sum[i] = inv_sum[nh - 1];
    }
  }
  // The weighted values, 16 dimensions of every head at a time in registers.
  for (int d0 = 0; d0 < a.head_dim_v; d0 += 16) {
    const int nd = std::min(16, a.head_dim_v - d0) / 8;
    __m256 acc[kHeads][2] = {};
    for (int j = a.first; j <= a.last; ++j) {
      const size_t vb = static_cast<size_t>(a.ring ? j % a.ring : j) * a.v_stride + d0;
      const __m256 v0 = load8(a.v, a.f16, vb);
      const __m256 v1 = nd > 1 ? load8(a.v, a.f16, vb + 8) : _mm256_setzero_ps();
      for (int i = 0; i < kHeads; ++i) {
        const __m256 w = _mm256_mul_ps(_mm256_set1_ps(scores[i][j - a.first]), inv_sum[i]);
        acc[i][0] = _mm256_fmadd_ps(w, v0, acc[i][0]);
        acc[i][1] = _mm256_fmadd_ps(w, v1, acc[i][1]);
      }
    }
    for (int i = 0; i < nh; ++i) {
      float* out = a.out + static_cast<size_t>(h0 + i) * a.head_dim_v + d0;
      _mm256_storeu_ps(out, acc[i][0]);
      if (nd > 1) _mm256_storeu_ps(out + 8, acc[i][1]);
    }
  }
}

}  // namespace

void attend(const AttentionRow& a) {
  for (int h0 = 0; h0 < a.n_q; h0 += kHeads) {
    AttentionRow part = a;
    part.scores = a.scores + static_cast<size_t>(h0) * (a.last - a.first + 1);
    attend_heads(part, h0, std::min(kHeads, a.n_q - h0));
  }
}

}  // namespace forge::kernels::cpu::avx2
