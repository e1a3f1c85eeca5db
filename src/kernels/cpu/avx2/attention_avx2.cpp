// AVX2 attention of one query head (see attention.h). Compiled with -mavx2
// -mfma -mf16c.
#include <immintrin.h>

#include <cmath>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/avx2/avx2_entry.h"

namespace forge::kernels::cpu::avx2 {

namespace {

inline __m256 load8(const void* base, bool f16, size_t i) {
  if (f16) return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(base) + i)));
  return _mm256_loadu_ps(static_cast<const float*>(base) + i);
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

}  // namespace

void attend(const AttentionRow& a) {
  float max_s = -INFINITY;
  for (int j = a.first; j <= a.last; ++j) {
    const size_t kb = static_cast<size_t>(a.ring ? j % a.ring : j) * a.k_stride;
    __m256 acc = _mm256_setzero_ps();
    for (int d = 0; d < a.head_dim; d += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a.q + d), load8(a.k, a.f16, kb + d), acc);
    float s = hsum(acc) * a.scale;
    if (a.softcap > 0.0f) s = a.softcap * std::tanh(s / a.softcap);
    a.scores[j - a.first] = s;
    max_s = std::max(max_s, s);
  }
  double sum = 0.0;
  for (int j = 0; j <= a.last - a.first; ++j) {
    a.scores[j] = std::exp(a.scores[j] - max_s);
    sum += a.scores[j];
  }
  const float inv_sum = static_cast<float>(1.0 / sum);
  // Accumulate the weighted values 32 dimensions at a time in registers.
  for (int d0 = 0; d0 < a.head_dim_v; d0 += 32) {
    const int nd = std::min(32, a.head_dim_v - d0) / 8;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int j = a.first; j <= a.last; ++j) {
      const __m256 w = _mm256_set1_ps(a.scores[j - a.first] * inv_sum);
      const size_t vb = static_cast<size_t>(a.ring ? j % a.ring : j) * a.v_stride + d0;
      for (int c = 0; c < nd; ++c) acc[c] = _mm256_fmadd_ps(w, load8(a.v, a.f16, vb + 8 * c), acc[c]);
    }
    for (int c = 0; c < nd; ++c) _mm256_storeu_ps(a.out + d0 + 8 * c, acc[c]);
  }
}

}  // namespace forge::kernels::cpu::avx2
