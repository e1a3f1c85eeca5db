// AArch64 NEON kernels for every GGML weight format, header-only so that
// generated code can instantiate them with its row lengths baked in
// (FixedLen<N>) while the interpreter uses RunLen (neon_dispatch.cpp).
// The integer dot products use SDOT (vdotq_s32) when the target has it
// (__ARM_FEATURE_DOTPROD, e.g. -march=armv8.2-a+dotprod), else widening
// multiplies (vmull_s8) and pairwise adds; both give the same exact integers.
//
// Numerics against the scalar reference (forge::quant):
//  - activation quantization: identical bytes (same IEEE operations; roundf
//    is FRINTA, nearbyint is FRINTN);
//  - 32-element formats and K-quants: per block the same exact integer and
//    the same float expression, summed in the same order as the reference:
//    bit-identical results;
//  - float weights: products accumulated in 4 x 4 float lanes with FMA:
//    equal within float rounding (the reference sums in double).
#pragma once

#if !defined(__aarch64__) || !defined(__ARM_NEON)
#error "neon_kernels.h is for AArch64 targets"
#endif

#include <arm_neon.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/cpu/kernels.h"
#include "quant/blocks.h"
#include "quant/fp16.h"

namespace forge::kernels::cpu::neon {

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

// FCVT half -> single is exact (subnormals included; Linux leaves FPCR.FZ off).
inline float h2f(uint16_t h) {
  return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0);
}
// One narrowing per block: the portable reference conversion (NaN handling
// identical to the scalar path, whatever the FPCR says).
inline uint16_t f2h(float f) {
  return quant::fp32_to_fp16(f);
}

// quant::detail::clamp_q8: [-127, 127], NaN -> 0.
inline float32x4_t clamp_q8(float32x4_t v) {
  v = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), vceqq_f32(v, v)));
  return vminq_f32(vmaxq_f32(v, vdupq_n_f32(-127.0f)), vdupq_n_f32(127.0f));
}

// Four vectors of 4 int32 (each within int8 range) -> 16 int8 in order.
inline int8x16_t narrow_i32x4(int32x4_t c0, int32x4_t c1, int32x4_t c2, int32x4_t c3) {
  const int16x8_t a = vcombine_s16(vmovn_s32(c0), vmovn_s32(c1));
  const int16x8_t b = vcombine_s16(vmovn_s32(c2), vmovn_s32(c3));
  return vcombine_s8(vmovn_s16(a), vmovn_s16(b));
}

// Four int32 partial sums of q * a over 16 int8 pairs, added to acc.
inline int32x4_t dot16(int32x4_t acc, int8x16_t q, int8x16_t a) {
#if defined(__ARM_FEATURE_DOTPROD)
  return vdotq_s32(acc, q, a);
#else
  // |q * a| <= 128 * 128: each int16 product is exact; pairs widen to int32.
  acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(q), vget_low_s8(a)));
  return vpadalq_s16(acc, vmull_high_s8(q, a));
#endif
}

// Byte k = 0xff where bit k of the 16-bit little-endian value at p is set.
inline uint8x16_t bits_to_bytes16(const uint8_t* p) {
  static constexpr uint8_t kBit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const uint8x16_t spread = vcombine_u8(vdup_n_u8(p[0]), vdup_n_u8(p[1]));
  return vtstq_u8(spread, vld1q_u8(kBit));
}

// ---- activation quantization (same bytes as quant::quantize_row) ----------------

template <bool kWithSum, class Out, class Len>
inline void quantize_q8_32(Len len, const float* x, Out* y) {
  const int64_t nb = len.get() / 32;
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    float32x4_t v[8];
    float32x4_t amax = vdupq_n_f32(0.0f);
    // FMAXNM ignores a NaN element, as the reference's `amax < |x|` does.
    for (int k = 0; k < 8; ++k) {
      v[k] = vld1q_f32(x + 4 * k);
      amax = vmaxnmq_f32(amax, vabsq_f32(v[k]));
    }
    const float d = vmaxnmvq_f32(amax) / 127;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[i].d = f2h(d);
    int32x4_t c[8];
    for (int k = 0; k < 8; ++k) c[k] = vcvtq_s32_f32(vrndaq_f32(clamp_q8(vmulq_n_f32(v[k], id))));  // roundf
    vst1q_s8(y[i].qs, narrow_i32x4(c[0], c[1], c[2], c[3]));
    vst1q_s8(y[i].qs + 16, narrow_i32x4(c[4], c[5], c[6], c[7]));
    if constexpr (kWithSum) {
      int32x4_t s = c[0];
      for (int k = 1; k < 8; ++k) s = vaddq_s32(s, c[k]);
      y[i].s = f2h(static_cast<float>(vaddvq_s32(s)) * d);
    }
  }
}

template <class Len>
inline void quantize_q8_K(Len len, const float* x, BlockQ8_K* y) {
  const int64_t nb = len.get() / 256;
  for (int64_t i = 0; i < nb; ++i, x += 256) {
    float32x4_t amaxv = vdupq_n_f32(0.0f);
    for (int k = 0; k < 64; ++k) amaxv = vmaxnmq_f32(amaxv, vabsq_f32(vld1q_f32(x + 4 * k)));
    const float amax = vmaxnmvq_f32(amaxv);
    if (amax == 0) {
      std::memset(&y[i], 0, sizeof(BlockQ8_K));
      continue;
    }
    // The value (with its sign) of the first element of largest magnitude.
    float vmax = 0;
    for (int j = 0; j < 256; ++j) {
      if (__builtin_fabsf(x[j]) == amax) {
        vmax = x[j];
        break;
      }
    }
    const float iscale = -127.f / vmax;
    for (int k = 0; k < 16; ++k) {
      int32x4_t c[4];
      for (int j = 0; j < 4; ++j) {
        // FRINTN: nearest, ties to even, as nearbyint; the clamp keeps it in int8.
        c[j] = vcvtq_s32_f32(vrndnq_f32(clamp_q8(vmulq_n_f32(vld1q_f32(x + 16 * k + 4 * j), iscale))));
      }
      const int8x16_t q = narrow_i32x4(c[0], c[1], c[2], c[3]);
      vst1q_s8(y[i].qs + 16 * k, q);
      y[i].bsums[k] = vaddlvq_s8(q);
    }
    y[i].d = 1 / iscale;
  }
}

// ---- 32-element formats ------------------------------------------------------------

// 32 levels of one block, elements 0..15 and 16..31.
struct Levels32 {
  int8x16_t lo, hi;
};

inline Levels32 nibbles32(const uint8_t* qs) {
  const uint8x16_t t = vld1q_u8(qs);
  return {vreinterpretq_s8_u8(vandq_u8(t, vdupq_n_u8(0x0f))), vreinterpretq_s8_u8(vshrq_n_u8(t, 4))};
}

// The fifth bit of each level (0x10 where set) from the 32-bit qh field.
inline Levels32 fifth_bits(const uint8_t* qh) {
  const uint8x16_t b4 = vdupq_n_u8(0x10);
  return {vreinterpretq_s8_u8(vandq_u8(bits_to_bytes16(qh), b4)),
          vreinterpretq_s8_u8(vandq_u8(bits_to_bytes16(qh + 2), b4))};
}

// Decoding one block to 32 int8 levels; kMin: the block has an additive minimum.
template <class B>
struct Q32;
template <>
struct Q32<BlockQ4_0> {
  static constexpr bool kMin = false;
  static Levels32 decode(const BlockQ4_0& b) {
    const Levels32 n = nibbles32(b.qs);
    return {vsubq_s8(n.lo, vdupq_n_s8(8)), vsubq_s8(n.hi, vdupq_n_s8(8))};
  }
};
template <>
struct Q32<BlockQ4_1> {
  static constexpr bool kMin = true;
  static Levels32 decode(const BlockQ4_1& b) { return nibbles32(b.qs); }
};
template <>
struct Q32<BlockQ5_0> {
  static constexpr bool kMin = false;
  static Levels32 decode(const BlockQ5_0& b) {
    const Levels32 n = nibbles32(b.qs), h = fifth_bits(b.qh);
    return {vsubq_s8(vorrq_s8(n.lo, h.lo), vdupq_n_s8(16)), vsubq_s8(vorrq_s8(n.hi, h.hi), vdupq_n_s8(16))};
  }
};
template <>
struct Q32<BlockQ5_1> {
  static constexpr bool kMin = true;
  static Levels32 decode(const BlockQ5_1& b) {
    const Levels32 n = nibbles32(b.qs), h = fifth_bits(b.qh);
    return {vorrq_s8(n.lo, h.lo), vorrq_s8(n.hi, h.hi)};
  }
};
template <>
struct Q32<BlockQ8_0> {
  static constexpr bool kMin = false;
  static Levels32 decode(const BlockQ8_0& b) { return {vld1q_s8(b.qs), vld1q_s8(b.qs + 16)}; }
};
template <>
struct Q32<BlockQ8_1> {
  static constexpr bool kMin = false;
  static Levels32 decode(const BlockQ8_1& b) { return {vld1q_s8(b.qs), vld1q_s8(b.qs + 16)}; }
};

template <class WB, int B, class Len>
inline void rows_q32(Len len, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1, const uint8_t* acts,
                     size_t act_stride, float* y, int64_t y_stride) {
  using A = typename BlockTraits<WB>::Act;
  using D = Q32<WB>;
  const int64_t nb = len.get() / 32;
  const A* a[B];
  for (int b = 0; b < B; ++b) a[b] = reinterpret_cast<const A*>(acts + b * act_stride);
  for (int64_t r = r0; r < r1; ++r) {
    const WB* wr = reinterpret_cast<const WB*>(w + r * w_stride);
    float s[B] = {};
    for (int64_t i = 0; i < nb; ++i) {
      const Levels32 q = D::decode(wr[i]);
      const float dw = h2f(wr[i].d);
      for (int b = 0; b < B; ++b) {
        const int32x4_t p = dot16(dot16(vdupq_n_s32(0), q.lo, vld1q_s8(a[b][i].qs)), q.hi, vld1q_s8(a[b][i].qs + 16));
        // The reference's expression and order: s += dw * da * sumi (+ m * s_a).
        const float t = dw * h2f(a[b][i].d) * static_cast<float>(vaddvq_s32(p));
        if constexpr (D::kMin) {
          s[b] += t + h2f(wr[i].m) * h2f(a[b][i].s);
        } else {
          s[b] += t;
        }
      }
    }
    for (int b = 0; b < B; ++b) y[b * y_stride + r] = s[b];
  }
}

// ---- K-quants: decode a super-block once, dot it with every activation -------------

// One decoded K super-block: levels q (unsigned, or signed for Q8_K weights),
// the scale of each 16-element group, and per group the integer that
// multiplies the activation group sum: the min (Q2_K, Q4_K, Q5_K, scaled by
// dmin) or scale * level offset (Q3_K: 4, Q6_K: 32, scaled by d).
struct UnpackedK {
  alignas(16) int8_t q[256];
  alignas(16) int16_t mn[16];
  int32_t sc[16];
  float d;
  float dmin;
};

inline void store_u8x2(int8_t* dst, uint8x16_t a, uint8x16_t b) {
  vst1q_s8(dst, vreinterpretq_s8_u8(a));
  vst1q_s8(dst + 16, vreinterpretq_s8_u8(b));
}

// kOffset: result = d * (sum scale*q - sum mn*bsum) in one integer;
// otherwise d * sum scale*q - dmin * sum mn*bsum.
template <class B>
struct KDec;
template <>
struct KDec<BlockQ2_K> {
  static constexpr bool kOffset = false;
  static void decode(const BlockQ2_K& x, UnpackedK& u) {
    const uint8x16_t m3 = vdupq_n_u8(3);
    for (int h = 0; h < 2; ++h) {
      const uint8x16_t q0 = vld1q_u8(x.qs + 32 * h), q1 = vld1q_u8(x.qs + 32 * h + 16);
      store_u8x2(u.q + 128 * h, vandq_u8(q0, m3), vandq_u8(q1, m3));
      store_u8x2(u.q + 128 * h + 32, vandq_u8(vshrq_n_u8(q0, 2), m3), vandq_u8(vshrq_n_u8(q1, 2), m3));
      store_u8x2(u.q + 128 * h + 64, vandq_u8(vshrq_n_u8(q0, 4), m3), vandq_u8(vshrq_n_u8(q1, 4), m3));
      store_u8x2(u.q + 128 * h + 96, vshrq_n_u8(q0, 6), vshrq_n_u8(q1, 6));
    }
    for (int g = 0; g < 16; ++g) {
      u.sc[g] = x.scales[g] & 0xf;
      u.mn[g] = static_cast<int16_t>(x.scales[g] >> 4);
    }
    u.d = h2f(x.d);
    u.dmin = h2f(x.dmin);
  }
};
template <>
struct KDec<BlockQ3_K> {
  static constexpr bool kOffset = true;
  static void decode(const BlockQ3_K& x, UnpackedK& u) {
    const uint8x16_t m3 = vdupq_n_u8(3), four = vdupq_n_u8(4);
    const uint8x16_t hm0 = vld1q_u8(x.hmask), hm1 = vld1q_u8(x.hmask + 16);
    for (int h = 0; h < 2; ++h) {
      uint8x16_t q0 = vld1q_u8(x.qs + 32 * h), q1 = vld1q_u8(x.qs + 32 * h + 16);
      for (int j = 0; j < 4; ++j) {
        const uint8x16_t bit = vdupq_n_u8(static_cast<uint8_t>(1 << (4 * h + j)));
        const uint8x16_t h0 = vandq_u8(vtstq_u8(hm0, bit), four), h1 = vandq_u8(vtstq_u8(hm1, bit), four);
        store_u8x2(u.q + 128 * h + 32 * j, vorrq_u8(vandq_u8(q0, m3), h0), vorrq_u8(vandq_u8(q1, m3), h1));
        q0 = vshrq_n_u8(q0, 2);
        q1 = vshrq_n_u8(q1, 2);
      }
    }
    for (int g = 0; g < 16; ++g) {
      u.sc[g] = quant::q3k_scale(g, x.scales);
      u.mn[g] = static_cast<int16_t>(4 * u.sc[g]);  // levels stored as q + 4
    }
    u.d = h2f(x.d);
    u.dmin = 0;
  }
};

inline void kx_set_scales(const uint8_t* packed, UnpackedK& u) {
  // Each 32-element sub-block's scale/min serves its two 16-element groups.
  for (int j = 0; j < 8; ++j) {
    uint8_t s, m;
    quant::kquant_scale_min(j, packed, &s, &m);
    u.sc[2 * j] = u.sc[2 * j + 1] = s;
    u.mn[2 * j] = u.mn[2 * j + 1] = m;
  }
}

template <>
struct KDec<BlockQ4_K> {
  static constexpr bool kOffset = false;
  static void decode(const BlockQ4_K& x, UnpackedK& u) {
    const uint8x16_t m4 = vdupq_n_u8(0x0f);
    for (int j = 0; j < 4; ++j) {
      const uint8x16_t q0 = vld1q_u8(x.qs + 32 * j), q1 = vld1q_u8(x.qs + 32 * j + 16);
      store_u8x2(u.q + 64 * j, vandq_u8(q0, m4), vandq_u8(q1, m4));
      store_u8x2(u.q + 64 * j + 32, vshrq_n_u8(q0, 4), vshrq_n_u8(q1, 4));
    }
    kx_set_scales(x.scales, u);
    u.d = h2f(x.d);
    u.dmin = h2f(x.dmin);
  }
};
template <>
struct KDec<BlockQ5_K> {
  static constexpr bool kOffset = false;
  static void decode(const BlockQ5_K& x, UnpackedK& u) {
    const uint8x16_t m4 = vdupq_n_u8(0x0f), b4 = vdupq_n_u8(0x10);
    const uint8x16_t qh0 = vld1q_u8(x.qh), qh1 = vld1q_u8(x.qh + 16);
    for (int j = 0; j < 4; ++j) {
      const uint8x16_t q0 = vld1q_u8(x.qs + 32 * j), q1 = vld1q_u8(x.qs + 32 * j + 16);
      const uint8x16_t bit0 = vdupq_n_u8(static_cast<uint8_t>(1 << (2 * j)));
      const uint8x16_t bit1 = vdupq_n_u8(static_cast<uint8_t>(1 << (2 * j + 1)));
      store_u8x2(u.q + 64 * j, vorrq_u8(vandq_u8(q0, m4), vandq_u8(vtstq_u8(qh0, bit0), b4)),
                 vorrq_u8(vandq_u8(q1, m4), vandq_u8(vtstq_u8(qh1, bit0), b4)));
      store_u8x2(u.q + 64 * j + 32, vorrq_u8(vshrq_n_u8(q0, 4), vandq_u8(vtstq_u8(qh0, bit1), b4)),
                 vorrq_u8(vshrq_n_u8(q1, 4), vandq_u8(vtstq_u8(qh1, bit1), b4)));
    }
    kx_set_scales(x.scales, u);
    u.d = h2f(x.d);
    u.dmin = h2f(x.dmin);
  }
};
template <>
struct KDec<BlockQ6_K> {
  static constexpr bool kOffset = true;
  static void decode(const BlockQ6_K& x, UnpackedK& u) {
    const uint8x16_t m4 = vdupq_n_u8(0x0f), m3 = vdupq_n_u8(3);
    for (int h = 0; h < 2; ++h) {
      for (int half = 0; half < 2; ++half) {  // elements l = 0..15, then 16..31
        const int o = 16 * half;
        const uint8x16_t l0 = vld1q_u8(x.ql + 64 * h + o), l1 = vld1q_u8(x.ql + 64 * h + 32 + o);
        const uint8x16_t qh = vld1q_u8(x.qh + 32 * h + o);
        int8_t* dst = u.q + 128 * h + o;
        vst1q_s8(dst, vreinterpretq_s8_u8(vorrq_u8(vandq_u8(l0, m4), vshlq_n_u8(vandq_u8(qh, m3), 4))));
        vst1q_s8(dst + 32,
                 vreinterpretq_s8_u8(vorrq_u8(vandq_u8(l1, m4), vshlq_n_u8(vandq_u8(vshrq_n_u8(qh, 2), m3), 4))));
        vst1q_s8(dst + 64,
                 vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(l0, 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(qh, 4), m3), 4))));
        vst1q_s8(dst + 96, vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(l1, 4), vshlq_n_u8(vshrq_n_u8(qh, 6), 4))));
      }
    }
    for (int g = 0; g < 16; ++g) {
      u.sc[g] = x.scales[g];
      u.mn[g] = static_cast<int16_t>(32 * u.sc[g]);  // levels stored as q + 32
    }
    u.d = h2f(x.d);
    u.dmin = 0;
  }
};
template <>
struct KDec<BlockQ8_K> {
  static constexpr bool kOffset = true;
  static void decode(const BlockQ8_K& x, UnpackedK& u) {
    std::memcpy(u.q, x.qs, 256);
    for (int g = 0; g < 16; ++g) {
      u.sc[g] = 1;
      u.mn[g] = 0;
    }
    u.d = x.d;
    u.dmin = 0;
  }
};

// The contribution of one decoded super-block times one Q8_K block.
template <class D>
inline float kblock_dot(const UnpackedK& u, const BlockQ8_K& a) {
  int32x4_t acc = vdupq_n_s32(0);
  for (int g = 0; g < 16; ++g) {
    const int32x4_t p = dot16(vdupq_n_s32(0), vld1q_s8(u.q + 16 * g), vld1q_s8(a.qs + 16 * g));
    acc = vmlaq_n_s32(acc, p, u.sc[g]);
  }
  const int16x8_t m0 = vld1q_s16(u.mn), m1 = vld1q_s16(u.mn + 8);
  const int16x8_t b0 = vld1q_s16(a.bsums), b1 = vld1q_s16(a.bsums + 8);
  int32x4_t ms = vmull_s16(vget_low_s16(m0), vget_low_s16(b0));
  ms = vmlal_high_s16(ms, m0, b0);
  ms = vmlal_s16(ms, vget_low_s16(m1), vget_low_s16(b1));
  ms = vmlal_high_s16(ms, m1, b1);
  if constexpr (D::kOffset) {
    return (u.d * a.d) * static_cast<float>(vaddvq_s32(acc) - vaddvq_s32(ms));
  } else {
    const float dd = u.d * a.d, dm = u.dmin * a.d;
    return dd * static_cast<float>(vaddvq_s32(acc)) - dm * static_cast<float>(vaddvq_s32(ms));
  }
}

template <class WB, int B, class Len>
inline void rows_k(Len len, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1, const uint8_t* acts,
                   size_t act_stride, float* y, int64_t y_stride) {
  using D = KDec<WB>;
  const int64_t nb = len.get() / 256;
  const BlockQ8_K* a[B];
  for (int b = 0; b < B; ++b) a[b] = reinterpret_cast<const BlockQ8_K*>(acts + b * act_stride);
  UnpackedK u;
  for (int64_t r = r0; r < r1; ++r) {
    const WB* wr = reinterpret_cast<const WB*>(w + r * w_stride);
    float s[B] = {};
    for (int64_t i = 0; i < nb; ++i) {
      D::decode(wr[i], u);
      for (int b = 0; b < B; ++b) s[b] += kblock_dot<D>(u, a[b][i]);
    }
    for (int b = 0; b < B; ++b) y[b * y_stride + r] = s[b];
  }
}

// ---- float weights with F32 activations ------------------------------------------

template <class WB>
struct FloatLoad;
template <>
struct FloatLoad<BlockF32> {
  static float32x4_t load4(const BlockF32* p) { return vld1q_f32(&p->v); }
  static float one(const BlockF32& b) { return b.v; }
};
template <>
struct FloatLoad<BlockF16> {
  static float32x4_t load4(const BlockF16* p) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p))));
  }
  static float one(const BlockF16& b) { return h2f(b.v); }
};
template <>
struct FloatLoad<BlockBF16> {
  static float32x4_t load4(const BlockBF16* p) {
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p)), 16));
  }
  static float one(const BlockBF16& b) { return quant::bf16_to_fp32(b.v); }
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
    float32x4_t acc[B][4];
    for (int b = 0; b < B; ++b) {
      for (int k = 0; k < 4; ++k) acc[b][k] = vdupq_n_f32(0.0f);
    }
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      float32x4_t wv[4];
      for (int k = 0; k < 4; ++k) wv[k] = L::load4(wr + i + 4 * k);
      for (int b = 0; b < B; ++b) {
        for (int k = 0; k < 4; ++k) acc[b][k] = vfmaq_f32(acc[b][k], wv[k], vld1q_f32(a[b] + i + 4 * k));
      }
    }
    for (int b = 0; b < B; ++b) {
      float tail = 0;
      for (int64_t k = i; k < n; ++k) tail += L::one(wr[k]) * a[b][k];
      const float32x4_t s = vaddq_f32(vaddq_f32(acc[b][0], acc[b][1]), vaddq_f32(acc[b][2], acc[b][3]));
      y[b * y_stride + r] = vaddvq_f32(s) + tail;
    }
  }
}

// ---- entry templates (the same shape as avx2_kernels.h) ---------------------------

template <class WB>
inline constexpr bool kIsFloat =
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
inline void matvec(Len len, const void* w, size_t w_stride, int64_t r0, int64_t r1, const void* acts, size_t act_stride,
                   int batch, float* y, int64_t y_stride) {
  const auto* ab = static_cast<const uint8_t*>(acts);
  for (int b0 = 0; b0 < batch; b0 += 4) {
    const void* a = ab + b0 * act_stride;
    float* yb = y + b0 * y_stride;
    switch (batch - b0 >= 4 ? 4 : batch - b0) {
      case 4:
        rows<WB, 4>(len, w, w_stride, r0, r1, a, act_stride, yb, y_stride);
        break;
      case 3:
        rows<WB, 3>(len, w, w_stride, r0, r1, a, act_stride, yb, y_stride);
        break;
      case 2:
        rows<WB, 2>(len, w, w_stride, r0, r1, a, act_stride, yb, y_stride);
        break;
      default:
        rows<WB, 1>(len, w, w_stride, r0, r1, a, act_stride, yb, y_stride);
        break;
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

}  // namespace forge::kernels::cpu::neon
