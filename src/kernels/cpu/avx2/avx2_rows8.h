// Matrix times a few vectors for weights in the rows8 layout (repack.h):
// 8 rows at a time, one row per 32-bit lane. With VNNI (AVX-512 VNNI with
// VL, or AVX-VNNI: whatever the program is compiled for) a byte dot product
// is one vpdpbusd; without it, maddubs + madd; with AVX-512 the 32-element
// formats take two groups per 512-bit register. Header-only: compiled
// programs instantiate it with their row lengths (FixedLen<K>).
//
// Numerics: per block the reference's exact integers, then its float
// expression (s += (d_w * d_a) * dot for the 32-element formats), blocks in
// order: bit-identical to quant::vec_dot and to the plain-layout AVX2 kernels
// (avx2_kernels.h), so compiled and interpreted logits agree.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

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

// Weights stream from memory once per token: asking for the lines a few
// tiles ahead keeps more loads in flight than the hardware prefetcher does
// with 2 threads (llama-3.2-1b Q4_0 generation here: 19.5 -> 21.5 tok/s).
inline constexpr size_t kPrefetchAhead = 4096;
inline void prefetch_tile(const uint8_t* tile, size_t bytes) {
  for (size_t off = 0; off < bytes; off += 64) {
    _mm_prefetch(reinterpret_cast<const char*>(tile + kPrefetchAhead + off), _MM_HINT_T0);
  }
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

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
// With AVX-512 two groups go side by side in one 512-bit register (lanes
// 0-7: group g, 8-15: group g + 1), the same arithmetic per lane.
#define FORGE_ROWS8_ZMM 1

inline __m512i load_pair(const uint8_t* t0, const uint8_t* t1) {
  return _mm512_inserti64x4(_mm512_zextsi256_si512(load256(t0)), load256(t1), 1);
}
inline __m512i bcast4_512(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

template <class WB> struct TilePair;
template <> struct TilePair<BlockQ8_0> {
  template <int B>
  static void dot(const uint8_t* t0, const uint8_t* t1, const int8_t* const* a, __m512i* out) {
    FORGE_UNROLL
    for (int b = 0; b < B; ++b) out[b] = _mm512_setzero_si512();
    FORGE_UNROLL
    for (int j = 0; j < 8; ++j) {
      const __m512i w = load_pair(t0 + 16 + 32 * j, t1 + 16 + 32 * j);
      FORGE_UNROLL
      for (int b = 0; b < B; ++b) out[b] = _mm512_dpbusd_epi32(out[b], w, bcast4_512(a[b] + 4 * j));
    }
  }
};
template <> struct TilePair<BlockQ4_0> {
  template <int B>
  static void dot(const uint8_t* t0, const uint8_t* t1, const int8_t* const* a, __m512i* out) {
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    FORGE_UNROLL
    for (int b = 0; b < B; ++b) out[b] = _mm512_setzero_si512();
    FORGE_UNROLL
    for (int j = 0; j < 4; ++j) {
      const __m512i w = load_pair(t0 + 16 + 32 * j, t1 + 16 + 32 * j);
      const __m512i lo = _mm512_and_si512(w, m4), hi = _mm512_and_si512(_mm512_srli_epi16(w, 4), m4);
      FORGE_UNROLL
      for (int b = 0; b < B; ++b) {
        out[b] = _mm512_dpbusd_epi32(out[b], lo, bcast4_512(a[b] + 4 * j));
        out[b] = _mm512_dpbusd_epi32(out[b], hi, bcast4_512(a[b] + 16 + 4 * j));
      }
    }
  }
};

// Groups g and g + 1 (rows 8g .. 8g + 15): rows8's loop body, 16 lanes wide.
template <class WB, int B, int64_t kNb>
inline void rows8_pair(const uint8_t* t0, size_t group_bytes, const BlockQ8_0* const* a, const float (*da)[kNb],
                       const int32_t (*corr)[kNb], float* y, int64_t y_stride) {
  using T = Tile8<WB>;
  const uint8_t* t1 = t0 + group_bytes;
  __m512 s[B];
  FORGE_UNROLL
  for (int b = 0; b < B; ++b) s[b] = _mm512_setzero_ps();
  for (int64_t i = 0; i < kNb; ++i, t0 += T::kBytes, t1 += T::kBytes) {
    prefetch_tile(t0, T::kBytes);
    prefetch_tile(t1, T::kBytes);
    const __m512 dw = _mm512_cvtph_ps(_mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t1)),
                                                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(t0))));
    const int8_t* q[B];
    FORGE_UNROLL
    for (int b = 0; b < B; ++b) q[b] = a[b][i].qs;
    __m512i dot[B];
    TilePair<WB>::template dot<B>(t0, t1, q, dot);
    FORGE_UNROLL
    for (int b = 0; b < B; ++b) {
      dot[b] = _mm512_sub_epi32(dot[b], _mm512_set1_epi32(corr[b][i]));
      const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(da[b][i]));
      s[b] = _mm512_add_ps(s[b], _mm512_mul_ps(d, _mm512_cvtepi32_ps(dot[b])));
    }
  }
  FORGE_UNROLL
  for (int b = 0; b < B; ++b) _mm512_storeu_ps(y + b * y_stride, s[b]);
}
#endif

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
  int64_t g = g0;
#ifdef FORGE_ROWS8_ZMM
  static_assert(T::kOffset != 0, "with AVX-512 VNNI every rows8 tile takes the unsigned form");
  for (; g + 2 <= g1; g += 2) rows8_pair<WB, B, kNb>(w + g * group_bytes, group_bytes, a, da, corr, y + 8 * g, y_stride);
#endif
  for (; g < g1; ++g) {
    const uint8_t* tile = w + g * group_bytes;
    __m256 s[B];
    FORGE_UNROLL
    for (int b = 0; b < B; ++b) s[b] = _mm256_setzero_ps();
    for (int64_t i = 0; i < kNb; ++i, tile += T::kBytes) {
      prefetch_tile(tile, T::kBytes);
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

// ---- K-quants: one 256-element tile of 8 rows times B Q8_K blocks ------------------

// What a K tile needs of each activation block, worked out once per call.
struct ActK {
  float d;
  int32_t bs_pairs[4];  // Q4_K: sub-block sums (0,2), (1,3), (4,6), (5,7) as int16 pairs
  int32_t bs32x[16];    // Q6_K: 32 * the 16-element group sums
};

inline ActK act_k(const BlockQ8_K& a) {
  ActK r;
  r.d = a.d;
  int32_t s32[8];
  for (int sb = 0; sb < 8; ++sb) s32[sb] = a.bsums[2 * sb] + a.bsums[2 * sb + 1];
  auto pair = [](int32_t lo, int32_t hi) {
    return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint16_t>(lo)) |
                                (static_cast<uint32_t>(static_cast<uint16_t>(hi)) << 16));
  };
  r.bs_pairs[0] = pair(s32[0], s32[2]);
  r.bs_pairs[1] = pair(s32[1], s32[3]);
  r.bs_pairs[2] = pair(s32[4], s32[6]);
  r.bs_pairs[3] = pair(s32[5], s32[7]);
  for (int g = 0; g < 16; ++g) r.bs32x[g] = 32 * a.bsums[g];
  return r;
}

// Byte k of every 32-bit lane, as int32.
inline __m256i lane_byte(__m256i v, int k) {
  return _mm256_and_si256(_mm256_srli_epi32(v, 8 * k), _mm256_set1_epi32(0xff));
}

template <class WB> struct TileK;
template <> struct TileK<BlockQ4_K> {
  static constexpr size_t kBytes = 8 * sizeof(BlockQ4_K);
  // s[b] += d d_a * sum_sb scale_sb * dot_sb - dmin d_a * sum_sb min_sb * bsum_sb,
  // the integers exact: kblock_dot's expression, lane by lane.
  template <int B>
  static void accumulate(const uint8_t* tile, const BlockQ8_K* const* a, const ActK* const* f, __m256* s) {
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const __m256i v0 = load256(tile + 32), v1 = load256(tile + 64), v2 = load256(tile + 96);
    const __m256i k6 = _mm256_set1_epi32(0x3f3f3f3f), k4 = _mm256_set1_epi32(0x0f0f0f0f),
                  k2 = _mm256_set1_epi32(0x03030303);
    // kx_scales_mins on 8 rows at once: scales 0-3, 4-7, mins 0-3, 4-7 a byte each.
    const __m256i sc_lo = _mm256_and_si256(v0, k6);
    const __m256i sc_hi = _mm256_or_si256(_mm256_and_si256(v2, k4),
                                          _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(v0, 6), k2), 4));
    const __m256i mn_lo = _mm256_and_si256(v1, k6);
    const __m256i mn_hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(v2, 4), k4),
                                          _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(v1, 6), k2), 4));
    __m256i isum[B];
    FORGE_UNROLL
    for (int b = 0; b < B; ++b) isum[b] = _mm256_setzero_si256();
    for (int p = 0; p < 4; ++p) {
      __m256i lo_acc[B], hi_acc[B];
      FORGE_UNROLL
      for (int b = 0; b < B; ++b) lo_acc[b] = hi_acc[b] = _mm256_setzero_si256();
      FORGE_UNROLL
      for (int m = 0; m < 8; ++m) {
        const __m256i w = load256(tile + 128 + 32 * (8 * p + m));
        const __m256i lo = _mm256_and_si256(w, m4), hi = _mm256_and_si256(_mm256_srli_epi16(w, 4), m4);
        FORGE_UNROLL
        for (int b = 0; b < B; ++b) {
          lo_acc[b] = dot_u8s8(lo_acc[b], lo, bcast4(a[b]->qs + 64 * p + 4 * m));
          hi_acc[b] = dot_u8s8(hi_acc[b], hi, bcast4(a[b]->qs + 64 * p + 32 + 4 * m));
        }
      }
      const __m256i sc = p < 2 ? sc_lo : sc_hi;
      const __m256i s_lo = lane_byte(sc, (2 * p) % 4), s_hi = lane_byte(sc, (2 * p + 1) % 4);
      FORGE_UNROLL
      for (int b = 0; b < B; ++b) {
        isum[b] = _mm256_add_epi32(isum[b], _mm256_add_epi32(_mm256_mullo_epi32(lo_acc[b], s_lo),
                                                             _mm256_mullo_epi32(hi_acc[b], s_hi)));
      }
    }
    // Mins as int16 pairs (min 0, min 2), (1, 3) of each half, times the sums.
    const __m256i lo16 = _mm256_set1_epi32(0x00ff00ff);
    const __m256i mn02 = _mm256_and_si256(mn_lo, lo16), mn13 = _mm256_and_si256(_mm256_srli_epi32(mn_lo, 8), lo16);
    const __m256i mn46 = _mm256_and_si256(mn_hi, lo16), mn57 = _mm256_and_si256(_mm256_srli_epi32(mn_hi, 8), lo16);
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tile)));
    const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tile + 16)));
    FORGE_UNROLL
    for (int b = 0; b < B; ++b) {
      const __m256i msum = _mm256_add_epi32(
          _mm256_add_epi32(_mm256_madd_epi16(mn02, _mm256_set1_epi32(f[b]->bs_pairs[0])),
                           _mm256_madd_epi16(mn13, _mm256_set1_epi32(f[b]->bs_pairs[1]))),
          _mm256_add_epi32(_mm256_madd_epi16(mn46, _mm256_set1_epi32(f[b]->bs_pairs[2])),
                           _mm256_madd_epi16(mn57, _mm256_set1_epi32(f[b]->bs_pairs[3]))));
      const __m256 da = _mm256_set1_ps(f[b]->d);
      const __m256 t = _mm256_sub_ps(_mm256_mul_ps(_mm256_mul_ps(d, da), _mm256_cvtepi32_ps(isum[b])),
                                     _mm256_mul_ps(_mm256_mul_ps(dmin, da), _mm256_cvtepi32_ps(msum)));
      s[b] = _mm256_add_ps(s[b], t);
    }
  }
};
template <> struct TileK<BlockQ6_K> {
  static constexpr size_t kBytes = 8 * sizeof(BlockQ6_K);
  // s[b] += d d_a * sum_g scale_g * (dot_g - 32 bsum_g), exact integers.
  template <int B>
  static void accumulate(const uint8_t* tile, const BlockQ8_K* const* a, const ActK* const* f, __m256* s) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), m3 = _mm256_set1_epi8(3);
    __m256i tot[B];
    FORGE_UNROLL
    for (int b = 0; b < B; ++b) tot[b] = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      FORGE_UNROLL
      for (int qq = 0; qq < 2; ++qq) {  // elements 4m.. of each 32 with m in 4qq..4qq+3: groups 8h + 2t + qq
        __m256i acc[B][4];
        FORGE_UNROLL
        for (int b = 0; b < B; ++b) acc[b][0] = acc[b][1] = acc[b][2] = acc[b][3] = _mm256_setzero_si256();
        FORGE_UNROLL
        for (int m = 4 * qq; m < 4 * qq + 4; ++m) {
          const __m256i l0 = load256(tile + 144 + 32 * (16 * h + m));
          const __m256i l1 = load256(tile + 144 + 32 * (16 * h + m + 8));
          const __m256i qh = load256(tile + 1168 + 32 * (8 * h + m));
          const __m256i q[4] = {
              _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4)),
              _mm256_or_si256(_mm256_and_si256(l1, m4),
                              _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m3), 4)),
              _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                              _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m3), 4)),
              _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                              _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m3), 4)),
          };
          FORGE_UNROLL
          for (int b = 0; b < B; ++b) {
            FORGE_UNROLL
            for (int t = 0; t < 4; ++t) acc[b][t] = dot_u8s8(acc[b][t], q[t], bcast4(a[b]->qs + 128 * h + 32 * t + 4 * m));
          }
        }
        FORGE_UNROLL
        for (int t = 0; t < 4; ++t) {
          const int g = 8 * h + 2 * t + qq;
          const __m256i sc = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(tile + 16 + 8 * g)));
          FORGE_UNROLL
          for (int b = 0; b < B; ++b) {
            tot[b] = _mm256_add_epi32(
                tot[b], _mm256_mullo_epi32(_mm256_sub_epi32(acc[b][t], _mm256_set1_epi32(f[b]->bs32x[g])), sc));
          }
        }
      }
    }
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tile)));
    FORGE_UNROLL
    for (int b = 0; b < B; ++b) {
      s[b] = _mm256_add_ps(s[b], _mm256_mul_ps(_mm256_mul_ps(d, _mm256_set1_ps(f[b]->d)), _mm256_cvtepi32_ps(tot[b])));
    }
  }
};

// Groups [g0, g1) times B activation rows (Q8_K blocks).
template <class WB, int B, class Len>
inline void rows8_k(Len, const uint8_t* w, int64_t g0, int64_t g1, const uint8_t* acts, size_t act_stride, float* y,
                    int64_t y_stride) {
  using T = TileK<WB>;
  constexpr int64_t kNb = Len::get() / 256;
  static_assert(Len::get() % 256 == 0 && Len::get() <= kRows8MaxCols, "rows8 needs a fixed row length");
  const BlockQ8_K* a[B];
  ActK f[B][kNb];
  FORGE_UNROLL
  for (int b = 0; b < B; ++b) {
    a[b] = reinterpret_cast<const BlockQ8_K*>(acts + b * act_stride);
    for (int64_t i = 0; i < kNb; ++i) f[b][i] = act_k(a[b][i]);
  }
  for (int64_t g = g0; g < g1; ++g) {
    const uint8_t* tile = w + g * kNb * T::kBytes;
    __m256 s[B];
    FORGE_UNROLL
    for (int b = 0; b < B; ++b) s[b] = _mm256_setzero_ps();
    for (int64_t i = 0; i < kNb; ++i, tile += T::kBytes) {
      prefetch_tile(tile, T::kBytes);
      const BlockQ8_K* ai[B];
      const ActK* fi[B];
      FORGE_UNROLL
      for (int b = 0; b < B; ++b) {
        ai[b] = &a[b][i];
        fi[b] = &f[b][i];
      }
      T::template accumulate<B>(tile, ai, fi, s);
    }
    FORGE_UNROLL
    for (int b = 0; b < B; ++b) _mm256_storeu_ps(y + b * y_stride + 8 * g, s[b]);
  }
}

// Any batch, in tiles of up to 4 activation rows (2 for the K-quants, whose
// tiles need more registers).
template <class WB, class Len>
inline void matvec_rows8(Len len, const void* w, int64_t g0, int64_t g1, const void* acts, size_t act_stride,
                         int batch, float* y, int64_t y_stride) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(acts);
  if constexpr (std::is_same_v<WB, BlockQ4_K> || std::is_same_v<WB, BlockQ6_K>) {
    for (int b0 = 0; b0 < batch; b0 += 2) {
      const uint8_t* a = ab + b0 * act_stride;
      float* yb = y + b0 * y_stride;
      if (batch - b0 >= 2) {
        rows8_k<WB, 2>(len, wb, g0, g1, a, act_stride, yb, y_stride);
      } else {
        rows8_k<WB, 1>(len, wb, g0, g1, a, act_stride, yb, y_stride);
      }
    }
  } else {
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
}

}  // namespace forge::kernels::cpu::avx2
