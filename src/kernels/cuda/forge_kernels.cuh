// CUDA kernels of the decode and prefill step: the interpreter's arithmetic
// (src/interp/interpreter.cpp) on an NVIDIA GPU. Generated model.cu files
// include this header and instantiate the templates with the model's
// dimensions; kernels trust their callers (shapes checked at compile time by
// the code generator) and never fail.
//
// Matching the interpreter: its quantized dot products quantize the
// activation row first (Q8_0, Q8_1 or Q8_K: quant::vec_dot_type) and sum
// d_w * d_a * sum(q_w * q_a). Here the activation row is quantized the same
// way (`fake_quant_*`, bit for bit). Q8_0 / Q4_0 / Q5_0 weights then take the
// interpreter's integer block sums and float terms (block_term; matvec.cuh,
// mmq.cuh); other types are dequantized to floats and multiplied with the
// dequantized levels: the same products, summed in another order, so the
// logits agree to float rounding rather than to the quantization error.
// The other headers of this folder: matvec.cuh (decode matrix-vector
// kernels), mmq.cuh and gemm.cuh (prefill products), attention_mma.cuh
// (prefill attention), split_layout.h (the Q8_0 / Q4_0 weight layout),
// launch.cuh (programmatic dependent launch).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <algorithm>
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
// 16 bytes that a decode step reads once (a weight row): through the
// read-only path without a line in L1 (L1::no_allocate). H100, tg128 against
// ld128: llama-3.2-1b Q8_0 1587 -> 1638 tok/s, 3b Q8_0 545 -> 570,
// smollm2-135m Q8_0 2349 -> 2387 (docs/cuda.md, eighth session).
__device__ __forceinline__ uint4 ld128_once(const uint8_t* p) {
#if __CUDA_ARCH__ >= 700
  uint4 v;
  asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
      : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
      : "l"(p));
  return v;
#else
  return ld128(p);
#endif
}
// Thread blocks of `threads` for count items (host side).
inline unsigned blocks_for(size_t count, unsigned threads) { return static_cast<unsigned>((count + threads - 1) / threads); }

// Programmatic dependent launch (launch.cuh): a kernel launched with it may
// start while the kernel before it in the stream still runs. pdl_wait()
// returns once that kernel has finished and its writes are visible (at once
// when there is none): every kernel calls it before it reads or writes
// activations, the KV cache or the step's parameters (reading weights before
// it is safe: nothing writes them). pdl_launch_dependents() lets the next
// kernel start (its blocks are placed as this kernel's leave the SMs).
__device__ __forceinline__ void pdl_wait() { asm volatile("griddepcontrol.wait;" ::: "memory"); }
__device__ __forceinline__ void pdl_launch_dependents() { asm volatile("griddepcontrol.launch_dependents;" :::); }

// Bytes of weights that a later kernel of a decode step reads, for the
// kernel given them to bring into the L2 cache while it runs (codegen's
// decode steps, docs/cuda.md): DRAM then keeps streaming weights across the
// boundary between the two kernels, where it would idle while one kernel's
// last blocks finish and the next one's first loads start, and the later
// kernel's loads find their bytes in L2. A hint: no value depends on it.
// p: 16-byte aligned; bytes: a multiple of 16 (0: nothing).
struct L2Prefetch {
  const void* p = nullptr;
  size_t bytes = 0;
};
// Weights under this size are not worth bringing into L2 ahead (codegen's
// ranges, CudaModel::l2_prefetch; matvec_glu's later rows): their kernels are
// bound by their latency, and the extra traffic queues before their loads.
constexpr size_t kL2PrefetchMinBytes = size_t{4} << 20;
// Share `part` of `parts` of pf, asked for by the calling thread alone
// (cp.async.bulk.prefetch, sm_90; on older GPUs nothing).
__device__ __forceinline__ void prefetch_l2(const L2Prefetch& pf, unsigned part, unsigned parts) {
#if __CUDA_ARCH__ >= 900
  const size_t share = (pf.bytes / 16 + parts - 1) / parts * 16, begin = share * part;
  if (begin >= pf.bytes) return;
  const char* a = static_cast<const char*>(pf.p) + begin;
  const size_t n = min(share, pf.bytes - begin);
  constexpr size_t kPiece = size_t{1} << 20;  // the instruction's size is 32 bits
  for (size_t o = 0; o < n; o += kPiece) {
    const unsigned bytes = static_cast<unsigned>(min(kPiece, n - o));
    asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(a + o), "r"(bytes) : "memory");
  }
#endif
}

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

// One block's term of an integer dot product as the interpreter forms it
// (quant_legacy.cpp, built with -ffp-contract=off): (d_w * d_a) * sumi, each
// product rounded on its own (no FMA), so that adding the terms in the
// interpreter's order gives its float bit for bit.
__device__ __forceinline__ float block_term(float d_w, float d_a, int sumi) {
  return __fmul_rn(__fmul_rn(d_w, d_a), static_cast<float>(sumi));
}

// Q8_0 and Q8_1 levels as quant::quantize_row writes them: d = amax / 127
// (float), q = roundf(clamp(x * (1 / d))), d stored as half.
struct Q8Scale {
  float d;   // the block's scale (float)
  float id;  // 1 / d (0 for a block of zeros)
  float dh;  // d as stored (half)
};
__device__ __forceinline__ Q8Scale q8_scale(float amax) {
  const float d = __fdiv_rn(amax, 127.0f);
  return {d, d != 0 ? __fdiv_rn(1.0f, d) : 0.0f, __half2float(__float2half_rn(d))};
}
// fake_quant_q8_0 for a block held one value a lane by a full warp (the
// producer of the values quantizes them as it writes them: one launch less).
// The same numbers: the block maximum by shuffles (max is exact in any order).
// e: the value's index (its block: e / 32).
struct WarpQ8 {
  float q;   // this lane's level
  float d;   // the block's scale (float)
  float dh;  // the scale as stored (half)
};
__device__ __forceinline__ WarpQ8 warp_quant_q8_0(float v) {
  float amax = fmaxf(0.0f, fabsf(v));  // NaN ignored, as quant_legacy.cpp's abs_max: all NaN gives 0
#pragma unroll
  for (int off = 16; off > 0; off /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
  const Q8Scale s = q8_scale(amax);
  return {roundf(clamp_q8(__fmul_rn(v, s.id))), s.d, s.dh};
}
__device__ __forceinline__ void warp_fake_quant_q8_0(float v, const Q8Out& o, size_t e) {
  const WarpQ8 w = warp_quant_q8_0(v);
  o.vals[e] = __fmul_rn(w.q, w.dh);
  if (o.sums) {
    int sum = static_cast<int>(w.q);
#pragma unroll
    for (int off = 16; off > 0; off /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, off);
    if (threadIdx.x % 32 == 0) o.sums[e / 32] = __half2float(__float2half_rn(__fmul_rn(static_cast<float>(sum), w.d)));
  }
  if (o.levels) {
    o.levels[e] = static_cast<int8_t>(static_cast<int>(w.q));
    if (threadIdx.x % 32 == 0) o.scales[e / 32] = w.dh;
  }
}

// The same for a block held 4 values a lane by 8 neighbouring lanes (lanes
// 8j .. 8j + 7; every lane of the warp calls it, `active` or not). e: the
// index of v[0], a multiple of 4; o.vals 16-byte and o.levels 4-byte aligned there.
__device__ __forceinline__ void group_fake_quant_q8_0(const float (&v)[4], const Q8Out& o, size_t e, bool active) {
  float amax = fmaxf(fmaxf(0.0f, fmaxf(fabsf(v[0]), fabsf(v[1]))), fmaxf(fabsf(v[2]), fabsf(v[3])));  // NaN ignored
#pragma unroll
  for (int off = 4; off > 0; off /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
  const Q8Scale s = q8_scale(amax);
  float q[4];
  int sum = 0;
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    q[j] = roundf(clamp_q8(__fmul_rn(v[j], s.id)));
    sum += static_cast<int>(q[j]);
  }
#pragma unroll
  for (int off = 4; off > 0; off /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, off);
  if (!active) return;
  const bool first = threadIdx.x % 8 == 0;
  *reinterpret_cast<float4*>(o.vals + e) =
      make_float4(__fmul_rn(q[0], s.dh), __fmul_rn(q[1], s.dh), __fmul_rn(q[2], s.dh), __fmul_rn(q[3], s.dh));
  if (o.sums && first) o.sums[e / 32] = __half2float(__float2half_rn(__fmul_rn(static_cast<float>(sum), s.d)));
  if (o.levels) {
    *reinterpret_cast<char4*>(o.levels + e) = make_char4(static_cast<signed char>(static_cast<int>(q[0])),
                                                         static_cast<signed char>(static_cast<int>(q[1])),
                                                         static_cast<signed char>(static_cast<int>(q[2])),
                                                         static_cast<signed char>(static_cast<int>(q[3])));
    if (first) o.scales[e / 32] = s.dh;
  }
}

// x quantized block by block into o (Q8_0 / Q8_1 levels as quant::quantize_row
// writes them): 8 lanes a block, 4 values a lane, so that a warp's loads and
// stores are contiguous. blocks * 8 threads; o's parts 16-byte aligned (the
// codegen's acts regions are: launch_fake_quant_q8_0).
__global__ void fake_quant_q8_0(const float* x, Q8Out o, int blocks) {
  pdl_wait();
  pdl_launch_dependents();
  const size_t t = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x, e = 4 * t;
  const bool active = t < static_cast<size_t>(blocks) * 8;  // whole groups of 8 lanes
  float v[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  if (active) {
#pragma unroll
    for (int j = 0; j < 4; ++j) v[j] = x[e + j];
  }
  group_fake_quant_q8_0(v, o, e, active);
}
inline void launch_fake_quant_q8_0(cudaStream_t s, const float* x, const Q8Out& o, int blocks) {
  launch(fake_quant_q8_0, dim3(blocks_for(static_cast<size_t>(blocks) * 8, 256)), dim3(256), 0, s, x, o, blocks);
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
// Elementwise and row ops. `params` is the step's device parameter block:
// params[0] = position of the first token, params[1 + t] = token t.

// Unit u (32 values) of an embedding row of W values, times scale: the
// embed kernel's values, and those of the decode matvec that embeds its own
// input (matvec.cuh EmbedInput). The minimum added unfused, as the interpreter.
template <class B, int W>
__device__ __forceinline__ void embed_unit(const uint8_t* row, int u, float scale, float (&v)[32]) {
  dequant_row_unit<B, W>(row, u, v);
  if constexpr (HasMin<B>::kValue) {  // dequant_unit leaves the minimum out (see HasMin)
    const float m = unit_min<B>(row, u);
#pragma unroll
    for (int j = 0; j < 32; ++j) v[j] = __fadd_rn(v[j], m);
  }
  if (scale != 1.0f) {
#pragma unroll
    for (int j = 0; j < 32; ++j) v[j] = __fmul_rn(v[j], scale);
  }
}

template <class B, int W>
__global__ void embed(const uint8_t* table, size_t row_bytes, float scale, const int* params, float* out) {
  pdl_wait();
  pdl_launch_dependents();
  const int t = blockIdx.y;
  const uint8_t* row = table + static_cast<size_t>(params[1 + t]) * row_bytes;
  for (int u = blockIdx.x * blockDim.x + threadIdx.x; u < W / 32; u += gridDim.x * blockDim.x) {
    float v[32];
    embed_unit<B, W>(row, u, scale, v);
    float* o = out + static_cast<size_t>(t) * W + 32 * u;
#pragma unroll
    for (int j = 0; j < 32; ++j) o[j] = v[j];
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

// The statistics of one norm group of x (a block of kNormThreads threads, each
// summing values threadIdx.x, + kNormThreads, ... in double as the
// interpreter): the mean (0 for RMSNorm) and the scale 1 / sqrt(var + eps).
// Value j of the output is norm_value(x[j], ...). Shared by norm_rows and
// the decode matvec that normalizes its own input (matvec.cuh).
constexpr int kNormThreads = 256;
struct NormStats {
  double mean;
  float scale;
};
// x(i): the thread's i-th value of the group, at index(i) in it (values at
// group or past it are left out); per_thread: a constant keeps them in registers.
template <class X, class Index>
__device__ __forceinline__ NormStats norm_stats_at(X x, Index index, int per_thread, int group, bool layer_norm,
                                                   float eps, double* scratch) {
  double mean = 0.0;
  if (layer_norm) {
    double s = 0.0;
#pragma unroll
    for (int i = 0; i < per_thread; ++i) {
      if (index(i) < group) s += x(i);
    }
    mean = block_sum<kNormThreads>(s, scratch) / group;
  }
  double ss = 0.0;
#pragma unroll
  for (int i = 0; i < per_thread; ++i) {
    if (index(i) < group) {
      const double c = x(i) - mean;
      ss += c * c;
    }
  }
  ss = block_sum<kNormThreads>(ss, scratch);
  return {mean, static_cast<float>(1.0 / sqrt(ss / group + eps))};
}
// The thread's values threadIdx.x + i * kNormThreads (per_thread >= group / kNormThreads rounded up).
template <class X>
__device__ __forceinline__ NormStats norm_stats_of(X x, int per_thread, int group, bool layer_norm, float eps,
                                                   double* scratch) {
  return norm_stats_at(x, [](int i) { return static_cast<int>(threadIdx.x) + i * kNormThreads; }, per_thread, group,
                       layer_norm, eps, scratch);
}
__device__ __forceinline__ NormStats norm_stats(const float* x, int group, bool layer_norm, float eps,
                                                double* scratch) {
  return norm_stats_of([&](int i) { return x[threadIdx.x + i * kNormThreads]; },
                       (group + kNormThreads - 1) / kNormThreads, group, layer_norm, eps, scratch);
}
__device__ __forceinline__ float norm_value(float x, const NormStats& st, float w, float offset, const float* bias,
                                            int j) {
  const float v = static_cast<float>(x - st.mean) * st.scale * (w + offset);
  return bias ? v + bias[j] : v;
}

// One block a row: in += residual (if given), then for each group of `group`
// values out = norm(in) * weight (+ bias), in double sums as the interpreter.
// With q.vals (group % 32 == 0), out is also quantized into q as
// fake_quant_q8_0 would write it: the next projection's input.
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
    const NormStats st = norm_stats(x + g0, group, layer_norm, eps, scratch);
    const float* wg = row_per_group ? weight + g0 : weight;
    // kBatch values a thread loaded before any is used (the quantization's
    // shuffles would otherwise keep each load waiting for the one before).
    constexpr int kBatch = 8;
    for (int j0 = threadIdx.x; j0 < group; j0 += kBatch * kNormThreads) {
      float xv[kBatch], wv[kBatch];
#pragma unroll
      for (int b = 0; b < kBatch; ++b) {
        const int j = j0 + b * kNormThreads;
        xv[b] = j < group ? x[g0 + j] : 0.0f;
        wv[b] = j < group ? wg[j] : 0.0f;
      }
#pragma unroll
      for (int b = 0; b < kBatch; ++b) {
        const int j = j0 + b * kNormThreads;
        if (j >= group) break;  // whole warps: group % 32 == 0 where q.vals
        const float yv = norm_value(xv[b], st, wv[b], offset, bias, j);
        y[g0 + j] = yv;
        if (q.vals) warp_fake_quant_q8_0(yv, q, static_cast<size_t>(blockIdx.x) * width + g0 + j);
      }
    }
    __syncthreads();  // out may alias in: finish this group before the next reads
  }
}

// norm_rows for rows of one group of at most kPer * kNormThreads values (the
// model's norms at prefill): each thread loads its values, the residual's and
// the weights' once, all before the first is used, and keeps them in
// registers for the sums and the output. The same values a thread and the
// same sums in the same order as norm_rows: the same numbers.
template <int kPer>
__global__ void __launch_bounds__(kNormThreads)
    norm_rows_held(float* in, const float* residual, float* out, const float* weight, const float* bias, int width,
                   bool layer_norm, float eps, float offset, Q8Out q) {
  pdl_wait();
  pdl_launch_dependents();
  __shared__ double scratch[kNormThreads / 32];
  const size_t row = static_cast<size_t>(blockIdx.x) * width;
  float xv[kPer], rv[kPer], wv[kPer];
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    const int j = threadIdx.x + i * kNormThreads;
    xv[i] = j < width ? in[row + j] : 0.0f;
    rv[i] = j < width && residual ? residual[row + j] : 0.0f;
    wv[i] = j < width ? weight[j] : 0.0f;
  }
  if (residual) {
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
      const int j = threadIdx.x + i * kNormThreads;
      xv[i] += rv[i];
      if (j < width) in[row + j] = xv[i];
    }
  }
  const NormStats st = norm_stats_of([&](int i) { return xv[i]; }, kPer, width, layer_norm, eps, scratch);
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    const int j = threadIdx.x + i * kNormThreads;
    if (j >= width) break;  // whole warps: width % 32 == 0 where q.vals
    const float yv = norm_value(xv[i], st, wv[i], offset, bias, j);
    out[row + j] = yv;
    if (q.vals) warp_fake_quant_q8_0(yv, q, row + j);
  }
}

// norm_rows over `rows` rows, through norm_rows_held where a row is one group of up to 4096 values.
inline void launch_norm_rows(cudaStream_t s, int rows, float* in, const float* residual, float* out,
                             const float* weight, const float* bias, int width, int group, bool layer_norm,
                             bool row_per_group, float eps, float offset, const Q8Out& q) {
  const dim3 grid(rows), block(kNormThreads);
  const int per = (width + kNormThreads - 1) / kNormThreads;
  if (group == width && !row_per_group && per <= 16) {
    auto held = per <= 4 ? norm_rows_held<4> : per <= 8 ? norm_rows_held<8> : per <= 12 ? norm_rows_held<12>
                                                                                       : norm_rows_held<16>;
    launch(held, grid, block, 0, s, in, residual, out, weight, bias, width, layer_norm, eps, offset, q);
    return;
  }
  launch(norm_rows, grid, block, 0, s, in, residual, out, weight, bias, width, group, layer_norm, row_per_group, eps,
         offset, q);
}

// RoPE of one pair (x0, x1) at position pos (RoFormer), as the interpreter:
// theta in double, cos and sin rounded to float, products rounded one by one.
__device__ __forceinline__ float2 rope_cos_sin(int pos, float inv_freq, float rope_scale) {
  const double theta = pos / static_cast<double>(rope_scale) * inv_freq;
  return make_float2(static_cast<float>(cos(theta)), static_cast<float>(sin(theta)));
}
__device__ __forceinline__ float2 rope_rotate(float x0, float x1, float2 cs) {
  return make_float2(__fsub_rn(__fmul_rn(x0, cs.x), __fmul_rn(x1, cs.y)),
                     __fadd_rn(__fmul_rn(x0, cs.y), __fmul_rn(x1, cs.x)));
}
__device__ __forceinline__ float2 rope_pair(float x0, float x1, int pos, float inv_freq, float rope_scale) {
  return rope_rotate(x0, x1, rope_cos_sin(pos, inv_freq, rope_scale));
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
  const int a = adjacent ? 2 * i : i;
  const int c = adjacent ? 2 * i + 1 : i + half;
  const float2 y = rope_pair(x[a], x[c], params[0] + t, inv_freq[i], rope_scale);
  x[a] = y.x;
  x[c] = y.y;
}

// Appends n tokens' keys and values (F16) at positions params[0] + t.
__device__ __forceinline__ void kv_store(__half* p, float v) { *p = __float2half_rn(v); }
__device__ __forceinline__ void kv_store(float* p, float v) { *p = v; }
__device__ __forceinline__ float kv_load(const __half* p) { return __half2float(*p); }
__device__ __forceinline__ float kv_load(const float* p) { return *p; }
// v as the cache holds it (rounded to half in an F16 cache).
template <class KvT>
__device__ __forceinline__ float kv_round(float v) {
  if constexpr (std::is_same_v<KvT, __half>) return __half2float(__float2half_rn(v));
  else return v;
}

// rope, then kv_write, in one launch: the rotated key pairs go to the cache
// as they are computed; the key dims past rope_dims and the values are copied.
// One block a token: the cos and sin of its position are computed once for
// each pair index (in double, as rope_pair) and shared by all the heads.
constexpr int kRopeKvThreads = 256;
constexpr int kRopeMaxPairs = 128;  // heads of up to 256 dims (the codegen's limit)
template <class KvT>
__global__ void __launch_bounds__(kRopeKvThreads)
    rope_kv(float* q, float* k, const float* v, KvT* k_cache, KvT* v_cache, int n_head, int n_head_kv, int head_dim,
            int head_dim_v, int rope_dims, bool adjacent, const float* inv_freq, float rope_scale, const int* params) {
  __shared__ float2 cs[kRopeMaxPairs];
  pdl_wait();
  pdl_launch_dependents();
  const int half = rope_dims / 2;
  const int t = blockIdx.x, pos = params[0] + t;
  for (int i = threadIdx.x; i < half; i += blockDim.x) cs[i] = rope_cos_sin(pos, inv_freq[i], rope_scale);
  __syncthreads();
  const int k_width = n_head_kv * head_dim, v_width = n_head_kv * head_dim_v;
  const size_t at = static_cast<size_t>(pos);
  const int pairs = (n_head + n_head_kv) * half, pass = n_head_kv * (head_dim - rope_dims);
  for (int idx = threadIdx.x; idx < pairs + pass + v_width; idx += blockDim.x) {
    if (idx < pairs) {
      const int h = idx / half, i = idx % half;
      const bool is_k = h >= n_head;
      float* x = !is_k ? q + (static_cast<size_t>(t) * n_head + h) * head_dim
                       : k + (static_cast<size_t>(t) * n_head_kv + (h - n_head)) * head_dim;
      const int a = adjacent ? 2 * i : i;
      const int c = adjacent ? 2 * i + 1 : i + half;
      const float2 y = rope_rotate(x[a], x[c], cs[i]);
      x[a] = y.x;
      x[c] = y.y;
      if (is_k) {
        KvT* kr = k_cache + at * k_width + static_cast<size_t>(h - n_head) * head_dim;
        kv_store(kr + a, y.x);
        kv_store(kr + c, y.y);
      }
    } else if (idx < pairs + pass) {
      const int p = idx - pairs;
      const int kvh = p / (head_dim - rope_dims), d = rope_dims + p % (head_dim - rope_dims);
      const size_t j = static_cast<size_t>(kvh) * head_dim + d;
      kv_store(k_cache + at * k_width + j, k[static_cast<size_t>(t) * k_width + j]);
    } else {
      const int j = idx - pairs - pass;
      kv_store(v_cache + at * v_width + j, v[static_cast<size_t>(t) * v_width + j]);
    }
  }
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
// among kAttnThreads / (HDV / 2) thread groups (two dims a thread), then
// adds the groups' sums.
constexpr int kAttnThreads = 256;
// With qo.vals (HDV % 32 == 0), the output is also quantized into qo as
// fake_quant_q8_0 would write it (the output projection's input).
// With rk.k (one-token decode steps), the block also does rope_kv's work for
// its heads: it rotates its query head and its KV head's key in shared
// memory, the first block of each KV head writes that key and value to the
// cache, and every block takes the current position's key and value from
// shared memory (rounded as the cache holds them) instead of the cache.
struct RopeKv {
  const float* k = nullptr;  // this token's keys and values (unrotated)
  const float* v = nullptr;
  const float* inv_freq = nullptr;
  float rope_scale = 1.0f;
  int rope_dims = 0;
  bool adjacent = false;
  L2Prefetch next;  // weights of a projection after the next (the next one's blocks load theirs early)
};
// Keys are read in tiles of kRows positions copied to shared memory with
// coalesced loads (a thread's own row of the cache, read straight, cost a
// 32-byte sector a 4-byte load), rows padded to an odd number of words so
// that the threads of a warp, each on its own row, hit distinct banks. The
// products and sums are the same as reading the cache directly.
template <int HD, class KvT> struct AttnTile {
  static constexpr int kRowWords = HD * static_cast<int>(sizeof(KvT)) / 4 + 1;
  static constexpr int kRows = 32 * (256 / kRowWords < 1 ? 1 : 256 / kRowWords > 8 ? 8 : 256 / kRowWords);
  static constexpr size_t kBytes = static_cast<size_t>(kRows) * kRowWords * 4;
};
// One-token steps also copy the values of the first tile's positions to
// shared memory (before pdl_wait(), with the keys): rows of HDV values.
template <int HD, int HDV, class KvT> struct AttnTiles {
  static constexpr size_t kValueBytes = static_cast<size_t>(AttnTile<HD, KvT>::kRows) * HDV * sizeof(KvT);
  static constexpr size_t kBytes = AttnTile<HD, KvT>::kBytes + kValueBytes;
};
// attention's dynamic shared memory: the key tile, the value tile, then one score a position.
template <int HD, int HDV = HD>
constexpr size_t attention_smem_bytes(int max_context) {
  const size_t f = AttnTiles<HD, HDV, float>::kBytes, h = AttnTiles<HD, HDV, __half>::kBytes;
  return (f > h ? f : h) + static_cast<size_t>(max_context) * sizeof(float);
}

// Asynchronous copies from global to shared memory (cp.async), waited for by
// cp_async_wait_all / cp_async_wait<N> (at most N of this thread's committed
// groups still in flight), which a __syncthreads() then publishes.
__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}
__device__ __forceinline__ void cp_async4(void* dst, const void* src) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4;" ::"r"(smem_addr(dst)), "l"(src) : "memory");
}
// Bytes (4, 8 or 16) from src to dst; zeros when !valid (nothing is read).
template <int Bytes>
__device__ __forceinline__ void cp_async(void* dst, const void* src, bool valid) {
  static_assert(Bytes == 4 || Bytes == 8 || Bytes == 16, "cp.async copies 4, 8 or 16 bytes");
  if constexpr (Bytes == 16) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src),
                 "r"(valid ? 16 : 0)
                 : "memory");
  } else {
    asm volatile("cp.async.ca.shared.global [%0], [%1], %2, %3;\n" ::"r"(smem_addr(dst)), "l"(src), "n"(Bytes),
                 "r"(valid ? Bytes : 0)
                 : "memory");
  }
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_all;" ::: "memory"); }
// Four 8x8 matrices of 16-bit elements (16-byte rows) from shared memory;
// lanes 8i .. 8i+7 give matrix i's row addresses, lane l receives the 4
// bytes at (row l / 4, bytes 4 (l % 4) ..) of each.
__device__ __forceinline__ void ldsm_x4(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p))
               : "memory");
}

template <int HD, int HDV, int NH, int NKV, class KvT = __half>
__global__ void __launch_bounds__(kAttnThreads)
    attention(const float* q, float* out, KvT* k_cache, KvT* v_cache, int window, float scale,
              float cap, const int* params, Q8Out qo = {}, RopeKv rk = {}) {
  extern __shared__ float dyn[];
  using Tile = AttnTile<HD, KvT>;
  static_assert(HD % 2 == 0 && HD * sizeof(KvT) % 4 == 0, "key rows of whole words");
  static_assert(HDV * sizeof(KvT) % 4 == 0, "value rows of whole words");
  uint32_t* tile = reinterpret_cast<uint32_t*>(dyn);
  KvT* vtile = reinterpret_cast<KvT*>(dyn + Tile::kRows * Tile::kRowWords);  // one-token steps
  float* smem = reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(dyn) + AttnTiles<HD, HDV, KvT>::kBytes);  // scores
  static_assert(HDV % 2 == 0 && HDV <= kAttnThreads, "a value head of pairs of dims fits one block");
  static_assert(HD <= kAttnThreads, "a thread a rotated pair");
  constexpr int kGroup = NH / NKV, kKW = NKV * HD, kVW = NKV * HDV;
  constexpr int kPairs = HDV / 2, kParts = kAttnThreads / kPairs;  // the weighted sum's threads
  constexpr int kWords = Tile::kRowWords - 1;  // a key row's words
  constexpr int kVWords = HDV * static_cast<int>(sizeof(KvT)) / 4;
  constexpr int kVPieces = HDV * sizeof(KvT) % 16 == 0 ? HDV * static_cast<int>(sizeof(KvT)) / 16 : 0;  // a value row's
  __shared__ float qs[HD];
  __shared__ float red_max[kAttnThreads / 32];
  __shared__ float partial[kParts * HDV], part_sum[kParts];
  const int h = blockIdx.x, t = blockIdx.y, kvh = h / kGroup;
  // One-token steps start before pdl_wait() on what the kernels before did
  // not write (launch.cuh): the position (argmax_next or the host set it
  // before the step), the cache's earlier positions (earlier steps wrote
  // them) and the rotation of this position. The keys and values of up to
  // Tile::kRows earlier positions are copied to shared memory meanwhile.
  // This runs while the q/k/v projection before finishes, and on small
  // models it takes as long (smollm2-135m: ~1.8 us), so its two parts go to
  // different threads: the rotation (cos and sin in double precision) to
  // threads 0 .. 2 half - 1, the copies to the others (all threads where
  // the rotation takes them all), the values 16 bytes at a time where rows allow.
  const int half = rk.rope_dims / 2;
  float2 rot = make_float2(0.0f, 0.0f);
  int p = 0, ahead = 0;  // ahead: cached positions start .. start + ahead - 1 on their way to the tiles
  if (rk.k) {
    p = params[0];
    const int first = window > 0 ? max(0, p - window + 1) : 0;
    ahead = min(Tile::kRows, p - first);
    const int rotating = 2 * half < kAttnThreads ? 2 * half : 0;
    if (threadIdx.x < 2 * half) rot = rope_cos_sin(p, rk.inv_freq[threadIdx.x % half], rk.rope_scale);
    if (static_cast<int>(threadIdx.x) >= rotating) {
      const int c = threadIdx.x - rotating, copiers = kAttnThreads - rotating;
      for (int e = c; e < ahead * kWords; e += copiers) {
        const int jj = e / kWords, w = e % kWords;
        cp_async4(tile + jj * Tile::kRowWords + w,
                  reinterpret_cast<const uint32_t*>(k_cache + static_cast<size_t>(first + jj) * kKW + kvh * HD) + w);
      }
      const KvT* vsrc = v_cache + static_cast<size_t>(first) * kVW + kvh * HDV;
      bool pieces = false;  // rows of whole 16-byte pieces
      if constexpr (kVPieces > 0) {
        pieces = reinterpret_cast<uintptr_t>(v_cache) % 16 == 0;
        for (int e = c; pieces && e < ahead * kVPieces; e += copiers) {
          const int jj = e / kVPieces, w = e % kVPieces;
          cp_async<16>(reinterpret_cast<uint4*>(vtile + jj * HDV) + w,
                       reinterpret_cast<const uint4*>(vsrc + static_cast<size_t>(jj) * kVW) + w, true);
        }
      }
      if (!pieces) {
        for (int e = c; e < ahead * kVWords; e += copiers) {
          const int jj = e / kVWords, w = e % kVWords;
          cp_async4(reinterpret_cast<uint32_t*>(vtile + jj * HDV) + w,
                    reinterpret_cast<const uint32_t*>(vsrc + static_cast<size_t>(jj) * kVW) + w);
        }
      }
    }
    if (threadIdx.x == 0) prefetch_l2(rk.next, blockIdx.x, gridDim.x);
  }
  pdl_wait();
  pdl_launch_dependents();
  if (!rk.k) p = params[0] + t;
  const int start = window > 0 ? max(0, p - window + 1) : 0;
  const int len = p - start + 1;
  const float* qh = q + (static_cast<size_t>(t) * NH + h) * HD;
  __shared__ float k_now[HD];
  __shared__ float v_now[HDV];
  if (rk.k) {  // one token (t == 0): rope_kv's work for this block's heads
    // Each thread loads what it rotates or copies (no barrier in between):
    // pair i of q (thread i) and of k (thread half + i), then the dims past
    // rope_dims and the value. The block's first head writes the KV cache.
    const bool writer = h % kGroup == 0;
    KvT* kc = k_cache + static_cast<size_t>(p) * kKW + kvh * HD;
    KvT* vc = v_cache + static_cast<size_t>(p) * kVW + kvh * HDV;
    if (threadIdx.x < 2 * half) {
      const int i = threadIdx.x, pi = i % half;
      const int a = rk.adjacent ? 2 * pi : pi, c = rk.adjacent ? 2 * pi + 1 : pi + half;
      const float* x = i < half ? qh : rk.k + kvh * HD;
      const float2 y = rope_rotate(x[a], x[c], rot);
      if (i < half) {
        qs[a] = y.x;
        qs[c] = y.y;
      } else {
        if (writer) {
          kv_store(kc + a, y.x);
          kv_store(kc + c, y.y);
        }
        k_now[a] = kv_round<KvT>(y.x);
        k_now[c] = kv_round<KvT>(y.y);
      }
    }
    for (int d = 2 * half + threadIdx.x; d < HD; d += kAttnThreads) {
      qs[d] = qh[d];
      const float kd = rk.k[kvh * HD + d];
      if (writer) kv_store(kc + d, kd);
      k_now[d] = kv_round<KvT>(kd);
    }
    for (int d = threadIdx.x; d < HDV; d += kAttnThreads) {
      const float vd = rk.v[kvh * HDV + d];
      if (writer) kv_store(vc + d, vd);
      v_now[d] = kv_round<KvT>(vd);
    }
  } else {
    for (int d = threadIdx.x; d < HD; d += kAttnThreads) qs[d] = qh[d];
  }
  cp_async_wait_all();  // this thread's copies; the barrier below publishes everyone's
  __syncthreads();
  float mx = -INFINITY;
  for (int j0 = 0; j0 < len; j0 += Tile::kRows) {
    const int rows = min(Tile::kRows, len - j0);
    // Rows the tile needs (one-token steps: not the current position's, the
    // last) past those copied before pdl_wait(); the same for every thread.
    const int have = j0 == 0 ? ahead : 0, need = rk.k && j0 + rows == len ? rows - 1 : rows;
    if (need > have) {
      __syncthreads();  // the previous tile is read
      for (int e = have * kWords + threadIdx.x; e < need * kWords; e += kAttnThreads) {
        const int jj = e / kWords, w = e % kWords;
        const KvT* row = k_cache + static_cast<size_t>(start + j0 + jj) * kKW + kvh * HD;
        const uint32_t* kr = reinterpret_cast<const uint32_t*>(row);
        tile[jj * Tile::kRowWords + w] = kr[w];
      }
      __syncthreads();
    }
    {
      // A position's score by tpp adjacent threads (of a power of 2, each a
      // contiguous share of the dims: the threads of a warp on distinct
      // banks), summed by shuffles: with few positions more threads work and
      // each thread's chain of products is shorter (smollm2-135m, tg128:
      // +3%). Warps run the loop in step (the shuffles): a bound the same for all.
      int tpp = rows <= 32 ? 8 : rows <= 64 ? 4 : rows <= 128 ? 2 : 1;
      while ((HD / 2) % tpp != 0) tpp /= 2;
      const int sub = threadIdx.x % tpp, per = HD / 2 / tpp;
      for (int base = 0; base < rows; base += kAttnThreads / tpp) {
        const int jj = base + static_cast<int>(threadIdx.x) / tpp;
        const bool live = jj < rows;
        const int j = j0 + jj;
        const KvT* kr = reinterpret_cast<const KvT*>(tile + min(jj, rows - 1) * Tile::kRowWords);
        const bool now = rk.k && start + j == p;
        float s = 0.0f;
#pragma unroll 4
        for (int d = sub * per; d < (sub + 1) * per; ++d) {
          const float k0 = now ? k_now[2 * d] : kv_load(kr + 2 * d);
          const float k1 = now ? k_now[2 * d + 1] : kv_load(kr + 2 * d + 1);
          s += qs[2 * d] * k0 + qs[2 * d + 1] * k1;
        }
        for (int off = 1; off < tpp; off *= 2) s += __shfl_xor_sync(0xffffffffu, s, off);
        if (live) {
          s *= scale;
          if (cap > 0.0f) s = cap * tanhf(s / cap);
          if (sub == 0) smem[j] = s;
          mx = fmaxf(mx, s);
        }
      }
    }
  }
#pragma unroll
  for (int off = 16; off > 0; off /= 2) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
  if (threadIdx.x % 32 == 0) red_max[threadIdx.x / 32] = mx;
  __syncthreads();
  mx = red_max[0];
  for (int i = 1; i < kAttnThreads / 32; ++i) mx = fmaxf(mx, red_max[i]);
  // The exponentials, then the weighted sum of values: a thread takes two
  // adjacent dims of the positions part, part + kParts, ... and sums their
  // exponentials on the way (each thread of a part the same ones, so each
  // holds its part's sum: no block reduction for the softmax's sum). H100,
  // tg128, against one dim a thread and the sum reduced by the block (same
  // call): smollm2-135m Q8_0 2436 -> 2459 tok/s, 1b Q8_0 1716-1721 ->
  // 1726-1729, 3b Q8_0 581 -> 581, 3b Q4_0 778-784 -> 776-777; with each
  // thread exponentiating its positions itself instead (no barrier): 3b
  // Q8_0 576, Q4_0 768-774.
  for (int j = threadIdx.x; j < len; j += kAttnThreads) smem[j] = expf(smem[j] - mx);
  __syncthreads();
  const int d2 = threadIdx.x % kPairs, part = threadIdx.x / kPairs;
  if (part < kParts) {
    // The cache's positions (the loads unrolled: they do not wait for each
    // other, the sums keep their order), then the current one.
    const int cached = rk.k ? len - 1 : len;
    float o0 = 0.0f, o1 = 0.0f, sum = 0.0f;
    int j = part;
#pragma unroll 4
    for (; j < ahead; j += kParts) {  // copied already
      const float e = smem[j];
      sum += e;
      o0 += e * kv_load(vtile + j * HDV + 2 * d2);
      o1 += e * kv_load(vtile + j * HDV + 2 * d2 + 1);
    }
#pragma unroll 4
    for (; j < cached; j += kParts) {
      const KvT* vr = v_cache + static_cast<size_t>(start + j) * kVW + kvh * HDV + 2 * d2;
      const float e = smem[j];
      sum += e;
      o0 += e * kv_load(vr);
      o1 += e * kv_load(vr + 1);
    }
    if (rk.k && (len - 1) % kParts == part) {
      const float e = smem[len - 1];
      sum += e;
      o0 += e * v_now[2 * d2];
      o1 += e * v_now[2 * d2 + 1];
    }
    partial[part * HDV + 2 * d2] = o0;
    partial[part * HDV + 2 * d2 + 1] = o1;
    if (d2 == 0) part_sum[part] = sum;
  }
  __syncthreads();
  if (threadIdx.x < HDV) {
    float s = 0.0f, sum = 0.0f;
    for (int i = 0; i < kParts; ++i) {
      s += partial[i * HDV + threadIdx.x];
      sum += part_sum[i];
    }
    s /= sum;
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

// act(x) * u: SiLU, or GELU with the tanh approximation (Hendrycks & Gimpel).
__device__ __forceinline__ float glu_value(float x, float u, bool gelu) {
  if (!gelu) return x / (1.0f + expf(-x)) * u;
  const float k = 0.7978845608028654f;  // sqrt(2/pi)
  return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x))) * u;
}

// gate = act(gate) * up. With q.vals (rows of a multiple of 32, count too),
// the result is also quantized into q as fake_quant_q8_0 would write it, as
// norm_rows does. V values a thread: 1, or 4 (launch_glu: count a multiple
// of 4, g, u and q.vals 16-byte aligned, q.levels 4-byte aligned).
template <int V>
__global__ void glu(float* g, const float* u, size_t count, bool gelu, Q8Out q) {
  static_assert(V == 1 || V == 4, "glu: 1 or 4 values a thread");
  pdl_wait();
  pdl_launch_dependents();
  const size_t i = V * (static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x);
  if constexpr (V == 1) {
    if (i >= count) return;  // with q.vals, whole warps
    const float r = glu_value(g[i], u[i], gelu);
    g[i] = r;
    if (q.vals) warp_fake_quant_q8_0(r, q, i);
  } else {
    const bool active = i < count;  // with q.vals, whole groups of 8 lanes
    float r[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (active) {
      const float4 a = *reinterpret_cast<const float4*>(g + i), b = *reinterpret_cast<const float4*>(u + i);
      r[0] = glu_value(a.x, b.x, gelu), r[1] = glu_value(a.y, b.y, gelu);
      r[2] = glu_value(a.z, b.z, gelu), r[3] = glu_value(a.w, b.w, gelu);
      *reinterpret_cast<float4*>(g + i) = make_float4(r[0], r[1], r[2], r[3]);
    }
    if (q.vals) group_fake_quant_q8_0(r, q, i, active);
  }
}
inline bool aligned_to(const void* p, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }
inline void launch_glu(cudaStream_t s, float* g, const float* u, size_t count, bool gelu, const Q8Out& q) {
  const bool wide = count % 4 == 0 && aligned_to(g, 16) && aligned_to(u, 16) &&
                    (!q.vals || (aligned_to(q.vals, 16) && (!q.levels || aligned_to(q.levels, 4))));
  if (wide) launch(glu<4>, dim3(blocks_for(count / 4, 256)), dim3(256), 0, s, g, u, count, gelu, q);
  else launch(glu<1>, dim3(blocks_for(count, 256)), dim3(256), 0, s, g, u, count, gelu, q);
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
// Blocks take slices of the logits (a vocabulary of 128k is 0.5 MB: one
// block read it in ~7 us); each writes its first maximum to the scratch, and
// the block that finishes last (a ticket counter) takes the first maximum of
// those, writes the token and resets the counter. argmax_next reads the
// logits; the decode matvec that computes them can do the same as it stores
// them (matvec.cuh ArgmaxNext), one launch less.
constexpr int kArgmaxThreads = 256, kArgmaxMaxBlocks = 1024;
struct ArgmaxScratch {  // device memory, `done` zero before the first launch
  unsigned done;
  float best[kArgmaxMaxBlocks];
  int index[kArgmaxMaxBlocks];
};
// (v, i) into the first maximum so far (best, idx): larger, or equal at a lower index. NaN never.
__device__ __forceinline__ void take_first_max(float v, int i, float& best, int& idx) {
  if (v > best || (v == best && i < idx)) {
    best = v;
    idx = i;
  }
}
// The block's (kArgmaxThreads threads) first maximum into thread 0's best and idx.
__device__ __forceinline__ void block_first_max(float& best, int& idx) {
  __shared__ float bv[kArgmaxThreads / 32];
  __shared__ int bi[kArgmaxThreads / 32];
#pragma unroll
  for (int off = 16; off > 0; off /= 2) {
    const float ov = __shfl_xor_sync(0xffffffffu, best, off);
    const int oi = __shfl_xor_sync(0xffffffffu, idx, off);
    take_first_max(ov, oi, best, idx);
  }
  if (threadIdx.x % 32 == 0) {
    bv[threadIdx.x / 32] = best;
    bi[threadIdx.x / 32] = idx;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int i = 1; i < kArgmaxThreads / 32; ++i) take_first_max(bv[i], bi[i], best, idx);
  }
}
// Where the next token goes: params[1] (and params[0] advances), and
// out_tokens[position] records the token chosen at each position.
struct ArgmaxNext {
  int* params;  // null: no argmax
  int* out_tokens;
  ArgmaxScratch* scratch;
};
// Every thread of each of the grid's blocks (at most kArgmaxMaxBlocks, of
// kArgmaxThreads threads) calls it with its first maximum: the last block
// to finish writes the token.
__device__ __forceinline__ void argmax_finish(float best, int idx, const ArgmaxNext& a) {
  block_first_max(best, idx);
  __shared__ bool last;
  if (threadIdx.x == 0) {
    a.scratch->best[blockIdx.x] = best;
    a.scratch->index[blockIdx.x] = idx;
    __threadfence();  // the partial before the ticket
    last = atomicAdd(&a.scratch->done, 1u) == gridDim.x - 1;
  }
  __syncthreads();
  if (!last) return;
  __threadfence();  // the other blocks' partials after their tickets
  best = -INFINITY;
  idx = 0x7fffffff;
  for (int b = threadIdx.x; b < static_cast<int>(gridDim.x); b += kArgmaxThreads) {
    take_first_max(__ldcg(a.scratch->best + b), __ldcg(a.scratch->index + b), best, idx);
  }
  block_first_max(best, idx);
  if (threadIdx.x == 0) {
    if (idx == 0x7fffffff) idx = 0;  // all NaN: a defined token
    a.out_tokens[a.params[0]] = idx;
    a.params[0] += 1;
    a.params[1] = idx;
    a.scratch->done = 0;  // for the next launch (after this one, in stream order)
  }
}
__global__ void __launch_bounds__(kArgmaxThreads) argmax_next(const float* logits, int n, const ArgmaxNext a) {
  pdl_wait();
  pdl_launch_dependents();
  float best = -INFINITY;
  int idx = 0x7fffffff;
  // 16-byte loads, kBatch of them in flight a thread; each thread's indices
  // in increasing order.
  constexpr int kBatch = 4;
  const int first = blockIdx.x * kArgmaxThreads + threadIdx.x, step = gridDim.x * kArgmaxThreads;
  const bool aligned = reinterpret_cast<uintptr_t>(logits) % 16 == 0;
  const int n4 = aligned ? n / 4 : 0;
  const float4* l4 = reinterpret_cast<const float4*>(logits);
  for (int i0 = first; i0 < n4; i0 += kBatch * step) {
    float4 v[kBatch];
#pragma unroll
    for (int b = 0; b < kBatch; ++b) {
      const int i = i0 + b * step;
      v[b] = i < n4 ? l4[i] : make_float4(-INFINITY, -INFINITY, -INFINITY, -INFINITY);
    }
#pragma unroll
    for (int b = 0; b < kBatch; ++b) {
      const int i = 4 * (i0 + b * step);
      take_first_max(v[b].x, i, best, idx), take_first_max(v[b].y, i + 1, best, idx);
      take_first_max(v[b].z, i + 2, best, idx), take_first_max(v[b].w, i + 3, best, idx);
    }
  }
  for (int i = 4 * n4 + first; i < n; i += step) take_first_max(logits[i], i, best, idx);
  argmax_finish(best, idx, a);
}
inline void launch_argmax_next(cudaStream_t s, const float* logits, int n, const ArgmaxNext& a) {
  constexpr int kPerBlock = 16 * kArgmaxThreads, kBlocks = 256;  // logits a block at least; blocks at most
  const int blocks = std::max(1, std::min(kBlocks, (n + kPerBlock - 1) / kPerBlock));
  launch(argmax_next, dim3(blocks), dim3(kArgmaxThreads), 0, s, logits, n, a);
}

}  // namespace forge::kernels::cuda
