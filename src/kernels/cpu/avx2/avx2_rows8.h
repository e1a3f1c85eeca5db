// Matrix times a few vectors for weights in the rows8 layout (repack.h):
// 8 rows at a time, one row per 32-bit lane. With VNNI (AVX-512 VNNI with
// VL, or AVX-VNNI: whatever the program is compiled for) a byte dot product
// is one vpdpbusd; without it, maddubs + madd. Header-only: compiled
// programs instantiate it with their row lengths (FixedLen<K>).
//
// Numerics: per block the exact integer dot, then s += (d_w * d_a) * dot,
// blocks in order: bit-identical to quant::vec_dot and to the plain-layout
// AVX2 kernels (avx2_kernels.h), so compiled and interpreted logits agree.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/cpu/avx2/avx2_kernels.h"
#include "kernels/cpu/repack.h"

namespace forge::kernels::cpu::avx2 {

// The loops over activation rows and chunks must be unrolled for their
// accumulators to live in registers (-O2 does not do it by itself).
#define FORGE_UNROLL _Pragma("GCC unroll 8")

#if (defined(__AVX512VNNI__) && defined(__AVX512VL__)) || defined(__AVXVNNI__)
inline constexpr bool kHasVnni = true;
#else
inline constexpr bool kHasVnni = false;
#endif

// acc + per 32-bit lane the sum of 4 products u * s (u unsigned bytes, s
// signed). Without VNNI the int16 pair sums must not saturate: u <= 127.
inline __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
  return _mm256_dpbusd_epi32(acc, u, s);
#elif defined(__AVXVNNI__)
  return _mm256_dpbusd_avx_epi32(acc, u, s);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}

inline __m256i bcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// One tile times B activation blocks: per row, the dot plus kOffset * (sum
// of the activation block), which the caller takes away.
template <class WB> struct Tile8;
template <> struct Tile8<BlockQ8_0> {
  static constexpr size_t kBytes = 8 * sizeof(BlockQ8_0);
  // Levels are stored + 128: unsigned for vpdpbusd; without VNNI they are
  // turned back into signed bytes (maddubs would saturate on 255 * 127 * 2).
  static constexpr int32_t kOffset = kHasVnni ? 128 : 0;
  template <int B>
  static void dot(const uint8_t* tile, const int8_t* const* a, __m256i* out) {
    FORGE_UNROLL
    for (int b = 0; b < B; ++b) out[b] = _mm256_setzero_si256();
    FORGE_UNROLL
    for (int j = 0; j < 8; ++j) {
      const __m256i w = load256(tile + 16 + 32 * j);
      if constexpr (kHasVnni) {
        FORGE_UNROLL
        for (int b = 0; b < B; ++b) out[b] = dot_u8s8(out[b], w, bcast4(a[b] + 4 * j));
      } else {
        const __m256i ws = _mm256_xor_si256(w, _mm256_set1_epi8(static_cast<char>(0x80)));
        const __m256i wabs = _mm256_sign_epi8(ws, ws);
        FORGE_UNROLL
        for (int b = 0; b < B; ++b) out[b] = dot_u8s8(out[b], wabs, _mm256_sign_epi8(bcast4(a[b] + 4 * j), ws));
      }
    }
  }
};
template <> struct Tile8<BlockQ4_0> {
  static constexpr size_t kBytes = 8 * sizeof(BlockQ4_0);
  static constexpr int32_t kOffset = 8;  // levels are nibble - 8
  template <int B>
  static void dot(const uint8_t* tile, const int8_t* const* a, __m256i* out) {
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    FORGE_UNROLL
    for (int b = 0; b < B; ++b) out[b] = _mm256_setzero_si256();
    FORGE_UNROLL
    for (int j = 0; j < 4; ++j) {
      const __m256i w = load256(tile + 16 + 32 * j);
      const __m256i lo = _mm256_and_si256(w, m4), hi = _mm256_and_si256(_mm256_srli_epi16(w, 4), m4);
      FORGE_UNROLL
      for (int b = 0; b < B; ++b) {
        out[b] = dot_u8s8(out[b], lo, bcast4(a[b] + 4 * j));
        out[b] = dot_u8s8(out[b], hi, bcast4(a[b] + 16 + 4 * j));
      }
    }
  }
};

// Groups [g0, g1) (rows 8 g0 .. 8 g1) times B activation rows (Q8_0 blocks).
template <class WB, int B, class Len>
inline void rows8(Len, const uint8_t* w, int64_t g0, int64_t g1, const uint8_t* acts, size_t act_stride, float* y,
                  int64_t y_stride) {
  using T = Tile8<WB>;
  constexpr int64_t kNb = Len::get() / 32;
  static_assert(Len::get() % 32 == 0 && Len::get() <= kRows8MaxCols, "rows8 needs a fixed row length");
  const BlockQ8_0* a[B];
  FORGE_UNROLL
  for (int b = 0; b < B; ++b) a[b] = reinterpret_cast<const BlockQ8_0*>(acts + b * act_stride);
  // Per activation block: its scale, and kOffset * the sum of its levels.
  alignas(32) float da[B][kNb];
  alignas(32) int32_t corr[B][kNb];
  FORGE_UNROLL
  for (int b = 0; b < B; ++b) {
    for (int64_t i = 0; i < kNb; ++i) {
      da[b][i] = h2f(a[b][i].d);
      if constexpr (T::kOffset != 0) {
        const __m256i s16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), load256(a[b][i].qs));
        corr[b][i] = T::kOffset * hsum_epi32(_mm256_madd_epi16(s16, _mm256_set1_epi16(1)));
      }
    }
  }
  const size_t group_bytes = kNb * T::kBytes;
  for (int64_t g = g0; g < g1; ++g) {
    const uint8_t* tile = w + g * group_bytes;
    __m256 s[B];
    FORGE_UNROLL
    for (int b = 0; b < B; ++b) s[b] = _mm256_setzero_ps();
    for (int64_t i = 0; i < kNb; ++i, tile += T::kBytes) {
      const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tile)));
      const int8_t* q[B];
      FORGE_UNROLL
      for (int b = 0; b < B; ++b) q[b] = a[b][i].qs;
      __m256i dot[B];
      T::template dot<B>(tile, q, dot);
      FORGE_UNROLL
      for (int b = 0; b < B; ++b) {
        if constexpr (T::kOffset != 0) dot[b] = _mm256_sub_epi32(dot[b], _mm256_set1_epi32(corr[b][i]));
        const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(da[b][i]));
        s[b] = _mm256_add_ps(s[b], _mm256_mul_ps(d, _mm256_cvtepi32_ps(dot[b])));
      }
    }
    FORGE_UNROLL
    for (int b = 0; b < B; ++b) _mm256_storeu_ps(y + b * y_stride + 8 * g, s[b]);
  }
}

// Any batch, in tiles of up to 4 activation rows.
template <class WB, class Len>
inline void matvec_rows8(Len len, const void* w, int64_t g0, int64_t g1, const void* acts, size_t act_stride,
                         int batch, float* y, int64_t y_stride) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(acts);
  for (int b0 = 0; b0 < batch; b0 += 4) {
    const uint8_t* a = ab + b0 * act_stride;
    float* yb = y + b0 * y_stride;
    switch (batch - b0 >= 4 ? 4 : batch - b0) {
      case 4: rows8<WB, 4>(len, wb, g0, g1, a, act_stride, yb, y_stride); break;
      case 3: rows8<WB, 3>(len, wb, g0, g1, a, act_stride, yb, y_stride); break;
      case 2: rows8<WB, 2>(len, wb, g0, g1, a, act_stride, yb, y_stride); break;
      default: rows8<WB, 1>(len, wb, g0, g1, a, act_stride, yb, y_stride); break;
    }
  }
}

}  // namespace forge::kernels::cpu::avx2
