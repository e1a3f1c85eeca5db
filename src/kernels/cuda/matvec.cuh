// Matrix-vector products for decode steps and small batches: y[b][r] =
// W[r] . x[b] (+ bias[r]), the kernels and their host-side launch.
// Q8_0 / Q4_0 rows (split rows, split_layout.h) with one activation row go
// through matvec_split on int8 levels; Q5_0 rows, and Q8_0 / Q4_0 batches,
// through matvec_int (integer block sums, the interpreter's floats); F16
// rows through matvec_coalesced, Q6_K rows through matvec_q6k; the rest
// through matvec (floats).
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/forge_kernels.cuh"

namespace forge::kernels::cuda {

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
  // y += the product (+ bias) instead of y =: the residual add that follows
  // an output projection, done by the projection (decode steps).
  bool accumulate = false;
};

// Output r of activation row b (at = b * rows + r): the interpreter's
// y = dot (+ bias), or its residual add dst += (dot (+ bias)).
__device__ __forceinline__ void store_out(const MatvecPart& p, size_t at, int r, float s) {
  const float v = p.bias ? s + p.bias[r] : s;
  p.y[at] = p.accumulate ? p.y[at] + v : v;
}
template <int N> struct MatvecParts {
  MatvecPart p[N];
  // The next projection's weights, which a decode step's blocks bring to L2
  // once their own loads are issued (prefetch_l2; mmq ignores it).
  L2Prefetch next;
  // Thread blocks for all parts, each taking `rows_per_block` rows of one part.
  __host__ __device__ int blocks(int rows_per_block) const {
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

// The kernels of one warp a row (kMatvecWarps rows a block): this warp's
// part and its row there (*r, past the part's end for the last block's spare warps).
template <int N>
__device__ __forceinline__ const MatvecPart& warp_row(const MatvecParts<N>& ps, int* r) {
  int row0 = 0;
  const MatvecPart& part = part_of(ps, blockIdx.x, kMatvecWarps, &row0);
  *r = row0 + threadIdx.x / 32;
  return part;
}

template <class B, int K, int kCols, int N>
__global__ void __launch_bounds__(32 * kMatvecWarps) matvec(const __grid_constant__ MatvecParts<N> ps,
                                                            const float* __restrict__ x,
                                                            const float* __restrict__ xsum, int batch) {
  if (threadIdx.x == 0) prefetch_l2(ps.next, blockIdx.x, gridDim.x);
  pdl_wait();
  pdl_launch_dependents();
  constexpr int kUnits = K / 32;
  const int lane = threadIdx.x % 32;
  int r = 0;
  const MatvecPart& part = warp_row(ps, &r);
  const int rows = part.rows;
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
      if (lane == 0 && b0 + c < batch) store_out(part, static_cast<size_t>(b0 + c) * rows + r, r, s);
    }
  }
}

// Sums of per-block terms (block_term) as the interpreter adds them. Across the lanes of a warp: in lane order, one add
// at a time, when each lane holds at most one block's term (lanes 0, kStep,
// 2 kStep, ... up to kLanes: the interpreter's block order, so rows of up to
// 32 blocks come out bit for bit as on the CPU), else by a shuffle tree.
template <bool kInOrder, int kLanes = 32, int kStep = 1>
__device__ __forceinline__ float warp_sum(float v) {
  if constexpr (kInOrder) {
    float s = 0.0f;
#pragma unroll
    for (int l = 0; l < kLanes; l += kStep) s = __fadd_rn(s, __shfl_sync(0xffffffffu, v, l));
    return s;
  } else {
#pragma unroll
    for (int off = 16; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
  }
}

// Weight types whose dot products the interpreter forms from integer block
// sums against Q8_0 activations (no block minimum): the matrix-vector
// kernels do the same on the activation's int8 levels.
template <class B> struct IntDot {
  static constexpr bool kValue =
      std::is_same_v<B, BlockQ8_0> || std::is_same_v<B, BlockQ4_0> || std::is_same_v<B, BlockQ5_0>;
};

// Unit u of a row as 32 int8 levels (8 words) and its scale: split Q8_0 /
// Q4_0 rows, Q5_0 blocks (levels (nibble | high bit << 4) - 16).
template <class B, int K>
__device__ __forceinline__ float unit_levels(const uint8_t* row, int u, int* w) {
  if constexpr (std::is_same_v<B, BlockQ8_0>) {
    const uint4 a = ld128(row + 32 * u), b = ld128(row + 32 * u + 16);
    w[0] = a.x, w[1] = a.y, w[2] = a.z, w[3] = a.w, w[4] = b.x, w[5] = b.y, w[6] = b.z, w[7] = b.w;
    return split_scale<B, K>(row, u);
  } else if constexpr (std::is_same_v<B, BlockQ4_0>) {
    const uint4 a = ld128(row + 16 * u);
    const uint32_t q[4] = {a.x, a.y, a.z, a.w};
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      w[k] = static_cast<int>(__vsub4(q[k] & 0x0f0f0f0fu, 0x08080808u));
      w[4 + k] = static_cast<int>(__vsub4((q[k] >> 4) & 0x0f0f0f0fu, 0x08080808u));
    }
    return split_scale<B, K>(row, u);
  } else {  // Q5_0: d, qh (32 high bits), 16 nibble bytes
    const uint8_t* b = row + static_cast<size_t>(u) * sizeof(BlockQ5_0);
    const uint32_t qh = ld16(b + 2) | (static_cast<uint32_t>(ld16(b + 4)) << 16);
    int lo[16], hi[16];
    load_nibbles(b + 6, lo, hi);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      uint32_t wl = 0, wh = 0;
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int j = 4 * k + e;
        const int q0 = (lo[j] | static_cast<int>(((qh >> j) & 1u) << 4)) - 16;
        const int q1 = (hi[j] | static_cast<int>(((qh >> (j + 16)) & 1u) << 4)) - 16;
        wl |= (static_cast<uint32_t>(q0) & 0xffu) << (8 * e);
        wh |= (static_cast<uint32_t>(q1) & 0xffu) << (8 * e);
      }
      w[k] = static_cast<int>(wl);
      w[4 + k] = static_cast<int>(wh);
    }
    return h2f(ld16(b));
  }
}

// IntDot weights against up to kCols activation rows of int8 levels and
// scales (Q8Out): one warp a row, a lane a unit; each unit's integer sum by
// __dp4a, its term and the row's sum formed as the interpreter does
// (block_term, warp_sum: bit for bit for rows of up to 32 blocks).
template <class B, int K, int kCols, int N>
__global__ void __launch_bounds__(32 * kMatvecWarps) matvec_int(const __grid_constant__ MatvecParts<N> ps,
                                                                const int8_t* __restrict__ levels,
                                                                const float* __restrict__ scales, int batch) {
  if (threadIdx.x == 0) prefetch_l2(ps.next, blockIdx.x, gridDim.x);
  pdl_wait();
  pdl_launch_dependents();
  constexpr int kUnits = K / 32;
  const int lane = threadIdx.x % 32;
  int r = 0;
  const MatvecPart& part = warp_row(ps, &r);
  const int rows = part.rows;
  if (r >= rows) return;
  const uint8_t* wr = part.w + static_cast<size_t>(r) * part.row_bytes;
  for (int b0 = 0; b0 < batch; b0 += kCols) {
    float acc[kCols];
#pragma unroll
    for (int c = 0; c < kCols; ++c) acc[c] = 0.0f;
    for (int u = lane; u < kUnits; u += 32) {
      int w[8];
      const float d = unit_levels<B, K>(wr, u, w);
#pragma unroll
      for (int c = 0; c < kCols; ++c) {
        if (b0 + c < batch) {
          const size_t at = static_cast<size_t>(b0 + c) * kUnits + u;
          const int4* xa = reinterpret_cast<const int4*>(levels + 32 * at);
          const int4 x0 = __ldg(xa), x1 = __ldg(xa + 1);
          int sumi = __dp4a(w[0], x0.x, 0);
          sumi = __dp4a(w[1], x0.y, sumi);
          sumi = __dp4a(w[2], x0.z, sumi);
          sumi = __dp4a(w[3], x0.w, sumi);
          sumi = __dp4a(w[4], x1.x, sumi);
          sumi = __dp4a(w[5], x1.y, sumi);
          sumi = __dp4a(w[6], x1.z, sumi);
          sumi = __dp4a(w[7], x1.w, sumi);
          acc[c] = __fadd_rn(acc[c], block_term(d, __ldg(scales + at), sumi));
        }
      }
    }
#pragma unroll
    for (int c = 0; c < kCols; ++c) {
      const float s = warp_sum<(kUnits <= 32), (kUnits < 32 ? kUnits : 32)>(acc[c]);
      if (lane == 0 && b0 + c < batch) store_out(part, static_cast<size_t>(b0 + c) * rows + r, r, s);
    }
  }
}

// Decode (one activation row) for F16 (matvec_coalesced) and Q6_K (the
// output matrix of the Q4_0 presets; matvec_q6k): the lanes of a warp read
// consecutive bytes of the weight rows (coalesced), instead of one
// 64/210-byte unit per lane as matvec does. F16: 8 halves (16 bytes) a lane;
// Q6_K: byte l of each 32-byte run. The same products as matvec in another
// float order.
template <class B> struct CoalescedDot { static constexpr bool kValue = false; };
template <> struct CoalescedDot<BlockF16> { static constexpr bool kValue = true; };
template <> struct CoalescedDot<BlockQ6_K> { static constexpr bool kValue = true; };

template <class B, int K>
__device__ __forceinline__ float row_dot_impl(const uint8_t* __restrict__ wr, const float* __restrict__ x, int lane) {
  static_assert(std::is_same_v<B, BlockF16>, "Q6_K rows go through matvec_q6k");
  float acc = 0.0f;
#pragma unroll 8
  for (int c = lane; c < K / 8; c += 32) {  // K % 8 == 0: rows are 16-byte aligned
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
  return acc;
}

template <class B, int K, int N>
__global__ void __launch_bounds__(32 * kMatvecWarps)
    matvec_coalesced(const __grid_constant__ MatvecParts<N> ps, const float* __restrict__ x) {
  if (threadIdx.x == 0) prefetch_l2(ps.next, blockIdx.x, gridDim.x);
  pdl_wait();
  pdl_launch_dependents();
  const int lane = threadIdx.x % 32;
  int r = 0;
  const MatvecPart& part = warp_row(ps, &r);
  if (r >= part.rows) return;
  float s = row_dot_impl<B, K>(part.w + static_cast<size_t>(r) * part.row_bytes, x, lane);
#pragma unroll
  for (int off = 16; off > 0; off /= 2) s += __shfl_xor_sync(0xffffffffu, s, off);
  if (lane == 0) store_out(part, r, r, s);
}

// Q6_K decode (K / 256 blocks of 210 bytes a row, so rows are only 2-byte
// aligned in general): a warp takes kRows consecutive rows, copies them to
// shared memory in pieces as wide as the row length allows (16 bytes for
// K % 2048 == 0), all in flight at once and issued before pdl_wait(), then
// multiplies them with each activation value loaded once for its kRows rows.
// (Byte loads straight from the blocks, one row a warp: ~1.4 TB/s on the
// output matrix of the Q4_0 presets, bound by the activation loads.)
template <int K> struct Q6Rows {
  static constexpr int kBytes = K / 256 * static_cast<int>(sizeof(BlockQ6_K));  // a row (GGUF rows are contiguous)
  static constexpr int kBudget = 44 * 1024;                                      // a block's static shared memory
  static constexpr bool kStaged = kMatvecWarps * kBytes <= kBudget;  // else read in place, a row a warp
  static constexpr int kRows = kMatvecWarps * 4 * kBytes <= kBudget ? 4 : kMatvecWarps * 2 * kBytes <= kBudget ? 2 : 1;
  static constexpr int kPiece = kBytes % 16 == 0 ? 16 : kBytes % 8 == 0 ? 8 : kBytes % 4 == 0 ? 4 : 2;
  static constexpr int kPerLane = (kRows * kBytes / kPiece + 31) / 32;
  using Piece = std::conditional_t<kPiece == 16, uint4, std::conditional_t<kPiece == 8, uint2,
                                   std::conditional_t<kPiece == 4, unsigned, unsigned short>>>;
};

// acc[i] += row i's products, rows kBytes apart from `rows` (shared or global
// memory). Lane l takes weights 128 h + 32 g + l of each super-block (h < 2,
// g < 4): byte l of each 32-byte run of ql and qh. The products as
// dequant_unit<BlockQ6_K>, each row's in the same order.
template <int K, int R>
__device__ __forceinline__ void q6k_rows_dot(const uint8_t* rows, const float* __restrict__ x, int lane, float* acc) {
  constexpr int kBytes = Q6Rows<K>::kBytes;
#pragma unroll 2
  for (int b = 0; b < K / 256; ++b) {
    const float* xb = x + 256 * b + lane;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      int ql0[R], ql1[R], qh[R];
      float d[R];
      const int8_t* sc[R];
#pragma unroll
      for (int i = 0; i < R; ++i) {
        const uint8_t* blk = rows + i * kBytes + b * static_cast<int>(sizeof(BlockQ6_K));
        d[i] = h2f(*reinterpret_cast<const uint16_t*>(blk + 208));
        ql0[i] = blk[64 * h + lane];
        ql1[i] = blk[64 * h + 32 + lane];
        qh[i] = blk[128 + 32 * h + lane];
        sc[i] = reinterpret_cast<const int8_t*>(blk + 192 + 8 * h);
      }
#pragma unroll
      for (int g = 0; g < 4; ++g) {
        const float xv = __ldg(xb + 128 * h + 32 * g);
#pragma unroll
        for (int i = 0; i < R; ++i) {
          const int lo = ((g & 1) ? ql1[i] : ql0[i]) >> (4 * (g / 2)) & 0xf;
          const int hi = (qh[i] >> (2 * g)) & 3;
          const float dg = d[i] * static_cast<float>(sc[i][2 * g + lane / 16]);
          acc[i] += dg * static_cast<float>((lo | (hi << 4)) - 32) * xv;
        }
      }
    }
  }
}

template <int K, int N>
__global__ void __launch_bounds__(32 * kMatvecWarps)
    matvec_q6k(const __grid_constant__ MatvecParts<N> ps, const float* __restrict__ x) {
  using Q = Q6Rows<K>;
  const int lane = threadIdx.x % 32;
  int row0 = 0;
  const MatvecPart& part = part_of(ps, blockIdx.x, kMatvecWarps * Q::kRows, &row0);
  const int r = row0 + threadIdx.x / 32 * Q::kRows;  // this warp's first row
  const int n = min(Q::kRows, part.rows - r);       // of its rows, the real ones
  const uint8_t* rows = part.w + static_cast<size_t>(r) * part.row_bytes;
  if constexpr (Q::kStaged) {
    __shared__ __align__(16) uint8_t staged[kMatvecWarps][Q::kRows * Q::kBytes];
    uint8_t* mine = staged[threadIdx.x / 32];
    if (n > 0) {
      const int pieces = n * Q::kBytes / Q::kPiece;
      typename Q::Piece v[Q::kPerLane];
      const auto* src = reinterpret_cast<const typename Q::Piece*>(rows);
#pragma unroll
      for (int i = 0; i < Q::kPerLane; ++i) {
        if (lane + 32 * i < pieces) v[i] = __ldg(src + lane + 32 * i);
      }
#pragma unroll
      for (int i = 0; i < Q::kPerLane; ++i) {
        if (lane + 32 * i < pieces) reinterpret_cast<typename Q::Piece*>(mine)[lane + 32 * i] = v[i];
      }
      __syncwarp();
    }
    rows = mine;  // rows past the end: whatever is there, products not stored
  }
  if (threadIdx.x == 0) prefetch_l2(ps.next, blockIdx.x, gridDim.x);
  pdl_wait();
  pdl_launch_dependents();
  if (n <= 0) return;
  float acc[Q::kRows];
#pragma unroll
  for (int i = 0; i < Q::kRows; ++i) acc[i] = 0.0f;
  q6k_rows_dot<K, Q::kRows>(rows, x, lane, acc);
#pragma unroll
  for (int i = 0; i < Q::kRows; ++i) {
    float s = acc[i];
#pragma unroll
    for (int off = 16; off > 0; off /= 2) s += __shfl_xor_sync(0xffffffffu, s, off);
    if (lane == 0 && i < n) store_out(part, r + i, r + i, s);
  }
}

// Decode of Q8_0 / Q4_0 weights in split rows (split_layout.h) with the
// activation quantized to Q8_0 levels: the interpreter's integer block sums
// (__dp4a), each scaled (d_w * d_a) * sumi as quant_legacy.cpp's vec_dot
// does, then summed over the row in another float order.
//
// A warp takes a group of 1 or 2 consecutive rows at a time
// (SplitMatvec::rows) and a lane the rows' 16-byte pieces lane, lane + 32,
// ... (one piece: half a Q8_0 block, a whole Q4_0 block): every load is 16
// bytes and coalesced. The grid is persistent (as many blocks as fit the GPU
// at once): each warp walks row groups gridDim.x * kSplitWarps apart, and
// where a group is at most 8 loads a lane, the next group's are in flight
// while it multiplies the current one (SplitMatvec::depth).
// The first groups' loads are issued before pdl_wait(): weights do not
// depend on the kernel before, so with programmatic dependent launch they
// stream while that kernel finishes.
//
// The input is staged once per block in shared memory as int8 levels and
// scales (Q4_0: the low and high halves of each block apart, so that a
// warp's 16-byte reads hit distinct banks). It comes quantized (LevelsInput)
// or the block computes it from the op before, which then needs no launch of
// its own: an RMSNorm/LayerNorm of one row (NormInput, norm_rows' numbers) or
// a GLU (GluInput, glu's), quantized as fake_quant_q8_0 does. Q8_0: the two
// lanes of a block add their halves' integer sums by one shuffle (exact),
// the even lane scales it.
constexpr int kSplitWarps = 8;
static_assert(32 * kSplitWarps == kNormThreads, "NormInput: norm_stats' block size");
// A warp takes at most 2 rows at a time: fewer rows a warp and more warps
// shorten each warp's chain of products and in-order sums. On an H100,
// tg128 with at most 2 rows instead of up to 8 (8 loads a lane):
// smollm2-135m Q4_0 1556 -> 2033 tok/s, Q8_0 2020 -> 2125, 1b Q4_0 1462 ->
// 1564, 1b/3b Q8_0 (2 rows already) the same; with 1 row: 1b Q8_0 +3%,
// smollm2-135m Q8_0 -10%, 1b Q4_0 -5%. One row where a lane holds 4 or more
// pieces of it (eighth session: rows of 2048 Q8_0 values, 1b Q8_0 1666 ->
// 1684); at 3 pieces too: 3b Q4_0 773 -> 789, but smollm2-135m Q8_0 2444 ->
// 2260 (its ffn_down, 1536 wide, with the GLU input), smollm2-360m Q4_0 1883 -> 1848.
template <class B, int K> struct SplitMatvec {
  static constexpr bool kQ8 = std::is_same_v<B, BlockQ8_0>;
  static constexpr int kPieces = SplitRow<B, K>::kQuantBytes / 16;  // 16-byte pieces a row
  static constexpr int kPerLane = (kPieces + 31) / 32;
  static constexpr int kRows = kPerLane >= 4 ? 1 : 2;  // rows a warp at a time
  // The logits (matvec_split's kArgmax: one long matrix streamed once) take
  // 2 rows where a lane holds up to 4 pieces of one: 1b Q8_0 1683 -> 1690
  // tok/s (3 rounds; 3 or 4 groups of one row in flight instead: 1682, 1678).
  static constexpr int kLogitRows = kPerLane <= 4 ? 2 : kRows;
  template <bool kLogits>
  __host__ __device__ static constexpr int rows() {
    return kLogits ? kLogitRows : kRows;
  }
  // Row groups a warp has in flight: 2 (the next loaded before the current
  // one is multiplied) where the registers hold them.
  template <bool kLogits>
  __host__ __device__ static constexpr int depth() {
    return rows<kLogits>() * kPerLane <= 8 ? 2 : 1;
  }
};

// The activation's int8 levels and block scales (Q8Out levels / scales).
struct LevelsInput {
  const int8_t* levels;
  const float* scales;
};
// norm(x) * (weight + offset) (+ bias) over the whole row of K values.
struct NormInput {
  const float* x;
  const float* weight;
  const float* bias;
  float eps;
  float offset;
  bool layer_norm;
};
// The first projection of a decode step: the token's row of the embedding
// table (E blocks; as the embed kernel: dequantized, times scale) is the
// residual stream, which block 0 writes to x, and norm(it) the input (norm.x
// is not read: each block stages the row in shared memory).
template <class E> struct EmbedInput {
  const uint8_t* table;
  size_t row_bytes;
  float scale;
  const int* params;  // params[1]: the token
  float* x;
  NormInput norm;
};
// act(gate) * up.
struct GluInput {
  const float* gate;
  const float* up;
  bool gelu;
};

template <class B, int K> struct SplitAct {
  using M = SplitMatvec<B, K>;
  // Staged values a thread takes at a time (put_run): 8 (a quarter of a quant
  // block) for rows of 2048 values or more (8 a thread), else 4 (more threads
  // at work: smollm2-135m's 576 took longer in runs of 8).
  static constexpr int kRun = K >= 8 * 32 * kSplitWarps ? 8 : 4;
  static constexpr int kRunsPerThread = (K / kRun + 32 * kSplitWarps - 1) / (32 * kSplitWarps);
  // Q8_0: piece p holds levels 16p ..; Q4_0: piece p levels 32p .. 32p + 15, piece kPieces + p the next 16.
  uint4 q[M::kQ8 ? M::kPieces : 2 * M::kPieces];
  float d[K / 32];
  int sum[M::kQ8 ? 1 : K / 32];  // Q4_0: each block's level sum (weights' nibbles are levels + 8)
  double scratch[kSplitWarps];
  // Quantizes run r of the row (values kRun r .. kRun r + kRun - 1: v),
  // one run a lane; the 32 / kRun lanes of a quant block (runs 32 b / kRun ..)
  // are adjacent, and its maximum and (Q4_0) level sum take two or three
  // shuffles. Every lane of the warp calls it (the shuffles); runs past the
  // row (r >= K / kRun, whole blocks) are left out. fake_quant_q8_0's numbers (q8_scale).
  __device__ __forceinline__ void put_run(int r, const float (&v)[kRun]) {
    constexpr int kLanes = 32 / kRun;  // a block's
    float amax = 0.0f;                 // NaN ignored, as quant_legacy.cpp's abs_max
#pragma unroll
    for (int k = 0; k < kRun; ++k) amax = fmaxf(amax, fabsf(v[k]));
#pragma unroll
    for (int off = 1; off < kLanes; off *= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
    const Q8Scale s = q8_scale(amax);
    uint32_t lv[kRun / 4] = {};
    int level_sum = 0;
#pragma unroll
    for (int k = 0; k < kRun; ++k) {
      const int level = static_cast<int>(roundf(clamp_q8(__fmul_rn(v[k], s.id))));
      lv[k / 4] |= (static_cast<uint32_t>(level) & 0xffu) << (8 * (k % 4));
      level_sum += level;
    }
    if constexpr (!M::kQ8) {  // the block's level sum (weights' nibbles are levels + 8)
#pragma unroll
      for (int off = 1; off < kLanes; off *= 2) level_sum += __shfl_xor_sync(0xffffffffu, level_sum, off);
    }
    if (r >= K / kRun) return;
    const int j = kRun * r;  // Q4_0: a run lies in one half of its block
    const int at = M::kQ8 ? j : (j % 32 < 16 ? 16 * (j / 32) + j % 32 : 16 * (M::kPieces + j / 32) + j % 32 - 16);
    int8_t* dst = reinterpret_cast<int8_t*>(q) + at;
    if constexpr (kRun == 8) *reinterpret_cast<uint2*>(dst) = make_uint2(lv[0], lv[1]);
    else *reinterpret_cast<uint32_t*>(dst) = lv[0];
    if (r % kLanes == 0) {
      d[r / kLanes] = s.dh;
      if constexpr (!M::kQ8) sum[r / kLanes] = level_sum;
    }
  }
  // Q4_0: the level sums of blocks staged as levels (after a barrier).
  __device__ void sum_levels() {
    if constexpr (!M::kQ8) {
      for (int b = threadIdx.x; b < K / 32; b += 32 * kSplitWarps) {
        const uint4 lo = q[b], hi = q[M::kPieces + b];
        const uint32_t w[8] = {lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w};
        int s = 0;
#pragma unroll
        for (int k = 0; k < 8; ++k) s = __dp4a(static_cast<int>(w[k]), 0x01010101, s);
        sum[b] = s;
      }
    }
  }
};

// Staging a block's input in two halves: before_wait() loads what does not
// depend on the kernel before (a norm's weights), run() the rest after
// pdl_wait(). A thread's loads are all issued before their values are used:
// one memory latency, not one a value; its values are then quantized a run
// of consecutive values at a time (put_run: a quant block on four or eight
// lanes, two or three shuffles for its maximum; with a value a lane, as
// before, a block took a warp and five, and the shuffles were most of a
// staging's time).
template <class B, int K, class In> struct InputStage;

template <class B, int K> struct InputStage<B, K, LevelsInput> {
  __device__ __forceinline__ void before_wait(const LevelsInput&) {}
  __device__ __forceinline__ void run(const LevelsInput& in, SplitAct<B, K>& a) {
    const uint4* lv = reinterpret_cast<const uint4*>(in.levels);
    for (int e = threadIdx.x; e < K / 16; e += 32 * kSplitWarps) {  // 16 levels at a time
      if constexpr (SplitMatvec<B, K>::kQ8) a.q[e] = __ldg(lv + e);
      else a.q[(e % 2) * SplitMatvec<B, K>::kPieces + e / 2] = __ldg(lv + e);
    }
    for (int b = threadIdx.x; b < K / 32; b += 32 * kSplitWarps) a.d[b] = __ldg(in.scales + b);
    if constexpr (!SplitMatvec<B, K>::kQ8) {
      __syncthreads();
      a.sum_levels();
    }
  }
};

// A NormInput or GluInput stage: thread t takes runs t, t + 256, ... of
// SplitAct::kRun consecutive values (put_run).
template <class B, int K> struct RunStage {
  using A = SplitAct<B, K>;
  static constexpr int kRun = A::kRun, kPer = A::kRunsPerThread;
  __device__ static int run_of(int i) { return static_cast<int>(threadIdx.x) + i * kNormThreads; }  // the i-th run
  __device__ static bool live(int i) { return run_of(i) < K / kRun; }
  // The run's kRun values of src (16-byte loads: coalesced across the warp), zeros past the row.
  __device__ static void load(const float* src, int i, float (&v)[kRun]) {
    if (!live(i)) {
#pragma unroll
      for (int k = 0; k < kRun; ++k) v[k] = 0.0f;
    } else if (reinterpret_cast<uintptr_t>(src) % 16 == 0) {
#pragma unroll
      for (int k = 0; k < kRun; k += 4) {
        const float4 f = *reinterpret_cast<const float4*>(src + kRun * run_of(i) + k);
        v[k] = f.x, v[k + 1] = f.y, v[k + 2] = f.z, v[k + 3] = f.w;
      }
    } else {
#pragma unroll
      for (int k = 0; k < kRun; ++k) v[k] = src[kRun * run_of(i) + k];
    }
  }
};

template <class B, int K> struct InputStage<B, K, NormInput> {
  using R = RunStage<B, K>;
  float w[R::kPer][R::kRun];
  __device__ __forceinline__ void before_wait(const NormInput& in) {
#pragma unroll
    for (int i = 0; i < R::kPer; ++i) R::load(in.weight, i, w[i]);
  }
  __device__ __forceinline__ void run(const NormInput& in, SplitAct<B, K>& a) {
    float x[R::kPer][R::kRun];
#pragma unroll
    for (int i = 0; i < R::kPer; ++i) R::load(in.x, i, x[i]);
    const NormStats st = norm_stats_at([&](int e) { return x[e / R::kRun][e % R::kRun]; },
                                       [](int e) { return R::kRun * R::run_of(e / R::kRun) + e % R::kRun; },
                                       R::kPer * R::kRun, K, in.layer_norm, in.eps, a.scratch);
#pragma unroll
    for (int i = 0; i < R::kPer; ++i) {
      float v[R::kRun];
#pragma unroll
      for (int k = 0; k < R::kRun; ++k) {
        const int j = R::kRun * R::run_of(i) + k;
        v[k] = R::live(i) ? norm_value(x[i][k], st, w[i][k], in.offset, in.bias, j) : 0.0f;
      }
      a.put_run(R::run_of(i), v);
    }
  }
};

template <class B, int K, class E> struct InputStage<B, K, EmbedInput<E>> {
  InputStage<B, K, NormInput> norm;
  __device__ __forceinline__ void before_wait(const EmbedInput<E>& in) { norm.before_wait(in.norm); }
  __device__ __forceinline__ void run(const EmbedInput<E>& in, SplitAct<B, K>& a) {
    __shared__ __align__(16) float x[K];
    const uint8_t* row = in.table + static_cast<size_t>(in.params[1]) * in.row_bytes;
    for (int u = threadIdx.x; u < K / 32; u += 32 * kSplitWarps) {
      float v[32];
      embed_unit<E, K>(row, u, in.scale, v);
#pragma unroll
      for (int j = 0; j < 32; ++j) {
        x[32 * u + j] = v[j];
        if (blockIdx.x == 0) in.x[32 * u + j] = v[j];
      }
    }
    __syncthreads();
    NormInput n = in.norm;
    n.x = x;
    norm.run(n, a);
  }
};

template <class B, int K> struct InputStage<B, K, GluInput> {
  using R = RunStage<B, K>;
  __device__ __forceinline__ void before_wait(const GluInput&) {}
  __device__ __forceinline__ void run(const GluInput& in, SplitAct<B, K>& a) {
    float g[R::kPer][R::kRun], u[R::kPer][R::kRun];
#pragma unroll
    for (int i = 0; i < R::kPer; ++i) {
      R::load(in.gate, i, g[i]);
      R::load(in.up, i, u[i]);
    }
#pragma unroll
    for (int i = 0; i < R::kPer; ++i) {
      float v[R::kRun];
#pragma unroll
      for (int k = 0; k < R::kRun; ++k) v[k] = R::live(i) ? glu_value(g[i][k], u[i][k], in.gelu) : 0.0f;
      a.put_run(R::run_of(i), v);
    }
  }
};

// The block's input staged around the wait for the kernel before (what
// does not depend on it first), then a barrier: `act` is ready. after_wait()
// runs right after the wait, before the staging (loads whose latency the
// staging then hides).
template <class B, int K, class In, class AfterWait>
__device__ __forceinline__ void stage_across_wait(const In& in, SplitAct<B, K>& act, AfterWait after_wait) {
  InputStage<B, K, In> stage;
  stage.before_wait(in);
  pdl_wait();
  pdl_launch_dependents();
  after_wait();
  stage.run(in, act);
  __syncthreads();
}
template <class B, int K, class In>
__device__ __forceinline__ void stage_across_wait(const In& in, SplitAct<B, K>& act) {
  stage_across_wait<B, K>(in, act, [] {});
}

// R rows' weights as a warp holds them (a row group; matvec_glu: a gate row and its up row).
template <class B, int K, int R> struct SplitLoads {
  using M = SplitMatvec<B, K>;
  uint4 q[R][M::kPerLane];
  float d[R][M::kPerLane];
  __device__ __forceinline__ void load(const MatvecPart& part, int row0, int lane) {
#pragma unroll
    for (int i = 0; i < R; ++i) {
      const int r = min(row0 + i, part.rows - 1);  // rows past the end load the last row, write nothing
      load_row(i, part.w + static_cast<size_t>(r) * part.row_bytes, lane);
    }
  }
  __device__ __forceinline__ void load_row(int i, const uint8_t* wr, int lane) {
#pragma unroll
    for (int j = 0; j < M::kPerLane; ++j) {
      const int p = lane + 32 * j;
      if (M::kPieces % 32 == 0 || p < M::kPieces) {
        q[i][j] = ld128_once(wr + 16 * p);
        d[i][j] = split_scale<B, K>(wr, M::kQ8 ? p / 2 : p);
      } else {
        q[i][j] = make_uint4(0, 0, 0, 0);
        d[i][j] = 0.0f;
      }
    }
  }
};

template <class B, int K, int R>
__device__ __forceinline__ void split_rows_dot(const SplitLoads<B, K, R>& w, const SplitAct<B, K>& a, int lane,
                                               float* acc) {
  using M = SplitMatvec<B, K>;
#pragma unroll
  for (int j = 0; j < M::kPerLane; ++j) {
    const int p = lane + 32 * j;
    const bool live = M::kPieces % 32 == 0 || p < M::kPieces;
    if constexpr (M::kQ8) {
      const uint4 x = live ? a.q[p] : make_uint4(0, 0, 0, 0);
      const float dx = live ? a.d[p / 2] : 0.0f;
#pragma unroll
      for (int i = 0; i < R; ++i) {
        const uint4 q = w.q[i][j];
        int s = __dp4a(static_cast<int>(q.x), static_cast<int>(x.x), 0);
        s = __dp4a(static_cast<int>(q.y), static_cast<int>(x.y), s);
        s = __dp4a(static_cast<int>(q.z), static_cast<int>(x.z), s);
        s = __dp4a(static_cast<int>(q.w), static_cast<int>(x.w), s);
        s += __shfl_xor_sync(0xffffffffu, s, 1);  // the block's other half
        if (lane % 2 == 0) acc[i] = __fadd_rn(acc[i], block_term(w.d[i][j], dx, s));
      }
    } else if (live) {
      const uint4 lo = a.q[p], hi = a.q[M::kPieces + p];
      const int xl[4] = {static_cast<int>(lo.x), static_cast<int>(lo.y), static_cast<int>(lo.z), static_cast<int>(lo.w)};
      const int xh[4] = {static_cast<int>(hi.x), static_cast<int>(hi.y), static_cast<int>(hi.z), static_cast<int>(hi.w)};
      const float dx = a.d[p];
      const int x8 = 8 * a.sum[p];
#pragma unroll
      for (int i = 0; i < R; ++i) {
        const uint32_t q[4] = {w.q[i][j].x, w.q[i][j].y, w.q[i][j].z, w.q[i][j].w};
        // sum((nibble - 8) * x) = sum(nibble * x) - 8 sum(x): the same integer, 8 fewer instructions
        int s = -x8;
#pragma unroll
        for (int k = 0; k < 4; ++k) {
          s = __dp4a(static_cast<int>(q[k] & 0x0f0f0f0fu), xl[k], s);
          s = __dp4a(static_cast<int>((q[k] >> 4) & 0x0f0f0f0fu), xh[k], s);
        }
        acc[i] = __fadd_rn(acc[i], block_term(w.d[i][j], dx, s));
      }
    }
  }
}

// kArgmax (the output projection of a decode step, one part), where
// am.params is set: the blocks also take the first maximum of the outputs
// they store, and the last block writes it as the next token
// (forge_kernels.cuh argmax_finish): argmax_next's token without its launch.
template <class B, int K, int N, class In, bool kArgmax = false>
__global__ void __launch_bounds__(32 * kSplitWarps, 2)  // 2 blocks an SM: 16 warps of loads in flight
    matvec_split(const __grid_constant__ MatvecParts<N> ps, const __grid_constant__ In in, const ArgmaxNext am) {
  using M = SplitMatvec<B, K>;
  static_assert(32 * kSplitWarps == kArgmaxThreads, "argmax_finish's block size");
  __shared__ SplitAct<B, K> act;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  constexpr int R = M::template rows<kArgmax>(), D = M::template depth<kArgmax>();
  const int groups = ps.blocks(R), stride = gridDim.x * kSplitWarps;
  int g = blockIdx.x * kSplitWarps + warp, row0 = 0, r_next = 0;
  // This warp's first D groups are in flight before the wait and while the
  // block stages its input.
  SplitLoads<B, K, R> buf[D];
#pragma unroll
  for (int d = 0; d < D; ++d) {
    if (g + d * stride < groups) buf[d].load(part_of(ps, g + d * stride, R, &r_next), r_next, lane);
  }
  // Once this warp has asked for its last group (`last`), its share of the next weights.
  auto loads_issued = [&](int last) {
    if (lane == 0 && last + stride >= groups) prefetch_l2(ps.next, blockIdx.x * kSplitWarps + warp, stride);
  };
  loads_issued(g + (D - 1) * stride);
  // A projection adding to the residual stream: the first group's outputs as
  // they are, loaded after the wait (the staging hides the latency; before,
  // store_out loaded them after the products, one L2 round trip more).
  float prior[R];
  stage_across_wait<B, K>(in, act, [&] {
    if (lane != 0 || g >= groups) return;
    const MatvecPart& part = part_of(ps, g, R, &row0);
#pragma unroll
    for (int i = 0; i < R; ++i) prior[i] = part.accumulate && row0 + i < part.rows ? part.y[row0 + i] : 0.0f;
  });
  float best = -INFINITY;  // am: this warp's first maximum (lane 0; rows ascending)
  int best_at = 0x7fffffff;
  for (bool first = true; g < groups; g += stride, first = false) {
    const MatvecPart& part = part_of(ps, g, R, &row0);
    float acc[R];
#pragma unroll
    for (int i = 0; i < R; ++i) acc[i] = 0.0f;
    split_rows_dot<B, K>(buf[0], act, lane, acc);
#pragma unroll
    for (int i = 0; i < R; ++i) {
      // One piece a lane: block b's term is on lane b (Q4_0) or 2b (Q8_0), summed in block order.
      const float s = warp_sum<M::kPerLane == 1, M::kPieces < 32 ? M::kPieces : 32, M::kQ8 ? 2 : 1>(acc[i]);
      if (lane == 0 && row0 + i < part.rows) {
        if (first && part.accumulate) {  // store_out's sum, with the output loaded before
          const int r = row0 + i;
          part.y[r] = prior[i] + (part.bias ? s + part.bias[r] : s);
        } else {
          store_out(part, row0 + i, row0 + i, s);
        }
        if (kArgmax && am.params) take_first_max(part.bias ? s + part.bias[row0 + i] : s, row0 + i, best, best_at);
      }
    }
#pragma unroll
    for (int d = 0; d + 1 < D; ++d) buf[d] = buf[d + 1];
    if (g + D * stride < groups) {  // in flight while the groups before it are multiplied
      buf[D - 1].load(part_of(ps, g + D * stride, R, &r_next), r_next, lane);
      loads_issued(g + D * stride);
    }
  }
  if constexpr (kArgmax) {
    if (am.params) argmax_finish(best, best_at, am);
  }
}

// GLU outputs of a gate and an up projection of one row (the FFNs of
// one-token steps too wide for GluInput, codegen's decode fusions): a block
// takes 32 consecutive outputs at a time, a warp 4 of them, each from its
// gate row and its up row held together (SplitLoads of 2 rows); warp 0 then
// writes the block's 32 values and quantizes them for the down projection.
// The same products, sums, act(gate) * up and quantization as matvec_split
// followed by the glu kernel: the same bits, one launch less.
struct GluOut {
  float* y;  // act(gate) * up (the gate's buffer, as the glu kernel writes it)
  bool gelu;
  Q8Out q;   // y quantized as fake_quant_q8_0 does (the down projection's input)
};

template <class B, int K, int N, class In>
__global__ void __launch_bounds__(32 * kSplitWarps, 2)
    matvec_glu(const __grid_constant__ MatvecParts<N> ps, const __grid_constant__ In in, const GluOut out) {
  static_assert(N == 2, "a gate and an up projection");
  using M = SplitMatvec<B, K>;
  constexpr bool kPrefetch = M::kPerLane <= 4;  // two outputs' rows fit the registers
  __shared__ SplitAct<B, K> act;
  __shared__ float vals[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const MatvecPart &gate = ps.p[0], &up = ps.p[1];
  // This warp's outputs t = 0, 1, ...: 4 of each span of 32 the block takes.
  const int spans = gate.rows / 32;
  const int count = static_cast<int>(blockIdx.x) < spans ? 4 * ((spans - 1 - blockIdx.x) / gridDim.x + 1) : 0;
  auto output = [&](int t) { return (blockIdx.x + t / 4 * gridDim.x) * 32 + 4 * warp + t % 4; };
  auto load = [&](SplitLoads<B, K, 2>& w, int t) {
    const size_t o = output(t);
    w.load_row(0, gate.w + o * gate.row_bytes, lane);
    w.load_row(1, up.w + o * up.row_bytes, lane);
  };
  SplitLoads<B, K, 2> cur, next;
  if (count > 0) load(cur, 0);
  if constexpr (kPrefetch) {
    if (count > 1) load(next, 1);
  }
  // Once this warp has asked for its last output's rows (`last`), its share of the next weights.
  auto loads_issued = [&](int last) {
    if (lane == 0 && last + 1 >= count) prefetch_l2(ps.next, blockIdx.x * kSplitWarps + warp, gridDim.x * kSplitWarps);
  };
  loads_issued(kPrefetch ? 1 : 0);
  // Matrices of at least kL2PrefetchMinBytes (streamed, not latency-bound):
  // the rows of this warp's outputs past the first two are asked for at the
  // start too, into L2 (the registers take them later), so that DRAM has all
  // of the kernel's bytes to fetch from its start. H100, tg128: 1b Q8_0 1689
  // -> 1710 tok/s, 1b Q4_0 1860 -> 1905, 3b Q8_0 576 -> 584 (past the first
  // output, where the registers hold one at a time: 573); smollm2-360m's 2.6
  // MB matrices 1984 -> 1960, hence the floor.
  if (lane == 0 && static_cast<size_t>(gate.rows) * gate.row_bytes >= kL2PrefetchMinBytes) {
    for (int t = 2; t < count; ++t) {
      prefetch_l2(L2Prefetch{gate.w + output(t) * gate.row_bytes, gate.row_bytes}, 0, 1);
      prefetch_l2(L2Prefetch{up.w + output(t) * up.row_bytes, up.row_bytes}, 0, 1);
    }
  }
  stage_across_wait<B, K>(in, act);
  for (int t = 0; t < count; ++t) {  // count: the same for every warp of the block
    float acc[2] = {0.0f, 0.0f};
    split_rows_dot<B, K>(cur, act, lane, acc);
    const float g = warp_sum<M::kPerLane == 1, M::kPieces < 32 ? M::kPieces : 32, M::kQ8 ? 2 : 1>(acc[0]);
    const float u = warp_sum<M::kPerLane == 1, M::kPieces < 32 ? M::kPieces : 32, M::kQ8 ? 2 : 1>(acc[1]);
    const int o = output(t);
    if (lane == 0) {
      vals[4 * warp + t % 4] =
          glu_value(gate.bias ? g + gate.bias[o] : g, up.bias ? u + up.bias[o] : u, out.gelu);
    }
    if constexpr (kPrefetch) {
      cur = next;
      if (t + 2 < count) {
        load(next, t + 2);
        loads_issued(t + 2);
      }
    } else if (t + 1 < count) {
      load(cur, t + 1);
      loads_issued(t + 1);
    }
    if (t % 4 == 3) {  // the span is done
      __syncthreads();
      if (warp == 0) {
        const int e = (blockIdx.x + t / 4 * gridDim.x) * 32 + lane;
        out.y[e] = vals[lane];
        if (out.q.vals) warp_fake_quant_q8_0(vals[lane], out.q, e);
      }
      __syncthreads();
    }
  }
}

// Blocks that fit the GPU at once.
template <class Kernel>
int blocks_that_fit(Kernel kernel, int threads) {
  int device = 0, sms = 0, per_sm = 0;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, threads, 0);
  return std::max(1, sms * std::max(1, per_sm));
}

// act(gate) * up for one activation row (ps: the gate, then the up
// projection; split rows of one type; rows a multiple of 32).
template <class B, int K, int N, class In>
void launch_matvec_glu(cudaStream_t s, const MatvecParts<N>& ps, const In& in, const GluOut& out) {
  static const int fit = blocks_that_fit(matvec_glu<B, K, N, In>, 32 * kSplitWarps);
  launch(matvec_glu<B, K, N, In>, dim3(std::max(1, std::min(fit, ps.p[0].rows / 32))), dim3(32 * kSplitWarps), 0, s,
         ps, in, out);
}

// Blocks of a persistent matvec_split launch: as many as fit the GPU at
// once (measured once per kernel), no more than there are row groups for.
template <class B, int K, int N, class In, bool kArgmax = false>
unsigned split_grid(const MatvecParts<N>& ps) {
  static const int fit = blocks_that_fit(matvec_split<B, K, N, In, kArgmax>, 32 * kSplitWarps);
  const int needed = (ps.blocks(SplitMatvec<B, K>::template rows<kArgmax>()) + kSplitWarps - 1) / kSplitWarps;
  return static_cast<unsigned>(std::max(1, std::min(fit, needed)));
}

// y = W in for one activation row, W in split rows (every part Q8_0 or every
// part Q4_0), the input levels, or a norm or GLU computed on the way.
template <class B, int K, int N, class In>
void launch_matvec_split(cudaStream_t s, const MatvecParts<N>& ps, const In& in) {
  launch(matvec_split<B, K, N, In>, dim3(split_grid<B, K, N, In>(ps)), dim3(32 * kSplitWarps), 0, s, ps, in,
         ArgmaxNext{});
}
// The same, and where am.params is set, the first maximum of y becomes the
// next token (one part: the logits).
template <class B, int K, int N, class In>
void launch_matvec_split(cudaStream_t s, const MatvecParts<N>& ps, const In& in, const ArgmaxNext& am) {
  static_assert(N == 1, "the argmax of one projection's outputs");
  const unsigned grid = std::min<unsigned>(split_grid<B, K, N, In, true>(ps), kArgmaxMaxBlocks);
  launch(matvec_split<B, K, N, In, true>, dim3(grid), dim3(32 * kSplitWarps), 0, s, ps, in, am);
}

// Host-side launch of y = W x for `batch` rows and every part (one weight
// matrix each, same type and row length, same input): one column per pass for
// a decode step, eight for prefill (the weight row is dequantized once per
// eight activation rows).
// xsum: the activation blocks' sums (Q8_1: Q4_1 and Q5_1 weights), else unused.
// levels, scales: the input's int8 levels (Q8Out; IntDot weights: Q8_0, Q4_0, Q5_0), or
// null for the float kernels.
template <class B, int K, int N>
void launch_matvec_parts(cudaStream_t s, const MatvecParts<N>& ps, const float* x, const float* xsum, int batch,
                         const int8_t* levels = nullptr, const float* scales = nullptr) {
  // if constexpr: the decode kernels exist only for the types and row lengths they serve.
  if constexpr (Split<B>::kValue) {
    if (batch == 1 && levels) {
      launch_matvec_split<B, K, N>(s, ps, LevelsInput{levels, scales});
      return;
    }
  } else if constexpr (CoalescedDot<B>::kValue && K % 32 == 0) {
    if (batch == 1) {
      if constexpr (std::is_same_v<B, BlockQ6_K>) {
        launch(matvec_q6k<K, N>, dim3(ps.blocks(kMatvecWarps * Q6Rows<K>::kRows)), dim3(32 * kMatvecWarps), 0, s, ps,
               x);
      } else {
        launch(matvec_coalesced<B, K, N>, dim3(ps.blocks(kMatvecWarps)), dim3(32 * kMatvecWarps), 0, s, ps, x);
      }
      return;
    }
  }
  const dim3 grid(ps.blocks(kMatvecWarps));
  if constexpr (IntDot<B>::kValue && K % 32 == 0) {
    if (levels) {
      if (batch == 1) launch(matvec_int<B, K, 1, N>, grid, dim3(32 * kMatvecWarps), 0, s, ps, levels, scales, batch);
      else launch(matvec_int<B, K, 8, N>, grid, dim3(32 * kMatvecWarps), 0, s, ps, levels, scales, batch);
      return;
    }
  }
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

}  // namespace forge::kernels::cuda
