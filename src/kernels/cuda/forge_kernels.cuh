// CUDA kernels of the decode and prefill step: the interpreter's arithmetic
// (src/interp/interpreter.cpp) on an NVIDIA GPU. Generated model.cu files
// include this header and instantiate the templates with the model's
// dimensions; kernels trust their callers (shapes checked at compile time by
// the code generator) and never fail.
//
// Matching the interpreter: its quantized dot products quantize the
// activation row first (Q8_0, Q8_1 or Q8_K: quant::vec_dot_type) and sum
// d_w * d_a * sum(q_w * q_a). Here the activation row is quantized the same
// way and dequantized again (`fake_quant_*`), and the weights are dequantized
// to floats: the same products, summed in another order, so the logits agree
// to float rounding rather than to the activation quantization error.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/split_layout.h"
#include "quant/blocks.h"

namespace forge::kernels::cuda {

using namespace forge::quant;

// ---------------------------------------------------------------------------
// Loads. Weight rows start 64-byte aligned (weights.bin); blocks inside a row
// are only 2-byte aligned for the 18/34/210-byte formats.

__device__ __forceinline__ float h2f(uint16_t h) { return __half2float(__ushort_as_half(h)); }
__device__ __forceinline__ float bf2f(uint16_t h) { return __uint_as_float(static_cast<uint32_t>(h) << 16); }
__device__ __forceinline__ uint16_t ld16(const uint8_t* p) { return __ldg(reinterpret_cast<const uint16_t*>(p)); }
__device__ __forceinline__ uint4 ld128(const uint8_t* p) { return __ldg(reinterpret_cast<const uint4*>(p)); }

// Programmatic dependent launch (launch.cuh): a kernel launched with it may
// start while the kernel before it in the stream still runs. pdl_wait()
// returns once that kernel has finished and its writes are visible (at once
// when there is none): every kernel calls it before it reads or writes
// activations, the KV cache or the step's parameters (reading weights before
// it is safe: nothing writes them). pdl_launch_dependents() lets the next
// kernel start (its blocks are placed as this kernel's leave the SMs).
__device__ __forceinline__ void pdl_wait() { asm volatile("griddepcontrol.wait;" ::: "memory"); }
__device__ __forceinline__ void pdl_launch_dependents() { asm volatile("griddepcontrol.launch_dependents;" :::); }

// ---------------------------------------------------------------------------
// A "unit" is 32 consecutive weights of a row: one block of the 32-element
// formats, one sub-block of a 256-element K-quant super-block, 32 floats or
// halves. dequant_unit<B>(row, u, v) writes weights 32u .. 32u+31 to v.

template <class B> struct UnitTraits;
template <> struct UnitTraits<BlockF32> { static constexpr bool kKnown = true; };
template <> struct UnitTraits<BlockF16> { static constexpr bool kKnown = true; };
template <> struct UnitTraits<BlockBF16> { static constexpr bool kKnown = true; };
template <> struct UnitTraits<BlockQ4_0> { static constexpr bool kKnown = true; };
template <> struct UnitTraits<BlockQ4_1> { static constexpr bool kKnown = true; };
template <> struct UnitTraits<BlockQ5_0> { static constexpr bool kKnown = true; };
template <> struct UnitTraits<BlockQ5_1> { static constexpr bool kKnown = true; };
template <> struct UnitTraits<BlockQ8_0> { static constexpr bool kKnown = true; };
template <> struct UnitTraits<BlockQ4_K> { static constexpr bool kKnown = true; };
template <> struct UnitTraits<BlockQ5_K> { static constexpr bool kKnown = true; };
template <> struct UnitTraits<BlockQ6_K> { static constexpr bool kKnown = true; };

template <class B>
__device__ __forceinline__ void dequant_unit(const uint8_t* row, int u, float* v);

template <>
__device__ __forceinline__ void dequant_unit<BlockF32>(const uint8_t* row, int u, float* v) {
  const uint8_t* p = row + u * 128;
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const uint4 q = ld128(p + 16 * i);
    v[4 * i] = __uint_as_float(q.x);
    v[4 * i + 1] = __uint_as_float(q.y);
    v[4 * i + 2] = __uint_as_float(q.z);
    v[4 * i + 3] = __uint_as_float(q.w);
  }
}

template <bool kBf16>
__device__ __forceinline__ void dequant_half_unit(const uint8_t* row, int u, float* v) {
  const uint8_t* p = row + u * 64;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const uint4 q = ld128(p + 16 * i);
    const uint32_t w[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const uint16_t lo = static_cast<uint16_t>(w[j] & 0xffff), hi = static_cast<uint16_t>(w[j] >> 16);
      v[8 * i + 2 * j] = kBf16 ? bf2f(lo) : h2f(lo);
      v[8 * i + 2 * j + 1] = kBf16 ? bf2f(hi) : h2f(hi);
    }
  }
}
template <>
__device__ __forceinline__ void dequant_unit<BlockF16>(const uint8_t* row, int u, float* v) {
  dequant_half_unit<false>(row, u, v);
}
template <>
__device__ __forceinline__ void dequant_unit<BlockBF16>(const uint8_t* row, int u, float* v) {
  dequant_half_unit<true>(row, u, v);
}

// One weight of a float row (rows whose length is not a multiple of 32).
template <class B>
__device__ __forceinline__ float dequant_elem(const uint8_t* row, int e);
template <>
__device__ __forceinline__ float dequant_elem<BlockF32>(const uint8_t* row, int e) {
  return __ldg(reinterpret_cast<const float*>(row) + e);
}
template <>
__device__ __forceinline__ float dequant_elem<BlockF16>(const uint8_t* row, int e) {
  return h2f(ld16(row + 2 * e));
}
template <>
__device__ __forceinline__ float dequant_elem<BlockBF16>(const uint8_t* row, int e) {
  return bf2f(ld16(row + 2 * e));
}

// 16 nibble bytes (2-byte aligned) into lo[16], hi[16].
__device__ __forceinline__ void load_nibbles(const uint8_t* qs, int* lo, int* hi) {
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const uint16_t b = ld16(qs + 2 * j);
    lo[2 * j] = b & 0xf;
    hi[2 * j] = (b >> 4) & 0xf;
    lo[2 * j + 1] = (b >> 8) & 0xf;
    hi[2 * j + 1] = (b >> 12) & 0xf;
  }
}

template <>
__device__ __forceinline__ void dequant_unit<BlockQ4_1>(const uint8_t* row, int u, float* v) {
  const uint8_t* b = row + u * sizeof(BlockQ4_1);
  const float d = h2f(ld16(b));  // the minimum: unit_min (the dot product adds min * activation sum)
  int lo[16], hi[16];
  load_nibbles(b + 4, lo, hi);
#pragma unroll
  for (int j = 0; j < 16; ++j) {
    v[j] = static_cast<float>(lo[j]) * d;
    v[j + 16] = static_cast<float>(hi[j]) * d;
  }
}

template <>
__device__ __forceinline__ void dequant_unit<BlockQ5_0>(const uint8_t* row, int u, float* v) {
  const uint8_t* b = row + u * sizeof(BlockQ5_0);
  const float d = h2f(ld16(b));
  const uint32_t qh = ld16(b + 2) | (static_cast<uint32_t>(ld16(b + 4)) << 16);
  int lo[16], hi[16];
  load_nibbles(b + 6, lo, hi);
#pragma unroll
  for (int j = 0; j < 16; ++j) {
    // int before the -16: qh is unsigned, and (unsigned)(q) - 16 wrapped to ~4e9 for q < 16.
    const int q0 = lo[j] | static_cast<int>(((qh >> j) & 1u) << 4);
    const int q1 = hi[j] | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
    v[j] = static_cast<float>(q0 - 16) * d;
    v[j + 16] = static_cast<float>(q1 - 16) * d;
  }
}

template <>
__device__ __forceinline__ void dequant_unit<BlockQ5_1>(const uint8_t* row, int u, float* v) {
  const uint8_t* b = row + u * sizeof(BlockQ5_1);
  const float d = h2f(ld16(b));  // the minimum: unit_min
  const uint32_t qh = ld16(b + 4) | (static_cast<uint32_t>(ld16(b + 6)) << 16);
  int lo[16], hi[16];
  load_nibbles(b + 8, lo, hi);
#pragma unroll
  for (int j = 0; j < 16; ++j) {
    v[j] = static_cast<float>(lo[j] | (((qh >> j) & 1) << 4)) * d;
    v[j + 16] = static_cast<float>(hi[j] | (((qh >> (j + 16)) & 1) << 4)) * d;
  }
}

// Formats with an additive minimum per block (Q4_1, Q5_1): their dequant_unit
// leaves it out; the dot product adds min * (the activation block's sum), as
// the interpreter's vec_dot adds m * s with s the Q8_1 block's stored sum.
template <class B> struct HasMin { static constexpr bool kValue = false; };
template <> struct HasMin<BlockQ4_1> { static constexpr bool kValue = true; };
template <> struct HasMin<BlockQ5_1> { static constexpr bool kValue = true; };
template <class B>
__device__ __forceinline__ float unit_min(const uint8_t* row, int u) {
  return h2f(ld16(row + u * sizeof(B) + 2));
}

// Q8_0 and Q4_0 matrices are stored in split rows (split_layout.h: a row's
// quants, then its F16 scales), every other type as GGUF blocks.
// dequant_row_unit<B, K> reads unit u of a row of K weights either way.
template <class B> struct Split {
  static constexpr bool kValue = std::is_same_v<B, BlockQ8_0> || std::is_same_v<B, BlockQ4_0>;
};
template <class B, int K> struct SplitRow {
  static constexpr GgmlType kType = std::is_same_v<B, BlockQ8_0> ? GgmlType::Q8_0 : GgmlType::Q4_0;
  static constexpr int kQuantBytes = static_cast<int>(split_quant_bytes(kType, K));
  static constexpr int kStride = static_cast<int>(split_row_stride(kType, K));
};
template <class B, int K>
__device__ __forceinline__ float split_scale(const uint8_t* row, int u) {
  return h2f(ld16(row + SplitRow<B, K>::kQuantBytes + 2 * u));
}
__device__ __forceinline__ int8_t byte_of(const uint32_t* w, int j) { return static_cast<int8_t>(w[j / 4] >> (8 * (j % 4))); }
template <class B, int K>
__device__ __forceinline__ void dequant_row_unit(const uint8_t* row, int u, float* v) {
  if constexpr (std::is_same_v<B, BlockQ8_0>) {
    const float d = split_scale<B, K>(row, u);
    const uint4 a = ld128(row + 32 * u), b = ld128(row + 32 * u + 16);
    const uint32_t w[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
#pragma unroll
    for (int j = 0; j < 32; ++j) v[j] = static_cast<float>(byte_of(w, j)) * d;
  } else if constexpr (std::is_same_v<B, BlockQ4_0>) {
    // byte j holds weight j (low nibble) and j + 16 (high), levels - 8
    const float d = split_scale<B, K>(row, u);
    const uint4 a = ld128(row + 16 * u);
    const uint32_t w[4] = {a.x, a.y, a.z, a.w};
#pragma unroll
    for (int j = 0; j < 16; ++j) {
      const int q = static_cast<uint8_t>(byte_of(w, j));
      v[j] = static_cast<float>((q & 0xf) - 8) * d;
      v[j + 16] = static_cast<float>((q >> 4) - 8) * d;
    }
  } else {
    dequant_unit<B>(row, u, v);
  }
}

// Q4_K/Q5_K scale and min of sub-block j (quant/blocks.h kquant_scale_min).
__device__ __forceinline__ void kq_scale_min(int j, const uint8_t* s, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

template <>
__device__ __forceinline__ void dequant_unit<BlockQ4_K>(const uint8_t* row, int u, float* v) {
  const uint8_t* b = row + (u / 8) * sizeof(BlockQ4_K);
  const int j = u % 8;
  const float d = h2f(ld16(b)), dmin = h2f(ld16(b + 2));
  uint8_t s[12];
#pragma unroll
  for (int i = 0; i < 12; ++i) s[i] = __ldg(b + 4 + i);
  int sc, m;
  kq_scale_min(j, s, &sc, &m);
  const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
  const uint8_t* q = b + 16 + 32 * (j / 2);  // 16-byte aligned: blocks are 144 bytes
  const int shift = (j & 1) * 4;
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const uint4 w = ld128(q + 16 * h);
    const uint32_t ws[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
    for (int k = 0; k < 16; ++k) {
      const int byte = (ws[k / 4] >> (8 * (k % 4))) & 0xff;
      v[16 * h + k] = d1 * static_cast<float>((byte >> shift) & 0xf) - m1;
    }
  }
}

template <>
__device__ __forceinline__ void dequant_unit<BlockQ5_K>(const uint8_t* row, int u, float* v) {
  const uint8_t* b = row + (u / 8) * sizeof(BlockQ5_K);
  const int j = u % 8;
  const float d = h2f(ld16(b)), dmin = h2f(ld16(b + 2));
  uint8_t s[12];
#pragma unroll
  for (int i = 0; i < 12; ++i) s[i] = __ldg(b + 4 + i);
  int sc, m;
  kq_scale_min(j, s, &sc, &m);
  const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
  const uint8_t* qh = b + 16;                 // 32 bytes, bit j of byte l: high bit of weight l
  const uint8_t* ql = b + 48 + 32 * (j / 2);  // 176-byte blocks: 16-byte aligned
  const int shift = (j & 1) * 4;
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const uint4 w = ld128(ql + 16 * h);
    const uint4 hb = ld128(qh + 16 * h);
    const uint32_t ws[4] = {w.x, w.y, w.z, w.w};
    const uint32_t hs[4] = {hb.x, hb.y, hb.z, hb.w};
#pragma unroll
    for (int k = 0; k < 16; ++k) {
      const int byte = (ws[k / 4] >> (8 * (k % 4))) & 0xff;
      const int hbit = (hs[k / 4] >> (8 * (k % 4) + j)) & 1;
      v[16 * h + k] = d1 * static_cast<float>(((byte >> shift) & 0xf) + (hbit << 4)) - m1;
    }
  }
}

template <>
__device__ __forceinline__ void dequant_unit<BlockQ6_K>(const uint8_t* row, int u, float* v) {
  const uint8_t* b = row + (u / 8) * sizeof(BlockQ6_K);
  const int half = (u % 8) / 4, g = u % 4;  // weights 128*half + 32*g + l
  const float d = h2f(ld16(b + 208));
  const uint8_t* ql = b + 64 * half + 32 * (g & 1);
  const uint8_t* qh = b + 128 + 32 * half;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192 + 8 * half);
  const float d0 = d * static_cast<float>(sc[2 * g]), d1 = d * static_cast<float>(sc[2 * g + 1]);
  const int lshift = (g / 2) * 4, hshift = 2 * g;
#pragma unroll
  for (int l2 = 0; l2 < 16; ++l2) {
    const uint16_t lq = ld16(ql + 2 * l2), hq = ld16(qh + 2 * l2);
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const int l = 2 * l2 + e;
      const int lo = ((lq >> (8 * e)) >> lshift) & 0xf;
      const int hi = ((hq >> (8 * e)) >> hshift) & 3;
      v[l] = (l < 16 ? d0 : d1) * static_cast<float>((lo | (hi << 4)) - 32);
    }
  }
}

// ---------------------------------------------------------------------------
// Activation quantization (see the top of this file). x and out hold `rows`
// rows of K floats; out may alias x.

// The interpreter's clamp before rounding (quant/rounding.h clamp_q8): NaN -> 0.
__device__ __forceinline__ float clamp_q8(float v) { return v != v ? 0.0f : fminf(fmaxf(v, -127.0f), 127.0f); }

// Where a Q8_0 / Q8_1 quantized activation row set goes (each index a 32-value
// block i of row-major rows): vals: the fake-quantized floats q * half(d) the
// float kernels multiply; sums (Q8_1, or null): half(sum(q) * d); levels and
// scales: q as int8 and half(d), for the integer kernels (mmq.cuh, the decode
// matvec of Q8_0 / Q4_0: __dp4a), which then compute the interpreter's
// integer block sums.
struct Q8Out {
  float* vals;
  float* sums;
  int8_t* levels;
  float* scales;
};

// Q8_0 and Q8_1 levels as quant::quantize_row writes them: d = amax / 127
// (float), q = roundf(clamp(x * (1 / d))), d stored as half.
__global__ void fake_quant_q8_0(const float* x, Q8Out o, int blocks) {
  pdl_wait();
  pdl_launch_dependents();
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= blocks) return;
  const float* xb = x + 32 * static_cast<size_t>(i);
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = fmaxf(amax, fabsf(xb[j]));
  const float d = __fdiv_rn(amax, 127.0f);
  const float id = d != 0 ? __fdiv_rn(1.0f, d) : 0.0f;
  const float dh = __half2float(__float2half_rn(d));
  float q[32];
  int sum = 0;
  for (int j = 0; j < 32; ++j) {
    q[j] = roundf(clamp_q8(__fmul_rn(xb[j], id)));
    sum += static_cast<int>(q[j]);
  }
  float* v = o.vals + 32 * static_cast<size_t>(i);
  for (int j = 0; j < 32; ++j) v[j] = __fmul_rn(q[j], dh);
  if (o.sums) o.sums[i] = __half2float(__float2half_rn(__fmul_rn(static_cast<float>(sum), d)));
  if (o.levels) {
    uint32_t* l = reinterpret_cast<uint32_t*>(o.levels + 32 * static_cast<size_t>(i));
    for (int j = 0; j < 8; ++j) {
      l[j] = (static_cast<uint32_t>(static_cast<int>(q[4 * j])) & 0xffu) |
             (static_cast<uint32_t>(static_cast<int>(q[4 * j + 1])) & 0xffu) << 8 |
             (static_cast<uint32_t>(static_cast<int>(q[4 * j + 2])) & 0xffu) << 16 |
             (static_cast<uint32_t>(static_cast<int>(q[4 * j + 3])) & 0xffu) << 24;
    }
    o.scales[i] = dh;
  }
}

// fake_quant_q8_0 for a block held one value a lane by a full warp (the
// producer of the values quantizes them as it writes them: one launch less).
// The same numbers: the block maximum by shuffles (max is exact in any order).
// e: the value's index (its block: e / 32).
__device__ __forceinline__ void warp_fake_quant_q8_0(float v, const Q8Out& o, size_t e) {
  float amax = fabsf(v);
#pragma unroll
  for (int off = 16; off > 0; off /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
  const float d = __fdiv_rn(amax, 127.0f);
  const float id = d != 0 ? __fdiv_rn(1.0f, d) : 0.0f;
  const float q = roundf(clamp_q8(__fmul_rn(v, id)));
  const float dh = __half2float(__float2half_rn(d));
  o.vals[e] = __fmul_rn(q, dh);
  if (o.sums) {
    int sum = static_cast<int>(q);
#pragma unroll
    for (int off = 16; off > 0; off /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, off);
    if (threadIdx.x % 32 == 0) o.sums[e / 32] = __half2float(__float2half_rn(__fmul_rn(static_cast<float>(sum), d)));
  }
  if (o.levels) {
    o.levels[e] = static_cast<int8_t>(static_cast<int>(q));
    if (threadIdx.x % 32 == 0) o.scales[e / 32] = dh;
  }
}

// Q8_K levels: iscale = -127 / (the value of largest magnitude), q = rint(x * iscale), d = 1 / iscale.
__global__ void fake_quant_q8_k(const float* x, float* out, int blocks) {
  pdl_wait();
  pdl_launch_dependents();
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= blocks) return;
  const float* xb = x + 256 * static_cast<size_t>(i);
  float* o = out + 256 * static_cast<size_t>(i);
  float amax = 0.0f, vmax = 0.0f;
  for (int j = 0; j < 256; ++j) {
    const float ax = fabsf(xb[j]);
    if (ax > amax) {
      amax = ax;
      vmax = xb[j];
    }
  }
  if (amax == 0.0f) {
    for (int j = 0; j < 256; ++j) o[j] = 0.0f;
    return;
  }
  const float iscale = __fdiv_rn(-127.f, vmax);
  const float d = __fdiv_rn(1.0f, iscale);
  for (int j = 0; j < 256; ++j) {
    const float q = fminf(127.0f, rintf(clamp_q8(__fmul_rn(iscale, xb[j]))));
    o[j] = __fmul_rn(d, q);
  }
}

// ---------------------------------------------------------------------------
// Matrix-vector products: y[b][r] = W[r] . x[b] (+ bias[r]) for `batch`
// activation rows. One warp a weight row; lane i dequantizes units i, i+32,
// ... once and multiplies them with up to kCols activation rows.

constexpr int kMatvecWarps = 4;

// One weight matrix of a launch. Projections that read the same input with
// the same weight type (q, k and v; gate and up) go as the N parts of one
// launch: fewer launches per token, and the small k/v matrices no longer
// leave most of the GPU idle in a launch of their own.
struct MatvecPart {
  const uint8_t* w;
  size_t row_bytes;
  int rows;
  float* y;
  const float* bias;
};
template <int N> struct MatvecParts {
  MatvecPart p[N];
  // Thread blocks for all parts, each taking `rows_per_block` rows of one part.
  int blocks(int rows_per_block) const {
    int b = 0;
    for (int i = 0; i < N; ++i) b += (p[i].rows + rows_per_block - 1) / rows_per_block;
    return b;
  }
};

// The part thread block `block` works on, and its first row there.
template <int N>
__device__ __forceinline__ const MatvecPart& part_of(const MatvecParts<N>& ps, int block, int rows_per_block,
                                                     int* row0) {
#pragma unroll
  for (int i = 0; i < N - 1; ++i) {
    const int nb = (ps.p[i].rows + rows_per_block - 1) / rows_per_block;
    if (block < nb) {
      *row0 = block * rows_per_block;
      return ps.p[i];
    }
    block -= nb;
  }
  *row0 = block * rows_per_block;
  return ps.p[N - 1];
}

template <class B, int K, int kCols, int N>
__global__ void __launch_bounds__(32 * kMatvecWarps) matvec(const __grid_constant__ MatvecParts<N> ps,
                                                            const float* __restrict__ x,
                                                            const float* __restrict__ xsum, int batch) {
  pdl_wait();
  pdl_launch_dependents();
  constexpr int kUnits = K / 32;
  const int lane = threadIdx.x % 32;
  int row0 = 0;
  const MatvecPart& part = part_of(ps, blockIdx.x, kMatvecWarps, &row0);
  const int r = row0 + threadIdx.x / 32, rows = part.rows;
  float* __restrict__ y = part.y;
  const float* __restrict__ bias = part.bias;
  if (r >= rows) return;
  const uint8_t* wr = part.w + static_cast<size_t>(r) * part.row_bytes;
  for (int b0 = 0; b0 < batch; b0 += kCols) {
    float acc[kCols];
#pragma unroll
    for (int c = 0; c < kCols; ++c) acc[c] = 0.0f;
    if constexpr (K % 32 != 0) {
      // Float rows of odd lengths (stories260K's 172): one weight at a time.
      for (int e = lane; e < K; e += 32) {
        const float we = dequant_elem<B>(wr, e);
#pragma unroll
        for (int c = 0; c < kCols; ++c) {
          if (b0 + c < batch) acc[c] += we * __ldg(x + static_cast<size_t>(b0 + c) * K + e);
        }
      }
    } else {
      for (int u = lane; u < kUnits; u += 32) {
        float v[32];
        dequant_row_unit<B, K>(wr, u, v);
        float m = 0.0f;
        if constexpr (HasMin<B>::kValue) m = unit_min<B>(wr, u);
#pragma unroll
        for (int c = 0; c < kCols; ++c) {
          if (b0 + c < batch) {
            if constexpr (HasMin<B>::kValue) acc[c] += m * __ldg(xsum + static_cast<size_t>(b0 + c) * kUnits + u);
            const float4* xp = reinterpret_cast<const float4*>(x + static_cast<size_t>(b0 + c) * K + 32 * u);
#pragma unroll
            for (int i = 0; i < 8; ++i) {
              const float4 xv = __ldg(xp + i);
              acc[c] += v[4 * i] * xv.x + v[4 * i + 1] * xv.y + v[4 * i + 2] * xv.z + v[4 * i + 3] * xv.w;
            }
          }
        }
      }
    }
#pragma unroll
    for (int c = 0; c < kCols; ++c) {
      float s = acc[c];
#pragma unroll
      for (int off = 16; off > 0; off /= 2) s += __shfl_xor_sync(0xffffffffu, s, off);
      if (lane == 0 && b0 + c < batch) y[static_cast<size_t>(b0 + c) * rows + r] = bias ? s + bias[r] : s;
    }
  }
}

// Decode (one activation row) for F16 and Q6_K (the output matrix of the
// Q4_0 presets): the lanes of a warp read consecutive bytes of the weight row
// (coalesced), instead of one 64/210-byte unit per lane as matvec does. F16:
// 8 halves (16 bytes) a lane; Q6_K: byte l of each 32-byte run. The same
// products as matvec in another float order.
template <class B> struct CoalescedDot { static constexpr bool kValue = false; };
template <> struct CoalescedDot<BlockF16> { static constexpr bool kValue = true; };
template <> struct CoalescedDot<BlockQ6_K> { static constexpr bool kValue = true; };

template <class B, int K>
__device__ __forceinline__ float row_dot_impl(const uint8_t* __restrict__ wr, const float* __restrict__ x, int lane) {
  float acc = 0.0f;
  if constexpr (std::is_same_v<B, BlockQ6_K>) {
    // Lane l takes weights 128 h + 32 g + l of each super-block (h < 2, g < 4):
    // byte l of each 32-byte run of ql and qh, so a warp reads 32 consecutive
    // bytes a load (the old kernel gave a lane one 32-weight unit: 32 lanes, 32
    // scattered 2-byte loads). The products as dequant_unit<BlockQ6_K>.
#pragma unroll 4
    for (int b = 0; b < K / 256; ++b) {
      const uint8_t* blk = wr + static_cast<size_t>(b) * sizeof(BlockQ6_K);
      const float d = h2f(ld16(blk + 208));
      const float* xb = x + 256 * b + lane;
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int ql0 = __ldg(blk + 64 * h + lane), ql1 = __ldg(blk + 64 * h + 32 + lane);
        const int qh = __ldg(blk + 128 + 32 * h + lane);
        const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192 + 8 * h);
#pragma unroll
        for (int g = 0; g < 4; ++g) {
          const int lo = ((g & 1) ? ql1 : ql0) >> (4 * (g / 2)) & 0xf;
          const int hi = (qh >> (2 * g)) & 3;
          const float dg = d * static_cast<float>(__ldg(sc + 2 * g + lane / 16));
          acc += dg * static_cast<float>((lo | (hi << 4)) - 32) * __ldg(xb + 128 * h + 32 * g);
        }
      }
    }
  } else {  // F16, K % 8 == 0: rows are 16-byte aligned
#pragma unroll 8
    for (int c = lane; c < K / 8; c += 32) {
      const uint4 w = ld128(wr + 16 * static_cast<size_t>(c));
      const float4 x0 = __ldg(reinterpret_cast<const float4*>(x + 8 * c));
      const float4 x1 = __ldg(reinterpret_cast<const float4*>(x + 8 * c + 4));
      const float2 w0 = __half22float2(*reinterpret_cast<const __half2*>(&w.x));
      const float2 w1 = __half22float2(*reinterpret_cast<const __half2*>(&w.y));
      const float2 w2 = __half22float2(*reinterpret_cast<const __half2*>(&w.z));
      const float2 w3 = __half22float2(*reinterpret_cast<const __half2*>(&w.w));
      acc += w0.x * x0.x + w0.y * x0.y + w1.x * x0.z + w1.y * x0.w + w2.x * x1.x + w2.y * x1.y + w3.x * x1.z +
             w3.y * x1.w;
    }
  }
  return acc;
}

template <class B, int K, int N>
__global__ void __launch_bounds__(32 * kMatvecWarps)
    matvec_coalesced(const __grid_constant__ MatvecParts<N> ps, const float* __restrict__ x) {
  pdl_wait();
  pdl_launch_dependents();
  const int lane = threadIdx.x % 32;
  int row0 = 0;
  const MatvecPart& part = part_of(ps, blockIdx.x, kMatvecWarps, &row0);
  const int r = row0 + threadIdx.x / 32;
  if (r >= part.rows) return;
  float s = row_dot_impl<B, K>(part.w + static_cast<size_t>(r) * part.row_bytes, x, lane);
#pragma unroll
  for (int off = 16; off > 0; off /= 2) s += __shfl_xor_sync(0xffffffffu, s, off);
  if (lane == 0) part.y[r] = part.bias ? s + part.bias[r] : s;
}

// Decode of Q8_0 / Q4_0 weights in split rows (split_layout.h) with the
// activation's int8 levels and scales (Q8Out): the interpreter's integer
// block sums (__dp4a), each scaled (d_w * d_a) * sumi as quant_legacy.cpp's
// vec_dot does, then summed over the row in another float order.
//
// A warp takes kRows consecutive rows and a lane the row's 16-byte pieces
// lane, lane + 32, ... (one piece: half a Q8_0 block, a whole Q4_0 block):
// every load is 16 bytes and coalesced, and all of a warp's loads (about 8 a
// lane) are issued before the first is used. They are issued before
// pdl_wait(): weights do not depend on the kernel before, so with
// programmatic dependent launch they stream while that kernel finishes.
// The activation's levels and scales are staged in shared memory once per
// block (Q4_0: low and high halves of each block apart, so that a warp's
// 16-byte reads hit distinct banks). Q8_0: the two lanes of a block add
// their halves' integer sums by one shuffle (exact), the even lane scales it.
constexpr int kSplitWarps = 8;
template <class B, int K> struct SplitMatvec {
  static constexpr bool kQ8 = std::is_same_v<B, BlockQ8_0>;
  static constexpr int kPieces = SplitRow<B, K>::kQuantBytes / 16;  // 16-byte pieces a row
  static constexpr int kPerLane = (kPieces + 31) / 32;
  static constexpr int kRows = kPerLane >= 8 ? 1 : kPerLane >= 4 ? 2 : 4;  // rows a warp
  static constexpr int kRowsPerBlock = kRows * kSplitWarps;
};

template <class B, int K, int N>
__global__ void __launch_bounds__(32 * kSplitWarps)
    matvec_split(const __grid_constant__ MatvecParts<N> ps, const int8_t* __restrict__ levels,
                 const float* __restrict__ scales) {
  using M = SplitMatvec<B, K>;
  constexpr int kBlocks = K / 32;
  // Q8_0: piece p holds levels 16p ..; Q4_0: lo[p] levels 32p .. 32p + 15, hi[p] the next 16.
  __shared__ uint4 act[M::kQ8 ? M::kPieces : 2 * M::kPieces];
  __shared__ float act_d[kBlocks];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  int row0 = 0;
  const MatvecPart& part = part_of(ps, blockIdx.x, M::kRowsPerBlock, &row0);
  row0 += warp * M::kRows;
  uint4 wq[M::kRows][M::kPerLane];
  float wd[M::kRows][M::kPerLane];
#pragma unroll
  for (int i = 0; i < M::kRows; ++i) {
    const int r = min(row0 + i, part.rows - 1);  // rows past the end load the last row, write nothing
    const uint8_t* wr = part.w + static_cast<size_t>(r) * part.row_bytes;
#pragma unroll
    for (int j = 0; j < M::kPerLane; ++j) {
      const int p = lane + 32 * j;
      if (M::kPieces % 32 == 0 || p < M::kPieces) {
        wq[i][j] = ld128(wr + 16 * p);
        wd[i][j] = split_scale<B, K>(wr, M::kQ8 ? p / 2 : p);
      } else {
        wq[i][j] = make_uint4(0, 0, 0, 0);
        wd[i][j] = 0.0f;
      }
    }
  }
  pdl_wait();
  pdl_launch_dependents();
  const uint4* lv = reinterpret_cast<const uint4*>(levels);
  for (int e = threadIdx.x; e < 2 * kBlocks; e += 32 * kSplitWarps) {  // 16 levels at a time
    if constexpr (M::kQ8) act[e] = __ldg(lv + e);
    else act[(e % 2) * M::kPieces + e / 2] = __ldg(lv + e);
  }
  for (int b = threadIdx.x; b < kBlocks; b += 32 * kSplitWarps) act_d[b] = __ldg(scales + b);
  __syncthreads();
  if (row0 >= part.rows) return;
  float acc[M::kRows];
#pragma unroll
  for (int i = 0; i < M::kRows; ++i) acc[i] = 0.0f;
#pragma unroll
  for (int j = 0; j < M::kPerLane; ++j) {
    const int p = lane + 32 * j;
    const bool live = M::kPieces % 32 == 0 || p < M::kPieces;
    if constexpr (M::kQ8) {
      const uint4 a = live ? act[p] : make_uint4(0, 0, 0, 0);
      const float da = live ? act_d[p / 2] : 0.0f;
#pragma unroll
      for (int i = 0; i < M::kRows; ++i) {
        const uint4 w = wq[i][j];
        int s = __dp4a(static_cast<int>(w.x), static_cast<int>(a.x), 0);
        s = __dp4a(static_cast<int>(w.y), static_cast<int>(a.y), s);
        s = __dp4a(static_cast<int>(w.z), static_cast<int>(a.z), s);
        s = __dp4a(static_cast<int>(w.w), static_cast<int>(a.w), s);
        s += __shfl_xor_sync(0xffffffffu, s, 1);  // the block's other half
        if (lane % 2 == 0) acc[i] += wd[i][j] * da * static_cast<float>(s);
      }
    } else if (live) {
      const uint4 alo = act[p], ahi = act[M::kPieces + p];
      const float da = act_d[p];
#pragma unroll
      for (int i = 0; i < M::kRows; ++i) {
        const uint4 w = wq[i][j];
        const uint32_t q[4] = {w.x, w.y, w.z, w.w};
        const int al[4] = {static_cast<int>(alo.x), static_cast<int>(alo.y), static_cast<int>(alo.z),
                           static_cast<int>(alo.w)};
        const int ah[4] = {static_cast<int>(ahi.x), static_cast<int>(ahi.y), static_cast<int>(ahi.z),
                           static_cast<int>(ahi.w)};
        int s = 0;
#pragma unroll
        for (int k = 0; k < 4; ++k) {
          s = __dp4a(static_cast<int>(__vsub4(q[k] & 0x0f0f0f0fu, 0x08080808u)), al[k], s);
          s = __dp4a(static_cast<int>(__vsub4((q[k] >> 4) & 0x0f0f0f0fu, 0x08080808u)), ah[k], s);
        }
        acc[i] += wd[i][j] * da * static_cast<float>(s);
      }
    }
  }
#pragma unroll
  for (int i = 0; i < M::kRows; ++i) {
    float s = acc[i];
#pragma unroll
    for (int off = 16; off > 0; off /= 2) s += __shfl_xor_sync(0xffffffffu, s, off);
    const int r = row0 + i;
    if (lane == 0 && r < part.rows) part.y[r] = part.bias ? s + part.bias[r] : s;
  }
}

// ---------------------------------------------------------------------------
// Elementwise and row ops. `params` is the step's device parameter block:
// params[0] = position of the first token, params[1 + t] = token t.

template <class B, int W>
__global__ void embed(const uint8_t* table, size_t row_bytes, float scale, const int* params, float* out) {
  pdl_wait();
  pdl_launch_dependents();
  const int t = blockIdx.y;
  const uint8_t* row = table + static_cast<size_t>(params[1 + t]) * row_bytes;
  for (int u = blockIdx.x * blockDim.x + threadIdx.x; u < W / 32; u += gridDim.x * blockDim.x) {
    float v[32];
    dequant_row_unit<B, W>(row, u, v);
    if constexpr (HasMin<B>::kValue) {  // dequant_unit leaves the minimum out (see HasMin)
      const float m = unit_min<B>(row, u);
#pragma unroll
      for (int j = 0; j < 32; ++j) v[j] += m;
    }
    float* o = out + static_cast<size_t>(t) * W + 32 * u;
#pragma unroll
    for (int j = 0; j < 32; ++j) o[j] = scale != 1.0f ? v[j] * scale : v[j];
  }
}

template <int kThreads>
__device__ double block_sum(double v, double* scratch) {
#pragma unroll
  for (int off = 16; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off);
  __syncthreads();
  if (threadIdx.x % 32 == 0) scratch[threadIdx.x / 32] = v;
  __syncthreads();
  double s = 0.0;
#pragma unroll
  for (int i = 0; i < kThreads / 32; ++i) s += scratch[i];
  return s;
}

// One block a row: in += residual (if given), then for each group of `group`
// values out = norm(in) * weight (+ bias), in double sums as the interpreter.
// With q.vals (group % 32 == 0), out is also quantized into q as
// fake_quant_q8_0 would write it: the next projection's input.
constexpr int kNormThreads = 256;
__global__ void __launch_bounds__(kNormThreads)
    norm_rows(float* in, const float* residual, float* out, const float* weight, const float* bias, int width,
              int group, bool layer_norm, bool row_per_group, float eps, float offset, Q8Out q) {
  pdl_wait();
  pdl_launch_dependents();
  __shared__ double scratch[kNormThreads / 32];
  float* x = in + static_cast<size_t>(blockIdx.x) * width;
  float* y = out + static_cast<size_t>(blockIdx.x) * width;
  if (residual) {
    const float* r = residual + static_cast<size_t>(blockIdx.x) * width;
    for (int j = threadIdx.x; j < width; j += kNormThreads) x[j] += r[j];
    __syncthreads();
  }
  for (int g0 = 0; g0 < width; g0 += group) {
    double mean = 0.0;
    if (layer_norm) {
      double s = 0.0;
      for (int j = threadIdx.x; j < group; j += kNormThreads) s += x[g0 + j];
      mean = block_sum<kNormThreads>(s, scratch) / group;
    }
    double ss = 0.0;
    for (int j = threadIdx.x; j < group; j += kNormThreads) {
      const double c = x[g0 + j] - mean;
      ss += c * c;
    }
    ss = block_sum<kNormThreads>(ss, scratch);
    const float scale = static_cast<float>(1.0 / sqrt(ss / group + eps));
    const float* wg = row_per_group ? weight + g0 : weight;
    for (int j = threadIdx.x; j < group; j += kNormThreads) {
      const float v = static_cast<float>(x[g0 + j] - mean) * scale * (wg[j] + offset);
      const float yv = bias ? v + bias[j] : v;
      y[g0 + j] = yv;
      if (q.vals) warp_fake_quant_q8_0(yv, q, static_cast<size_t>(blockIdx.x) * width + g0 + j);  // whole warps
    }
    __syncthreads();  // out may alias in: finish this group before the next reads
  }
}

// Rotates the first rope_dims dims of each query and key head of n tokens.
__global__ void rope(float* q, float* k, int n_head, int n_head_kv, int head_dim, int rope_dims, bool adjacent,
                     const float* inv_freq, float rope_scale, const int* params) {
  pdl_wait();
  pdl_launch_dependents();
  const int half = rope_dims / 2;
  const int t = blockIdx.y;
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (n_head + n_head_kv) * half) return;
  const int h = idx / half, i = idx % half;
  float* x = h < n_head ? q + (static_cast<size_t>(t) * n_head + h) * head_dim
                        : k + (static_cast<size_t>(t) * n_head_kv + (h - n_head)) * head_dim;
  const double p = (params[0] + t) / static_cast<double>(rope_scale);
  const double theta = p * inv_freq[i];
  const float cs = static_cast<float>(cos(theta)), sn = static_cast<float>(sin(theta));
  const int a = adjacent ? 2 * i : i;
  const int c = adjacent ? 2 * i + 1 : i + half;
  const float x0 = x[a], x1 = x[c];
  x[a] = __fsub_rn(__fmul_rn(x0, cs), __fmul_rn(x1, sn));
  x[c] = __fadd_rn(__fmul_rn(x0, sn), __fmul_rn(x1, cs));
}

// Appends n tokens' keys and values (F16) at positions params[0] + t.
__device__ __forceinline__ void kv_store(__half* p, float v) { *p = __float2half_rn(v); }
__device__ __forceinline__ void kv_store(float* p, float v) { *p = v; }
__device__ __forceinline__ float kv_load(const __half* p) { return __half2float(*p); }
__device__ __forceinline__ float kv_load(const float* p) { return *p; }
__device__ __forceinline__ float2 kv_load2(const __half* p) { return __half22float2(*reinterpret_cast<const __half2*>(p)); }
__device__ __forceinline__ float2 kv_load2(const float* p) { return *reinterpret_cast<const float2*>(p); }

// rope, then kv_write, in one launch: the rotated key pairs go to the cache
// as they are computed; the key dims past rope_dims and the values are copied.
template <class KvT>
__global__ void rope_kv(float* q, float* k, const float* v, KvT* k_cache, KvT* v_cache, int n_head, int n_head_kv,
                        int head_dim, int head_dim_v, int rope_dims, bool adjacent, const float* inv_freq,
                        float rope_scale, const int* params) {
  pdl_wait();
  pdl_launch_dependents();
  const int half = rope_dims / 2;
  const int t = blockIdx.y;
  const int k_width = n_head_kv * head_dim, v_width = n_head_kv * head_dim_v;
  const size_t at = static_cast<size_t>(params[0] + t);
  const int pairs = (n_head + n_head_kv) * half, pass = n_head_kv * (head_dim - rope_dims);
  int idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx < pairs) {
    const int h = idx / half, i = idx % half;
    const bool is_k = h >= n_head;
    float* x = !is_k ? q + (static_cast<size_t>(t) * n_head + h) * head_dim
                     : k + (static_cast<size_t>(t) * n_head_kv + (h - n_head)) * head_dim;
    const double p = (params[0] + t) / static_cast<double>(rope_scale);
    const double theta = p * inv_freq[i];
    const float cs = static_cast<float>(cos(theta)), sn = static_cast<float>(sin(theta));
    const int a = adjacent ? 2 * i : i;
    const int c = adjacent ? 2 * i + 1 : i + half;
    const float x0 = x[a], x1 = x[c];
    const float ya = __fsub_rn(__fmul_rn(x0, cs), __fmul_rn(x1, sn));
    const float yc = __fadd_rn(__fmul_rn(x0, sn), __fmul_rn(x1, cs));
    x[a] = ya;
    x[c] = yc;
    if (is_k) {
      KvT* kr = k_cache + at * k_width + static_cast<size_t>(h - n_head) * head_dim;
      kv_store(kr + a, ya);
      kv_store(kr + c, yc);
    }
    return;
  }
  idx -= pairs;
  if (idx < pass) {
    const int kvh = idx / (head_dim - rope_dims), d = rope_dims + idx % (head_dim - rope_dims);
    const size_t j = static_cast<size_t>(kvh) * head_dim + d;
    kv_store(k_cache + at * k_width + j, k[static_cast<size_t>(t) * k_width + j]);
    return;
  }
  idx -= pass;
  if (idx < v_width) kv_store(v_cache + at * v_width + idx, v[static_cast<size_t>(t) * v_width + idx]);
}

// KvT: __half (the default cache) or float (FORGE_CUDA_KV_F32=1: the
// interpreter's `forge logits` cache, for checking logits against it).
template <class KvT>
__global__ void kv_write(const float* k, const float* v, KvT* k_cache, KvT* v_cache, int k_width, int v_width,
                         const int* params) {
  pdl_wait();
  pdl_launch_dependents();
  const int t = blockIdx.y;
  const size_t at = static_cast<size_t>(params[0] + t);
  for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < k_width + v_width; j += gridDim.x * blockDim.x) {
    if (j < k_width) {
      kv_store(k_cache + at * k_width + j, k[static_cast<size_t>(t) * k_width + j]);
    } else {
      const int jv = j - k_width;
      kv_store(v_cache + at * v_width + jv, v[static_cast<size_t>(t) * v_width + jv]);
    }
  }
}

// Causal (optionally windowed) attention of query head blockIdx.x of token
// blockIdx.y over the cache. Scores live in dynamic shared memory
// (max context floats). The weighted sum of values splits the positions
// among kAttnThreads / HDV thread groups, then adds the groups' sums.
constexpr int kAttnThreads = 256;
// With qo.vals (HDV % 32 == 0), the output is also quantized into qo as
// fake_quant_q8_0 would write it (the output projection's input).
template <int HD, int HDV, int NH, int NKV, class KvT = __half>
__global__ void __launch_bounds__(kAttnThreads)
    attention(const float* q, float* out, const KvT* k_cache, const KvT* v_cache, int window, float scale,
              float cap, const int* params, Q8Out qo = {}) {
  pdl_wait();
  pdl_launch_dependents();
  extern __shared__ float smem[];
  static_assert(HDV <= kAttnThreads, "a value head fits one block");
  constexpr int kGroup = NH / NKV, kKW = NKV * HD, kVW = NKV * HDV;
  constexpr int kParts = kAttnThreads / HDV;
  __shared__ float qs[HD];
  __shared__ float red[kAttnThreads / 32];
  __shared__ float partial[kParts * HDV];
  const int h = blockIdx.x, t = blockIdx.y, kvh = h / kGroup;
  const int p = params[0] + t;
  const int start = window > 0 ? max(0, p - window + 1) : 0;
  const int len = p - start + 1;
  for (int d = threadIdx.x; d < HD; d += kAttnThreads) qs[d] = q[(static_cast<size_t>(t) * NH + h) * HD + d];
  __syncthreads();
  float mx = -INFINITY;
  for (int j = threadIdx.x; j < len; j += kAttnThreads) {
    const KvT* kr = k_cache + static_cast<size_t>(start + j) * kKW + kvh * HD;
    float s = 0.0f;
#pragma unroll 8
    for (int d = 0; d < HD / 2; ++d) {
      const float2 kv = kv_load2(kr + 2 * d);
      s += qs[2 * d] * kv.x + qs[2 * d + 1] * kv.y;
    }
    s *= scale;
    if (cap > 0.0f) s = cap * tanhf(s / cap);
    smem[j] = s;
    mx = fmaxf(mx, s);
  }
#pragma unroll
  for (int off = 16; off > 0; off /= 2) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
  if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = mx;
  __syncthreads();
  mx = red[0];
  for (int i = 1; i < kAttnThreads / 32; ++i) mx = fmaxf(mx, red[i]);
  float sum = 0.0f;
  for (int j = threadIdx.x; j < len; j += kAttnThreads) {
    const float e = expf(smem[j] - mx);
    smem[j] = e;
    sum += e;
  }
#pragma unroll
  for (int off = 16; off > 0; off /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, off);
  __syncthreads();
  if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = sum;
  __syncthreads();
  sum = 0.0f;
  for (int i = 0; i < kAttnThreads / 32; ++i) sum += red[i];
  const float inv_sum = 1.0f / sum;
  const int d = threadIdx.x % HDV, part = threadIdx.x / HDV;
  float o = 0.0f;
  if (part < kParts) {
    for (int j = part; j < len; j += kParts) {
      o += smem[j] * inv_sum * kv_load(v_cache + static_cast<size_t>(start + j) * kVW + kvh * HDV + d);
    }
    partial[part * HDV + d] = o;
  }
  __syncthreads();
  if (threadIdx.x < HDV) {
    float s = 0.0f;
    for (int i = 0; i < kParts; ++i) s += partial[i * HDV + threadIdx.x];
    const size_t e = (static_cast<size_t>(t) * NH + h) * HDV + threadIdx.x;
    out[e] = s;
    if constexpr (HDV % 32 == 0) {
      if (qo.vals) warp_fake_quant_q8_0(s, qo, e);  // whole warps: HDV % 32 == 0
    }
  }
}

// Prefill attention: a block takes kPaQueries consecutive tokens of one
// query head and walks the cache in chunks of kPaKeys positions staged in
// shared memory (each key and value read once per kPaQueries queries instead
// of once per query), with the running maximum and sum of an online softmax
// (Milakov & Gimelshein 2018; the FlashAttention loop without tensor cores).
// 16 threads a query: two scores of a chunk each, then 4 consecutive output
// dims of each 64. Shared memory is read 16 bytes at a time (rows padded by 4
// floats: a quarter-warp's 8 rows fall in 8 different groups of 4 banks): the
// kernel was bound by shared-memory load instructions, two a multiply-add.
// The same scores, softmax and sums as attention(), rounded in another order.
constexpr int kPaQueries = 16, kPaKeys = 32, kPaThreads = 256;
template <int HD, int HDV> struct PrefillAttnTakes {
  static constexpr bool kValue = HD <= 128 && HDV <= 128 && HD % 4 == 0 && HDV % 64 == 0;
};
template <int HD, int HDV, int NH, int NKV, class KvT = __half>
__global__ void __launch_bounds__(kPaThreads)
    attention_prefill(const float* q, float* out, const KvT* k_cache, const KvT* v_cache, int window, float scale,
                      float cap, const int* params, int n) {
  pdl_wait();
  pdl_launch_dependents();
  static_assert(PrefillAttnTakes<HD, HDV>::kValue, "attention_prefill: heads up to 128, value heads of 64s");
  constexpr int kGroup = NH / NKV, kKW = NKV * HD, kVW = NKV * HDV, kDims = HDV / 64;
  constexpr int kQs = HD + 4, kPs = kPaKeys + 4;  // padded row strides (floats), 16-byte multiples
  __shared__ alignas(16) float qs[kPaQueries * kQs];
  __shared__ alignas(16) float ks[kPaKeys * kQs];
  __shared__ alignas(16) float vs[kPaKeys * HDV];
  __shared__ alignas(16) float ps[kPaQueries * kPs];
  const int h = blockIdx.x, kvh = h / kGroup, t0 = blockIdx.y * kPaQueries;
  const int tid = threadIdx.x, qi = tid / 16, sub = tid % 16;
  const int pos0 = params[0];
  const int t = t0 + qi, p = pos0 + t;  // this thread's query and its position
  const bool live = t < n;
  const int start = window > 0 ? max(0, p - window + 1) : 0;
  const int last = pos0 + min(n, t0 + kPaQueries) - 1;  // the block's last key position
  const int first = window > 0 ? max(0, pos0 + t0 - window + 1) : 0;
  for (int e = tid; e < kPaQueries * HD; e += kPaThreads) {
    const int i = e / HD, d = e % HD;
    qs[i * kQs + d] = t0 + i < n ? q[(static_cast<size_t>(t0 + i) * NH + h) * HD + d] : 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  float4 o[kDims];
#pragma unroll
  for (int r = 0; r < kDims; ++r) o[r] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  const float4* q4 = reinterpret_cast<const float4*>(qs + qi * kQs);
  for (int j0 = first / kPaKeys * kPaKeys; j0 <= last; j0 += kPaKeys) {
    __syncthreads();  // qs written / the previous chunk's ks, vs, ps read
    for (int e = tid; e < kPaKeys * HD; e += kPaThreads) {
      const int j = e / HD, d = e % HD;
      ks[j * kQs + d] = j0 + j <= last ? kv_load(k_cache + static_cast<size_t>(j0 + j) * kKW + kvh * HD + d) : 0.0f;
    }
    for (int e = tid; e < kPaKeys * HDV; e += kPaThreads) {
      const int j = e / HDV, d = e % HDV;
      vs[j * HDV + d] = j0 + j <= last ? kv_load(v_cache + static_cast<size_t>(j0 + j) * kVW + kvh * HDV + d) : 0.0f;
    }
    __syncthreads();
    float sc[2];
#pragma unroll
    for (int c = 0; c < 2; ++c) {
      const int j = sub + 16 * c, kp = j0 + j;
      const float4* k4 = reinterpret_cast<const float4*>(ks + j * kQs);
      float s = 0.0f;
#pragma unroll 8
      for (int d = 0; d < HD / 4; ++d) {
        const float4 a = q4[d], b = k4[d];
        s += a.x * b.x;
        s += a.y * b.y;
        s += a.z * b.z;
        s += a.w * b.w;
      }
      s *= scale;
      if (cap > 0.0f) s = cap * tanhf(s / cap);
      sc[c] = live && kp >= start && kp <= p ? s : -INFINITY;
    }
    float mc = fmaxf(sc[0], sc[1]);
#pragma unroll
    for (int off = 8; off > 0; off /= 2) mc = fmaxf(mc, __shfl_xor_sync(0xffffffffu, mc, off));
    const float mn = fmaxf(m, mc);
    const float alpha = m == -INFINITY ? 0.0f : expf(m - mn);
    const float p0 = sc[0] == -INFINITY ? 0.0f : expf(sc[0] - mn);
    const float p1 = sc[1] == -INFINITY ? 0.0f : expf(sc[1] - mn);
    float rs = p0 + p1;
#pragma unroll
    for (int off = 8; off > 0; off /= 2) rs += __shfl_xor_sync(0xffffffffu, rs, off);
    l = l * alpha + rs;
    m = mn;
    ps[qi * kPs + sub] = p0;
    ps[qi * kPs + sub + 16] = p1;
    __syncwarp();  // a query's 16 threads are one half-warp
    const float4* p4 = reinterpret_cast<const float4*>(ps + qi * kPs);
#pragma unroll
    for (int r = 0; r < kDims; ++r) {
      float4 acc = make_float4(o[r].x * alpha, o[r].y * alpha, o[r].z * alpha, o[r].w * alpha);
      const float4* v4 = reinterpret_cast<const float4*>(vs) + 16 * r + sub;  // dims 64 r + 4 sub ..
#pragma unroll
      for (int j4 = 0; j4 < kPaKeys / 4; ++j4) {
        const float4 pj = p4[j4];
        const float pw[4] = {pj.x, pj.y, pj.z, pj.w};
#pragma unroll
        for (int u = 0; u < 4; ++u) {
          const float4 v = v4[(4 * j4 + u) * (HDV / 4)];
          acc.x += pw[u] * v.x;
          acc.y += pw[u] * v.y;
          acc.z += pw[u] * v.z;
          acc.w += pw[u] * v.w;
        }
      }
      o[r] = acc;
    }
  }
  if (live) {
    const float inv = 1.0f / l;
#pragma unroll
    for (int r = 0; r < kDims; ++r) {
      float4* dst = reinterpret_cast<float4*>(out + (static_cast<size_t>(t) * NH + h) * HDV + 64 * r + 4 * sub);
      *dst = make_float4(o[r].x * inv, o[r].y * inv, o[r].z * inv, o[r].w * inv);
    }
  }
}

// gate = act(gate) * up: SiLU, or GELU with the tanh approximation (Hendrycks & Gimpel).
// With q.vals (rows of a multiple of 32, count too), the result is also
// quantized into q as fake_quant_q8_0 would write it, as norm_rows does.
__global__ void glu(float* g, const float* u, size_t count, bool gelu, Q8Out q) {
  pdl_wait();
  pdl_launch_dependents();
  const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const float x = g[i];
  float r;
  if (!gelu) {
    r = x / (1.0f + expf(-x)) * u[i];
  } else {
    const float k = 0.7978845608028654f;  // sqrt(2/pi)
    r = 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x))) * u[i];
  }
  g[i] = r;
  if (q.vals) warp_fake_quant_q8_0(r, q, i);
}

__global__ void add(float* dst, const float* src, size_t count) {
  pdl_wait();
  pdl_launch_dependents();
  const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) dst[i] += src[i];
}

__global__ void softcap(float* x, size_t count, float cap) {
  pdl_wait();
  pdl_launch_dependents();
  const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) x[i] = cap * tanhf(x[i] / cap);
}

// Copies row `from` of a width-wide buffer to row 0 (the tail runs on the last row only).
__global__ void copy_row(float* buf, int width, int from) {
  pdl_wait();
  pdl_launch_dependents();
  for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < width; j += gridDim.x * blockDim.x) {
    buf[j] = buf[static_cast<size_t>(from) * width + j];
  }
}

// Greedy sampling on the GPU: the first index of the largest logit (as
// std::max_element) becomes the next token; the position advances. With it
// a decode graph can run token after token with nothing crossing PCIe.
constexpr int kArgmaxThreads = 1024;
// out_tokens[position] records the token chosen at each position.
__global__ void __launch_bounds__(kArgmaxThreads) argmax_next(const float* logits, int n, int* params, int* out_tokens) {
  pdl_wait();
  pdl_launch_dependents();
  __shared__ float bv[kArgmaxThreads / 32];
  __shared__ int bi[kArgmaxThreads / 32];
  float best = -INFINITY;
  int idx = 0x7fffffff;
  for (int i = threadIdx.x; i < n; i += kArgmaxThreads) {
    const float v = logits[i];
    if (v > best) {
      best = v;
      idx = i;
    }
  }
#pragma unroll
  for (int off = 16; off > 0; off /= 2) {
    const float ov = __shfl_xor_sync(0xffffffffu, best, off);
    const int oi = __shfl_xor_sync(0xffffffffu, idx, off);
    if (ov > best || (ov == best && oi < idx)) {
      best = ov;
      idx = oi;
    }
  }
  if (threadIdx.x % 32 == 0) {
    bv[threadIdx.x / 32] = best;
    bi[threadIdx.x / 32] = idx;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int i = 1; i < kArgmaxThreads / 32; ++i) {
      if (bv[i] > best || (bv[i] == best && bi[i] < idx)) {
        best = bv[i];
        idx = bi[i];
      }
    }
    if (idx == 0x7fffffff) idx = 0;  // all NaN: a defined token
    out_tokens[params[0]] = idx;
    params[0] += 1;
    params[1] = idx;
  }
}

}  // namespace forge::kernels::cuda

namespace forge::kernels::cuda {

// Host-side launch of y = W x for `batch` rows and every part (one weight
// matrix each, same type and row length, same input): one column per pass for
// a decode step, eight for prefill (the weight row is dequantized once per
// eight activation rows).
// xsum: the activation blocks' sums (Q8_1: Q4_1 and Q5_1 weights), else unused.
// levels, scales: the input's int8 levels (Q8Out; Q8_0 / Q4_0 weights), or
// null for the float kernels.
template <class B, int K, int N>
void launch_matvec_parts(cudaStream_t s, const MatvecParts<N>& ps, const float* x, const float* xsum, int batch,
                         const int8_t* levels = nullptr, const float* scales = nullptr) {
  // if constexpr: the decode kernels exist only for the types and row lengths they serve.
  if constexpr (Split<B>::kValue) {
    if (batch == 1 && levels) {
      constexpr int kRows = SplitMatvec<B, K>::kRowsPerBlock;
      launch(matvec_split<B, K, N>, dim3(ps.blocks(kRows)), dim3(32 * kSplitWarps), 0, s, ps, levels, scales);
      return;
    }
  } else if constexpr (CoalescedDot<B>::kValue && K % 32 == 0) {
    if (batch == 1) {
      launch(matvec_coalesced<B, K, N>, dim3(ps.blocks(kMatvecWarps)), dim3(32 * kMatvecWarps), 0, s, ps, x);
      return;
    }
  }
  const dim3 grid(ps.blocks(kMatvecWarps));
  if (batch == 1) {
    launch(matvec<B, K, 1, N>, grid, dim3(32 * kMatvecWarps), 0, s, ps, x, xsum, batch);
  } else {
    launch(matvec<B, K, 8, N>, grid, dim3(32 * kMatvecWarps), 0, s, ps, x, xsum, batch);
  }
}

template <class B, int K>
void launch_matvec(cudaStream_t s, const uint8_t* w, size_t row_bytes, int rows, const float* x, const float* xsum,
                   int batch, float* y, const float* bias, const int8_t* levels = nullptr,
                   const float* scales = nullptr) {
  launch_matvec_parts<B, K, 1>(s, MatvecParts<1>{{{w, row_bytes, rows, y, bias}}}, x, xsum, batch, levels, scales);
}

inline unsigned blocks_for(size_t count, unsigned threads) { return static_cast<unsigned>((count + threads - 1) / threads); }

}  // namespace forge::kernels::cuda
