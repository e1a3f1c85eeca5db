// AVX2 + FMA + F16C kernels for every GGML weight format, header-only so that
// generated code can instantiate them with its row lengths baked in
// (FixedLen<N>) while the interpreter uses RunLen (avx2_dispatch.cpp).
// Include only from translation units compiled with -mavx2 -mfma -mf16c.
//
// Numerics against the scalar reference (forge::quant):
//  - activation quantization: identical bytes (same IEEE operations; roundf
//    and nearest-even rounding reproduced exactly);
//  - quantized formats: per block the same exact integers and the same float
//    expression, summed in the same order: bit-identical results, except
//  - Q4_1/Q5_1 and floats: accumulated in 8 float lanes: equal within rounding.
#pragma once

#if !defined(__AVX2__) || !defined(__FMA__) || !defined(__F16C__)
#error "avx2_kernels.h needs -mavx2 -mfma -mf16c"
#endif

#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/cpu/kernels.h"
#include "quant/blocks.h"

namespace forge::kernels::cpu::avx2 {

using quant::BlockBF16;
using quant::BlockF16;
using quant::BlockF32;
using quant::BlockQ2_K;
using quant::BlockQ3_K;
using quant::BlockQ4_0;
using quant::BlockQ4_1;
using quant::BlockQ4_K;
using quant::BlockQ5_0;
using quant::BlockQ5_1;
using quant::BlockQ5_K;
using quant::BlockQ6_K;
using quant::BlockQ8_0;
using quant::BlockQ8_1;
using quant::BlockQ8_K;
using quant::BlockTraits;

// ---- small helpers -------------------------------------------------------------

inline float h2f(uint16_t h) { return _cvtsh_ss(h); }
inline uint16_t f2h(float f) { return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT)); }

inline float hsum_ps(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float hmax_ps(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline int32_t hsum_epi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

// roundf(): round half away from zero, exactly (x - trunc(x) is exact).
inline __m256 round_half_away(__m256 v) {
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 frac = abs_ps(_mm256_sub_ps(v, t));
  const __m256 one = _mm256_or_ps(_mm256_set1_ps(1.0f), _mm256_and_ps(v, _mm256_set1_ps(-0.0f)));
  const __m256 mask = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
  return _mm256_add_ps(t, _mm256_and_ps(mask, one));
}

// quant::detail::clamp_q8: [-127, 127], NaN -> 0.
inline __m256 clamp_q8(__m256 v) {
  v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q));
  return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-127.0f)), _mm256_set1_ps(127.0f));
}

// Four vectors of 8 int32 (each within int8 range) -> 32 int8 in order.
inline __m256i pack_i32x4_to_i8(__m256i c0, __m256i c1, __m256i c2, __m256i c3) {
  const __m256i a = _mm256_packs_epi32(c0, c1);
  const __m256i b = _mm256_packs_epi32(c2, c3);
  return _mm256_permutevar8x32_epi32(_mm256_packs_epi16(a, b), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

inline __m256i srl16(__m256i v, int count) { return _mm256_srl_epi16(v, _mm_cvtsi32_si128(count)); }

// Byte k = 0xff where bit k of the 32-bit little-endian word at p is set.
inline __m256i bits_to_bytes(const uint8_t* p) {
  uint32_t x;
  std::memcpy(&x, p, 4);
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(x)),
      _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0x0000000000000000));
  const __m256i probe = _mm256_or_si256(spread, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
  return _mm256_cmpeq_epi8(probe, _mm256_set1_epi64x(-1));
}

// 16 bytes of nibbles -> 32 bytes: low nibbles (elements 0..15), then high.
inline __m256i nibbles32(const uint8_t* qs) {
  const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(0x0f));
}

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// ---- activation quantization (same bytes as quant::quantize_row) ----------------

template <bool kWithSum, class Out, class Len>
inline void quantize_q8_32(Len len, const float* x, Out* y) {
  const int64_t nb = len.get() / 32;
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm256_loadu_ps(x + 8 * k);
      amax = _mm256_max_ps(amax, abs_ps(v[k]));
    }
    const float d = hmax_ps(amax) / 127;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[i].d = f2h(d);
    __m256i c[4];
    for (int k = 0; k < 4; ++k) c[k] = _mm256_cvttps_epi32(round_half_away(clamp_q8(_mm256_mul_ps(v[k], _mm256_set1_ps(id)))));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[i].qs), pack_i32x4_to_i8(c[0], c[1], c[2], c[3]));
    if constexpr (kWithSum) {
      const int32_t sum = hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(c[0], c[1]), _mm256_add_epi32(c[2], c[3])));
      y[i].s = f2h(static_cast<float>(sum) * d);
    }
  }
}

template <class Len>
inline void quantize_q8_K(Len len, const float* x, BlockQ8_K* y) {
  const int64_t nb = len.get() / 256;
  for (int64_t i = 0; i < nb; ++i, x += 256) {
    __m256 amaxv = _mm256_setzero_ps();
    for (int k = 0; k < 32; ++k) amaxv = _mm256_max_ps(amaxv, abs_ps(_mm256_loadu_ps(x + 8 * k)));
    const float amax = hmax_ps(amaxv);
    if (amax == 0) {
      std::memset(&y[i], 0, sizeof(BlockQ8_K));
      continue;
    }
    // The value (with its sign) of the first element of largest magnitude.
    float vmax = 0;
    for (int k = 0; k < 32; ++k) {
      const int m = _mm256_movemask_ps(_mm256_cmp_ps(abs_ps(_mm256_loadu_ps(x + 8 * k)), _mm256_set1_ps(amax), _CMP_EQ_OQ));
      if (m) {
        vmax = x[8 * k + __builtin_ctz(static_cast<unsigned>(m))];
        break;
      }
    }
    const float iscale = -127.f / vmax;
    const __m256 vs = _mm256_set1_ps(iscale);
    const __m256i hi = _mm256_set1_epi32(127);
    for (int k = 0; k < 8; ++k) {
      __m256i c[4];
      for (int j = 0; j < 4; ++j) {
        // cvtps rounds to nearest even under the default MXCSR, as nearbyint.
        c[j] = _mm256_min_epi32(
            _mm256_cvtps_epi32(clamp_q8(_mm256_mul_ps(_mm256_loadu_ps(x + 32 * k + 8 * j), vs))), hi);
      }
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[i].qs + 32 * k), pack_i32x4_to_i8(c[0], c[1], c[2], c[3]));
    }
    for (int g = 0; g < 16; ++g) {
      const __m256i w = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(y[i].qs + 16 * g)));
      y[i].bsums[g] = static_cast<int16_t>(hsum_epi32(_mm256_madd_epi16(w, _mm256_set1_epi16(1))));
    }
    y[i].d = 1 / iscale;
  }
}

// ---- 32-element formats ------------------------------------------------------------

// Decoding one block to 32 int8 levels; kUnsigned: levels are >= 0 (then
// maddubs takes them directly), kMin: the block has an additive minimum.
template <class B> struct Q32;
template <> struct Q32<BlockQ4_0> {
  static constexpr bool kUnsigned = false, kMin = false;
  static __m256i decode(const BlockQ4_0& b) { return _mm256_sub_epi8(nibbles32(b.qs), _mm256_set1_epi8(8)); }
};
template <> struct Q32<BlockQ4_1> {
  static constexpr bool kUnsigned = true, kMin = true;
  static __m256i decode(const BlockQ4_1& b) { return nibbles32(b.qs); }
};
template <> struct Q32<BlockQ5_0> {
  static constexpr bool kUnsigned = false, kMin = false;
  static __m256i decode(const BlockQ5_0& b) {
    const __m256i hb = _mm256_and_si256(bits_to_bytes(b.qh), _mm256_set1_epi8(0x10));
    return _mm256_sub_epi8(_mm256_or_si256(nibbles32(b.qs), hb), _mm256_set1_epi8(16));
  }
};
template <> struct Q32<BlockQ5_1> {
  static constexpr bool kUnsigned = true, kMin = true;
  static __m256i decode(const BlockQ5_1& b) {
    return _mm256_or_si256(nibbles32(b.qs), _mm256_and_si256(bits_to_bytes(b.qh), _mm256_set1_epi8(0x10)));
  }
};
template <> struct Q32<BlockQ8_0> {
  static constexpr bool kUnsigned = false, kMin = false;
  static __m256i decode(const BlockQ8_0& b) { return load256(b.qs); }
};
template <> struct Q32<BlockQ8_1> {
  static constexpr bool kUnsigned = false, kMin = false;
  static __m256i decode(const BlockQ8_1& b) { return load256(b.qs); }
};

// 8 int32 partial sums of q * a over 32 int8 pairs.
template <bool kUnsigned>
inline __m256i dot_i8x32(__m256i q, __m256i a) {
  __m256i p;
  if constexpr (kUnsigned) {
    p = _mm256_maddubs_epi16(q, a);  // q in 0..31, |a| <= 127: no int16 saturation
  } else {
    p = _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(a, q));
  }
  return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

// Per row of 4, the sum of its 8 lanes (exact: integers).
inline __m128i hsum4_epi32(__m256i p0, __m256i p1, __m256i p2, __m256i p3) {
  const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(p0, p1), _mm256_hadd_epi32(p2, p3));
  return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

// Formats with a minimum (Q4_1, Q5_1): 8 float lanes, two accumulators per
// activation row (even and odd blocks) so that consecutive fused
// multiply-adds do not wait on each other; equal to the reference within
// float rounding. (Summed in block order they land further from llama.cpp's
// logits on the llama-k fixture: tests/interp/golden_test.cpp.)
template <class WB, int B, class Len>
inline void rows_q32_lanes(Len len, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1, const uint8_t* acts,
                           size_t act_stride, float* y, int64_t y_stride) {
  using A = typename BlockTraits<WB>::Act;
  using D = Q32<WB>;
  const int64_t nb = len.get() / 32;
  const A* a[B];
  for (int b = 0; b < B; ++b) a[b] = reinterpret_cast<const A*>(acts + b * act_stride);
  for (int64_t r = r0; r < r1; ++r) {
    const WB* wr = reinterpret_cast<const WB*>(w + r * w_stride);
    __m256 acc[B][2];
    float msum[B];
    for (int b = 0; b < B; ++b) {
      acc[b][0] = acc[b][1] = _mm256_setzero_ps();
      msum[b] = 0;
    }
    for (int64_t i = 0; i < nb; ++i) {
      const __m256i q = D::decode(wr[i]);
      const float dw = h2f(wr[i].d);
      for (int b = 0; b < B; ++b) {
        const __m256i p = dot_i8x32<D::kUnsigned>(q, load256(a[b][i].qs));
        __m256& ac = acc[b][i & 1];
        ac = _mm256_fmadd_ps(_mm256_set1_ps(dw * h2f(a[b][i].d)), _mm256_cvtepi32_ps(p), ac);
        msum[b] += h2f(wr[i].m) * h2f(a[b][i].s);
      }
    }
    for (int b = 0; b < B; ++b) y[b * y_stride + r] = hsum_ps(_mm256_add_ps(acc[b][0], acc[b][1])) + msum[b];
  }
}

// Formats without a minimum: per block the exact integer dot, then
// s += (d_w * d_a) * dot, blocks in order: the scalar reference's
// expression, so bit-identical to it (and to the rows8 kernels of compiled
// programs). Rows go 4 at a time (one horizontal sum for 4).
template <class WB, int B, class Len>
inline void rows_q32(Len len, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1, const uint8_t* acts,
                     size_t act_stride, float* y, int64_t y_stride) {
  using A = typename BlockTraits<WB>::Act;
  using D = Q32<WB>;
  if constexpr (D::kMin) {
    rows_q32_lanes<WB, B>(len, w, w_stride, r0, r1, acts, act_stride, y, y_stride);
    return;
  }
  const int64_t nb = len.get() / 32;
  const A* a[B];
  for (int b = 0; b < B; ++b) a[b] = reinterpret_cast<const A*>(acts + b * act_stride);
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) {
    const WB* wr[4];
    for (int k = 0; k < 4; ++k) wr[k] = reinterpret_cast<const WB*>(w + (r + k) * w_stride);
    __m128 s[B];
    for (int b = 0; b < B; ++b) s[b] = _mm_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
      __m256i q[4];
      for (int k = 0; k < 4; ++k) q[k] = D::decode(wr[k][i]);
      const __m128 dw = _mm_cvtph_ps(_mm_setr_epi16(static_cast<short>(wr[0][i].d), static_cast<short>(wr[1][i].d),
                                                    static_cast<short>(wr[2][i].d), static_cast<short>(wr[3][i].d), 0, 0,
                                                    0, 0));
      for (int b = 0; b < B; ++b) {
        const __m256i x = load256(a[b][i].qs);
        const __m128i dot = hsum4_epi32(dot_i8x32<D::kUnsigned>(q[0], x), dot_i8x32<D::kUnsigned>(q[1], x),
                                        dot_i8x32<D::kUnsigned>(q[2], x), dot_i8x32<D::kUnsigned>(q[3], x));
        s[b] = _mm_add_ps(s[b], _mm_mul_ps(_mm_mul_ps(dw, _mm_set1_ps(h2f(a[b][i].d))), _mm_cvtepi32_ps(dot)));
      }
    }
    for (int b = 0; b < B; ++b) _mm_storeu_ps(y + b * y_stride + r, s[b]);
  }
  for (; r < r1; ++r) {
    const WB* wr = reinterpret_cast<const WB*>(w + r * w_stride);
    float s[B] = {};
    for (int64_t i = 0; i < nb; ++i) {
      const __m256i q = D::decode(wr[i]);
      const float dw = h2f(wr[i].d);
      for (int b = 0; b < B; ++b) {
        const int32_t dot = hsum_epi32(dot_i8x32<D::kUnsigned>(q, load256(a[b][i].qs)));
        s[b] = s[b] + dw * h2f(a[b][i].d) * static_cast<float>(dot);
      }
    }
    for (int b = 0; b < B; ++b) y[b * y_stride + r] = s[b];
  }
}

// ---- K-quants ------------------------------------------------------------------------

// One decoded K super-block, in registers: the levels of 32-element chunk c
// in q[c] (unsigned; signed for Q8_K weights), the 16 group scales (int8,
// group g = elements 16g..16g+15), per group the integer that multiplies
// the activation group sum: the min (Q2_K, Q4_K, Q5_K, scaled by dmin) or
// scale * level offset (Q3_K: 4, Q6_K: 32, scaled by d), and d, dmin.
struct KRegs {
  __m256i q[8];
  __m128i sc8;
  __m256i mn;
  float d;
  float dmin;
};

// The scales of chunk c as int16 lanes: first 8 lanes group 2c, last 8 group 2c+1.
inline __m256i chunk_scales(__m128i sc8, int c) {
  const __m128i idx = _mm_add_epi8(_mm_set_epi64x(0x0101010101010101, 0), _mm_set1_epi8(static_cast<char>(2 * c)));
  return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, idx));
}

// kOffset: result = d * (sum scale*q - sum mn*bsum) in one integer;
// otherwise d * sum scale*q - dmin * sum mn*bsum. kSigned: q is signed.
template <class B> struct KDec;
template <> struct KDec<BlockQ2_K> {
  static constexpr bool kOffset = false, kSigned = false;
  static void decode(const BlockQ2_K& x, KRegs& k) {
    const __m256i m3 = _mm256_set1_epi8(3);
    for (int h = 0; h < 2; ++h) {
      const __m256i q = load256(x.qs + 32 * h);
      for (int j = 0; j < 4; ++j) k.q[4 * h + j] = _mm256_and_si256(srl16(q, 2 * j), m3);
    }
    const __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x.scales));
    const __m128i m4 = _mm_set1_epi8(0x0f);
    k.sc8 = _mm_and_si128(s, m4);
    k.mn = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s, 4), m4));
    k.d = h2f(x.d);
    k.dmin = h2f(x.dmin);
  }
};
template <> struct KDec<BlockQ3_K> {
  static constexpr bool kOffset = true, kSigned = false;
  static void decode(const BlockQ3_K& x, KRegs& k) {
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m256i hm = load256(x.hmask);
    for (int h = 0; h < 2; ++h) {
      const __m256i q = load256(x.qs + 32 * h);
      for (int j = 0; j < 4; ++j) {
        const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << (4 * h + j)));
        const __m256i hb = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit), _mm256_set1_epi8(4));
        k.q[4 * h + j] = _mm256_or_si256(_mm256_and_si256(srl16(q, 2 * j), m3), hb);
      }
    }
    // 16 six-bit scales: low nibbles from bytes 0-7, top 2 bits from 8-11.
    uint32_t a0, a1, t;
    std::memcpy(&a0, x.scales, 4);
    std::memcpy(&a1, x.scales + 4, 4);
    std::memcpy(&t, x.scales + 8, 4);
    const uint32_t k4 = 0x0f0f0f0f, k2 = 0x03030303;
    const uint32_t w0 = (a0 & k4) | ((t & k2) << 4);
    const uint32_t w1 = (a1 & k4) | (((t >> 2) & k2) << 4);
    const uint32_t w2 = ((a0 >> 4) & k4) | (((t >> 4) & k2) << 4);
    const uint32_t w3 = ((a1 >> 4) & k4) | (((t >> 6) & k2) << 4);
    k.sc8 = _mm_sub_epi8(
        _mm_setr_epi32(static_cast<int>(w0), static_cast<int>(w1), static_cast<int>(w2), static_cast<int>(w3)),
        _mm_set1_epi8(32));
    k.mn = _mm256_slli_epi16(_mm256_cvtepi8_epi16(k.sc8), 2);
    k.d = h2f(x.d);
    k.dmin = 0;
  }
};

// Q4_K/Q5_K packed 6-bit scales and mins -> 16 bytes: scales 0-7, mins 0-7.
inline __m128i kx_scales_mins(const uint8_t* s) {
  uint32_t v[3];
  std::memcpy(v, s, 12);
  const uint32_t k6 = 0x3f3f3f3f, k4 = 0x0f0f0f0f, k2 = 0x03030303;
  const uint32_t sc_lo = v[0] & k6;
  const uint32_t sc_hi = (v[2] & k4) | (((v[0] >> 6) & k2) << 4);
  const uint32_t mn_lo = v[1] & k6;
  const uint32_t mn_hi = ((v[2] >> 4) & k4) | (((v[1] >> 6) & k2) << 4);
  return _mm_setr_epi32(static_cast<int>(sc_lo), static_cast<int>(sc_hi), static_cast<int>(mn_lo),
                        static_cast<int>(mn_hi));
}

inline void kx_set_scales(const uint8_t* packed, KRegs& k) {
  const __m128i sm = kx_scales_mins(packed);
  // Each 32-element sub-block's scale/min serves its two 16-element groups.
  k.sc8 = _mm_shuffle_epi8(sm, _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7));
  k.mn = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(sm, _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15)));
}

template <> struct KDec<BlockQ4_K> {
  static constexpr bool kOffset = false, kSigned = false;
  static void decode(const BlockQ4_K& x, KRegs& k) {
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    for (int j = 0; j < 4; ++j) {
      const __m256i q = load256(x.qs + 32 * j);
      k.q[2 * j] = _mm256_and_si256(q, m4);
      k.q[2 * j + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
    }
    kx_set_scales(x.scales, k);
    k.d = h2f(x.d);
    k.dmin = h2f(x.dmin);
  }
};
template <> struct KDec<BlockQ5_K> {
  static constexpr bool kOffset = false, kSigned = false;
  static void decode(const BlockQ5_K& x, KRegs& k) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), b4 = _mm256_set1_epi8(0x10);
    const __m256i qh = load256(x.qh);
    for (int j = 0; j < 4; ++j) {
      const __m256i q = load256(x.qs + 32 * j);
      const __m256i bit0 = _mm256_set1_epi8(static_cast<char>(1 << (2 * j)));
      const __m256i bit1 = _mm256_set1_epi8(static_cast<char>(1 << (2 * j + 1)));
      const __m256i h0 = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bit0), bit0), b4);
      const __m256i h1 = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bit1), bit1), b4);
      k.q[2 * j] = _mm256_or_si256(_mm256_and_si256(q, m4), h0);
      k.q[2 * j + 1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), h1);
    }
    kx_set_scales(x.scales, k);
    k.d = h2f(x.d);
    k.dmin = h2f(x.dmin);
  }
};
template <> struct KDec<BlockQ6_K> {
  static constexpr bool kOffset = true, kSigned = false;
  static void decode(const BlockQ6_K& x, KRegs& k) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), m3 = _mm256_set1_epi8(3);
    for (int h = 0; h < 2; ++h) {
      const __m256i l0 = load256(x.ql + 64 * h), l1 = load256(x.ql + 64 * h + 32), qh = load256(x.qh + 32 * h);
      k.q[4 * h] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4));
      k.q[4 * h + 1] =
          _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m3), 4));
      k.q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                       _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m3), 4));
      k.q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                       _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m3), 4));
    }
    k.sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x.scales));
    k.mn = _mm256_slli_epi16(_mm256_cvtepi8_epi16(k.sc8), 5);
    k.d = h2f(x.d);
    k.dmin = 0;
  }
};
template <> struct KDec<BlockQ8_K> {
  static constexpr bool kOffset = true, kSigned = true;
  static void decode(const BlockQ8_K& x, KRegs& k) {
    for (int c = 0; c < 8; ++c) k.q[c] = load256(x.qs + 32 * c);
    k.sc8 = _mm_set1_epi8(1);
    k.mn = _mm256_setzero_si256();
    k.d = x.d;
    k.dmin = 0;
  }
};

// The contribution of one decoded super-block times one Q8_K block.
template <class D>
inline float kblock_dot(const KRegs& k, const __m256i* scx, const BlockQ8_K& a) {
  __m256i acc = _mm256_setzero_si256();
  for (int c = 0; c < 8; ++c) {
    const __m256i x = load256(a.qs + 32 * c);
    __m256i p;
    if constexpr (D::kSigned) {
      p = _mm256_maddubs_epi16(_mm256_sign_epi8(k.q[c], k.q[c]), _mm256_sign_epi8(x, k.q[c]));
    } else {
      p = _mm256_maddubs_epi16(k.q[c], x);  // q <= 63, |x| <= 127: no int16 saturation
    }
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, scx ? scx[c] : chunk_scales(k.sc8, c)));
  }
  const __m256i ms = _mm256_madd_epi16(k.mn, load256(a.bsums));
  if constexpr (D::kOffset) {
    return (k.d * a.d) * static_cast<float>(hsum_epi32(_mm256_sub_epi32(acc, ms)));
  } else {
    const float dd = k.d * a.d, dm = k.dmin * a.d;
    return dd * static_cast<float>(hsum_epi32(acc)) - dm * static_cast<float>(hsum_epi32(ms));
  }
}

// Each super-block is decoded once, into registers, and dotted with every
// activation row (its chunk scales expanded once when there are several).
template <class WB, int B, class Len>
inline void rows_k(Len len, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1, const uint8_t* acts,
                   size_t act_stride, float* y, int64_t y_stride) {
  using D = KDec<WB>;
  const int64_t nb = len.get() / 256;
  const BlockQ8_K* a[B];
  for (int b = 0; b < B; ++b) a[b] = reinterpret_cast<const BlockQ8_K*>(acts + b * act_stride);
  KRegs k;
  for (int64_t r = r0; r < r1; ++r) {
    const WB* wr = reinterpret_cast<const WB*>(w + r * w_stride);
    float s[B] = {};
    for (int64_t i = 0; i < nb; ++i) {
      D::decode(wr[i], k);
      if constexpr (B == 1) {
        s[0] += kblock_dot<D>(k, nullptr, a[0][i]);
      } else {
        __m256i scx[8];
        for (int c = 0; c < 8; ++c) scx[c] = chunk_scales(k.sc8, c);
        for (int b = 0; b < B; ++b) s[b] += kblock_dot<D>(k, scx, a[b][i]);
      }
    }
    for (int b = 0; b < B; ++b) y[b * y_stride + r] = s[b];
  }
}

// ---- float weights with F32 activations ------------------------------------------

template <class WB> struct FloatLoad;
template <> struct FloatLoad<BlockF32> {
  static __m256 load8(const BlockF32* p) { return _mm256_loadu_ps(&p->v); }
  static float one(const BlockF32& b) { return b.v; }
};
template <> struct FloatLoad<BlockF16> {
  static __m256 load8(const BlockF16* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static float one(const BlockF16& b) { return h2f(b.v); }
};
template <> struct FloatLoad<BlockBF16> {
  static __m256 load8(const BlockBF16* p) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
  }
  static float one(const BlockBF16& b) {
    const uint32_t bits = static_cast<uint32_t>(b.v) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
};

template <class WB, int B, class Len>
inline void rows_float(Len len, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1, const uint8_t* acts,
                       size_t act_stride, float* y, int64_t y_stride) {
  using L = FloatLoad<WB>;
  const int64_t n = len.get();
  const float* a[B];
  for (int b = 0; b < B; ++b) a[b] = reinterpret_cast<const float*>(acts + b * act_stride);
  for (int64_t r = r0; r < r1; ++r) {
    const WB* wr = reinterpret_cast<const WB*>(w + r * w_stride);
    __m256 acc0[B], acc1[B];
    for (int b = 0; b < B; ++b) acc0[b] = acc1[b] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      const __m256 w0 = L::load8(wr + i), w1 = L::load8(wr + i + 8);
      for (int b = 0; b < B; ++b) {
        acc0[b] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(a[b] + i), acc0[b]);
        acc1[b] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(a[b] + i + 8), acc1[b]);
      }
    }
    for (int b = 0; b < B; ++b) {
      float tail = 0;
      for (int64_t k = i; k < n; ++k) tail += L::one(wr[k]) * a[b][k];
      y[b * y_stride + r] = hsum_ps(_mm256_add_ps(acc0[b], acc1[b])) + tail;
    }
  }
}

// ---- entry templates -----------------------------------------------------------------

template <class WB> inline constexpr bool kIsFloat =
    std::is_same_v<WB, BlockF32> || std::is_same_v<WB, BlockF16> || std::is_same_v<WB, BlockBF16>;

// Rows [r0, r1) times `B` activation rows (B a small constant, 1..4).
template <class WB, int B, class Len>
inline void rows(Len len, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* acts, size_t act_stride,
                 float* y, int64_t y_stride) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(acts);
  if constexpr (kIsFloat<WB>) {
    rows_float<WB, B>(len, wb, w_stride, r0, r1, ab, act_stride, y, y_stride);
  } else if constexpr (BlockTraits<WB>::kSize == 32) {
    rows_q32<WB, B>(len, wb, w_stride, r0, r1, ab, act_stride, y, y_stride);
  } else {
    rows_k<WB, B>(len, wb, w_stride, r0, r1, ab, act_stride, y, y_stride);
  }
}

// Any batch: tiles of up to 4 activation rows, so each decoded weight block
// is used up to 4 times while it is in registers / L1.
template <class WB, class Len>
inline void matvec(Len len, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* acts,
                   size_t act_stride, int batch, float* y, int64_t y_stride) {
  const auto* ab = static_cast<const uint8_t*>(acts);
  for (int b0 = 0; b0 < batch; b0 += 4) {
    const void* a = ab + b0 * act_stride;
    float* yb = y + b0 * y_stride;
    switch (batch - b0 >= 4 ? 4 : batch - b0) {
      case 4: rows<WB, 4>(len, w, w_stride, r0, r1, a, act_stride, yb, y_stride); break;
      case 3: rows<WB, 3>(len, w, w_stride, r0, r1, a, act_stride, yb, y_stride); break;
      case 2: rows<WB, 2>(len, w, w_stride, r0, r1, a, act_stride, yb, y_stride); break;
      default: rows<WB, 1>(len, w, w_stride, r0, r1, a, act_stride, yb, y_stride); break;
    }
  }
}

template <class WB, class Len>
inline float vec_dot(Len len, const WB* w, const typename BlockTraits<WB>::Act* a) {
  float y;
  rows<WB, 1>(len, w, 0, 0, 1, a, 0, &y, 0);
  return y;
}

// Activation row for weights of block type WB.
template <class WB, class Len>
inline void quantize_act(Len len, const float* x, typename BlockTraits<WB>::Act* out) {
  using A = typename BlockTraits<WB>::Act;
  if constexpr (std::is_same_v<A, BlockF32>) {
    std::memcpy(out, x, static_cast<size_t>(len.get()) * sizeof(float));
  } else if constexpr (std::is_same_v<A, BlockQ8_0>) {
    quantize_q8_32<false>(len, x, out);
  } else if constexpr (std::is_same_v<A, BlockQ8_1>) {
    quantize_q8_32<true>(len, x, out);
  } else {
    quantize_q8_K(len, x, out);
  }
}

}  // namespace forge::kernels::cpu::avx2
