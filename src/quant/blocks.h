// Block layouts of the GGML weight formats, byte for byte as ggml's
// `ggml-common.h` defines them (GGUF stores these blocks back to back).
// Half-precision fields are raw IEEE half bits (see fp16.h).
#pragma once

#include <cstdint>

#include "format/ggml_types.h"

namespace forge::quant {

inline constexpr int64_t kQK32 = 32;   // ggml QK4_0 .. QK8_1
inline constexpr int64_t kQKK = 256;   // ggml QK_K, the K-quant super-block

struct BlockF32 { float v; };
struct BlockF16 { uint16_t v; };
struct BlockBF16 { uint16_t v; };

// x = d * (q - 8), q a nibble; elements j and j+16 share byte j.
struct BlockQ4_0 { uint16_t d; uint8_t qs[16]; };
// x = d * q + m.
struct BlockQ4_1 { uint16_t d; uint16_t m; uint8_t qs[16]; };
// x = d * (q - 16), q = nibble | 5th bit from qh (bit j for element j).
struct BlockQ5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; };
struct BlockQ5_1 { uint16_t d; uint16_t m; uint8_t qh[4]; uint8_t qs[16]; };
struct BlockQ8_0 { uint16_t d; int8_t qs[32]; };
// s = d * sum(qs), used by the Q4_1/Q5_1 dot products for the minimum term.
struct BlockQ8_1 { uint16_t d; uint16_t s; int8_t qs[32]; };

// 16 sub-blocks of 16; scales[j] = scale (low 4 bits) | min (high 4 bits).
struct BlockQ2_K { uint8_t scales[16]; uint8_t qs[64]; uint16_t d; uint16_t dmin; };
// 2 low bits in qs, the third in hmask; 16 6-bit signed scales packed in 12 bytes.
struct BlockQ3_K { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; uint16_t d; };
// 8 sub-blocks of 32 with 6-bit scales and mins packed in 12 bytes.
struct BlockQ4_K { uint16_t d; uint16_t dmin; uint8_t scales[12]; uint8_t qs[128]; };
struct BlockQ5_K { uint16_t d; uint16_t dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; };
// 4 low bits in ql, 2 high bits in qh; 16 signed 8-bit scales.
struct BlockQ6_K { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; };
// Activations for the K-quant dot products; bsums[j] = sum of qs[16j..16j+15].
struct BlockQ8_K { float d; int8_t qs[256]; int16_t bsums[16]; };

// Sizes as ggml_types.cpp states them (and ggml-common.h asserts).
static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

// Compile-time facts per block type: its GgmlType, elements per block, and
// the block type of the activations its dot product takes.
template <class Block> struct BlockTraits;

#define FORGE_BLOCK_TRAITS(B, T, N, ACT)                   \
  template <> struct BlockTraits<B> {                      \
    static constexpr GgmlType kType = GgmlType::T;         \
    static constexpr int64_t kSize = N;                    \
    using Act = ACT;                                       \
  };
FORGE_BLOCK_TRAITS(BlockF32, F32, 1, BlockF32)
FORGE_BLOCK_TRAITS(BlockF16, F16, 1, BlockF32)
FORGE_BLOCK_TRAITS(BlockBF16, BF16, 1, BlockF32)
FORGE_BLOCK_TRAITS(BlockQ4_0, Q4_0, 32, BlockQ8_0)
FORGE_BLOCK_TRAITS(BlockQ4_1, Q4_1, 32, BlockQ8_1)
FORGE_BLOCK_TRAITS(BlockQ5_0, Q5_0, 32, BlockQ8_0)
FORGE_BLOCK_TRAITS(BlockQ5_1, Q5_1, 32, BlockQ8_1)
FORGE_BLOCK_TRAITS(BlockQ8_0, Q8_0, 32, BlockQ8_0)
FORGE_BLOCK_TRAITS(BlockQ8_1, Q8_1, 32, BlockQ8_0)
FORGE_BLOCK_TRAITS(BlockQ2_K, Q2_K, 256, BlockQ8_K)
FORGE_BLOCK_TRAITS(BlockQ3_K, Q3_K, 256, BlockQ8_K)
FORGE_BLOCK_TRAITS(BlockQ4_K, Q4_K, 256, BlockQ8_K)
FORGE_BLOCK_TRAITS(BlockQ5_K, Q5_K, 256, BlockQ8_K)
FORGE_BLOCK_TRAITS(BlockQ6_K, Q6_K, 256, BlockQ8_K)
FORGE_BLOCK_TRAITS(BlockQ8_K, Q8_K, 256, BlockQ8_K)
#undef FORGE_BLOCK_TRAITS

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K block: bytes
// 0-3 hold scales 0-3, bytes 4-7 mins 0-3 (low 6 bits each); scales and mins
// 4-7 are split between the nibbles of bytes 8-11 and the top 2 bits of 0-7.
inline void kquant_scale_min(int j, const uint8_t* s, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

// The 6-bit scale of sub-block j (0..15) of a Q3_K block, minus its bias 32:
// low 4 bits from the nibbles of bytes 0-7, top 2 bits from bytes 8-11.
inline int q3k_scale(int j, const uint8_t* s) {
  const int lo = j < 8 ? (s[j] & 0xf) : (s[j - 8] >> 4);
  const int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
  return (lo | (hi << 4)) - 32;
}

}  // namespace forge::quant
