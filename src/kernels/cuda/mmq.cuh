// Prefill products of Q8_0 / Q4_0 weights with Q8_0 activations on the int8
// tensor cores (mma.sync m16n8k32): the interpreter's arithmetic, not an
// approximation of it. One m16n8k32 product covers exactly one 32-weight
// block, so each block's integer sum sum(q_w * q_a) comes out of the tensor
// core exact and is scaled as quant_legacy.cpp's vec_dot does:
// s += d_w * d_a * float(sumi), block after block.
//
// Tiles: a thread block of 8 warps computes 64 weight rows x 128 activation
// rows; each warp 32 x 32 (2 x 4 mma tiles). Four quant blocks (K = 128) are
// staged in shared memory at a time, as int8 rows of 144 bytes (128 + 16:
// with the 4-byte fragment reads at 36 words a row, the 32 lanes of a warp
// hit 32 different banks) plus one float scale per block; the next stage's
// global loads are issued before this stage's products (held in registers).
#pragma once

#include <cstdint>
#include <type_traits>

#include "kernels/cuda/forge_kernels.cuh"

namespace forge::kernels::cuda {

template <class B> struct MmqTakes {
  static constexpr bool kValue = std::is_same_v<B, BlockQ8_0> || std::is_same_v<B, BlockQ4_0>;
};

constexpr int kMmqRows = 64;     // weight rows a thread block
constexpr int kMmqCols = 128;    // activation rows (tokens) a thread block
constexpr int kMmqThreads = 256; // 8 warps, 2 x 4, each 32 rows x 32 tokens
constexpr int kMmqStage = 4;     // quant blocks (of 32) staged at a time
constexpr int kMmqStride = 32 * kMmqStage + 16;  // bytes a staged row

__device__ __forceinline__ void mma_s8(int* c, const uint32_t* a, uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%10, %11, %12, %13};\n"
      : "=r"(c[0]), "=r"(c[1]), "=r"(c[2]), "=r"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1), "r"(0), "r"(0), "r"(0), "r"(0));
}

// One stage of a thread's share of the tile loads, held in registers while
// the previous stage is multiplied (the loads' latency hides behind the mma):
// one (row, block) of weights as 32 int8 levels and its scale, 4 16-byte
// pieces of activation levels, 2 activation scales.
struct MmqLoads {
  uint32_t wq[8];
  float wd;
  uint4 xq[4];
  float xd[2];
};

template <class B, int K>
__device__ __forceinline__ void mmq_load(MmqLoads& L, const uint8_t* __restrict__ w, size_t row_bytes, int rows,
                                         const int8_t* __restrict__ qa, const float* __restrict__ da, int n, int row0,
                                         int col0, int b0, int tid) {
  constexpr int kBlocks = K / 32;
  {  // weights (split rows): thread tid takes row tid / 4, block tid % 4 (neighbouring threads, neighbouring blocks)
    const int gr = row0 + tid / kMmqStage, gb = b0 + tid % kMmqStage;
    if (gr < rows && gb < kBlocks) {
      const uint8_t* row = w + static_cast<size_t>(gr) * row_bytes;
      L.wd = split_scale<B, K>(row, gb);
      if constexpr (std::is_same_v<B, BlockQ8_0>) {
        const uint4 a = ld128(row + 32 * gb), b = ld128(row + 32 * gb + 16);
        L.wq[0] = a.x, L.wq[1] = a.y, L.wq[2] = a.z, L.wq[3] = a.w;
        L.wq[4] = b.x, L.wq[5] = b.y, L.wq[6] = b.z, L.wq[7] = b.w;
      } else {
        // Q4_0: byte j holds weight j (low nibble) and j + 16 (high); level - 8.
        const uint4 a = ld128(row + 16 * gb);
        const uint32_t q[4] = {a.x, a.y, a.z, a.w};
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          L.wq[j] = __vsub4(q[j] & 0x0f0f0f0fu, 0x08080808u);
          L.wq[4 + j] = __vsub4((q[j] >> 4) & 0x0f0f0f0fu, 0x08080808u);
        }
      }
    } else {
      L.wd = 0.0f;
#pragma unroll
      for (int j = 0; j < 8; ++j) L.wq[j] = 0;
    }
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {  // activations: 128 rows x 8 pieces of 16 bytes
    const int p = tid + kMmqThreads * i, t = p / 8, c = p % 8;
    const int gt = col0 + t, gb = b0 + c / 2;
    L.xq[i] = gt < n && gb < kBlocks ? __ldg(reinterpret_cast<const uint4*>(qa + static_cast<size_t>(gt) * K + 32 * b0 + 16 * c))
                                     : make_uint4(0, 0, 0, 0);
  }
#pragma unroll
  for (int i = 0; i < 2; ++i) {  // activation scales: 128 rows x 4 blocks
    const int p = tid + kMmqThreads * i, t = p / kMmqStage, kb = p % kMmqStage;
    const int gt = col0 + t, gb = b0 + kb;
    L.xd[i] = gt < n && gb < kBlocks ? __ldg(da + static_cast<size_t>(gt) * kBlocks + gb) : 0.0f;
  }
}

// y[t][r] = W[r] . x[t] (+ bias[r]) for t < n. qa: n rows of K int8 levels,
// da: n rows of K / 32 block scales (forge_kernels.cuh Q8Out).
// One block an SM (~170 registers a thread, no spills): measured 10-20% faster
// than the same kernel held to 128 registers for two blocks an SM (it spills)
// and than 4 warps of 32 x 64 without the prefetch (H200, docs/cuda.md).
template <class B, int K>
__global__ void __launch_bounds__(kMmqThreads)
    mmq(const uint8_t* __restrict__ w, size_t row_bytes, int rows, const int8_t* __restrict__ qa,
        const float* __restrict__ da, int n, float* __restrict__ y, const float* __restrict__ bias) {
  pdl_wait();
  pdl_launch_dependents();
  static_assert(MmqTakes<B>::kValue && K % 32 == 0, "mmq: Q8_0 / Q4_0 rows of whole blocks");
  constexpr int kBlocks = K / 32;
  __shared__ alignas(16) int8_t ws[kMmqRows * kMmqStride];
  __shared__ alignas(16) int8_t xs[kMmqCols * kMmqStride];
  __shared__ float wd[kMmqRows][kMmqStage];
  __shared__ float xd[kMmqCols][kMmqStage];
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int g = lane / 4, tig = lane % 4;  // mma fragment coordinates (PTX ISA, m16n8k32 .s8)
  const int row0 = blockIdx.x * kMmqRows, col0 = blockIdx.y * kMmqCols;
  const int wm = (warp % 2) * 32, wn = (warp / 2) * 32;
  float acc[2][4][4];
#pragma unroll
  for (int mt = 0; mt < 2; ++mt)
#pragma unroll
    for (int nt = 0; nt < 4; ++nt)
#pragma unroll
      for (int i = 0; i < 4; ++i) acc[mt][nt][i] = 0.0f;

  MmqLoads L;
  mmq_load<B, K>(L, w, row_bytes, rows, qa, da, n, row0, col0, 0, tid);
  for (int b0 = 0; b0 < kBlocks; b0 += kMmqStage) {
    {  // the loaded stage into shared memory
      uint4* dst = reinterpret_cast<uint4*>(ws + (tid / kMmqStage) * kMmqStride + 32 * (tid % kMmqStage));
      dst[0] = make_uint4(L.wq[0], L.wq[1], L.wq[2], L.wq[3]);
      dst[1] = make_uint4(L.wq[4], L.wq[5], L.wq[6], L.wq[7]);
      wd[tid / kMmqStage][tid % kMmqStage] = L.wd;
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int p = tid + kMmqThreads * i;
        *reinterpret_cast<uint4*>(xs + (p / 8) * kMmqStride + 16 * (p % 8)) = L.xq[i];
      }
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        const int p = tid + kMmqThreads * i;
        xd[p / kMmqStage][p % kMmqStage] = L.xd[i];
      }
    }
    __syncthreads();
    if (b0 + kMmqStage < kBlocks) mmq_load<B, K>(L, w, row_bytes, rows, qa, da, n, row0, col0, b0 + kMmqStage, tid);
#pragma unroll
    for (int kb = 0; kb < kMmqStage; ++kb) {
      if (kBlocks % kMmqStage != 0 && b0 + kb >= kBlocks) break;
      uint32_t a[2][4];
      float dw[2][2];
#pragma unroll
      for (int mt = 0; mt < 2; ++mt) {
        const int r = wm + 16 * mt + g;
        const int8_t* base = ws + r * kMmqStride + 32 * kb + 4 * tig;
        a[mt][0] = *reinterpret_cast<const uint32_t*>(base);                        // row g, k 4 tig ..
        a[mt][1] = *reinterpret_cast<const uint32_t*>(base + 8 * kMmqStride);       // row g + 8
        a[mt][2] = *reinterpret_cast<const uint32_t*>(base + 16);                   // row g, k 16 + 4 tig ..
        a[mt][3] = *reinterpret_cast<const uint32_t*>(base + 8 * kMmqStride + 16);  // row g + 8, k 16 + ..
        dw[mt][0] = wd[r][kb];
        dw[mt][1] = wd[r + 8][kb];
      }
#pragma unroll
      for (int nt = 0; nt < 4; ++nt) {
        const int8_t* bb = xs + (wn + 8 * nt + g) * kMmqStride + 32 * kb + 4 * tig;
        const uint32_t b0r = *reinterpret_cast<const uint32_t*>(bb);       // token g, k 4 tig ..
        const uint32_t b1r = *reinterpret_cast<const uint32_t*>(bb + 16);  // token g, k 16 + 4 tig ..
        const float dx0 = xd[wn + 8 * nt + 2 * tig][kb], dx1 = xd[wn + 8 * nt + 2 * tig + 1][kb];
#pragma unroll
        for (int mt = 0; mt < 2; ++mt) {
          int c[4];
          mma_s8(c, a[mt], b0r, b1r);
          // c: (row g, token 2 tig), (g, 2 tig + 1), (g + 8, 2 tig), (g + 8, 2 tig + 1)
          // block after block, each term as the interpreter forms it: its float, bit for bit
          acc[mt][nt][0] = __fadd_rn(acc[mt][nt][0], block_term(dw[mt][0], dx0, c[0]));
          acc[mt][nt][1] = __fadd_rn(acc[mt][nt][1], block_term(dw[mt][0], dx1, c[1]));
          acc[mt][nt][2] = __fadd_rn(acc[mt][nt][2], block_term(dw[mt][1], dx0, c[2]));
          acc[mt][nt][3] = __fadd_rn(acc[mt][nt][3], block_term(dw[mt][1], dx1, c[3]));
        }
      }
    }
    __syncthreads();  // the next stage overwrites ws, xs
  }
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
    for (int nt = 0; nt < 4; ++nt) {
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int r = row0 + wm + 16 * mt + g + 8 * (i / 2);
        const int t = col0 + wn + 8 * nt + 2 * tig + (i % 2);
        if (r < rows && t < n) y[static_cast<size_t>(t) * rows + r] = bias ? acc[mt][nt][i] + bias[r] : acc[mt][nt][i];
      }
    }
  }
}

// Host side. qa, da: the n x K activations' int8 levels and scales (Q8Out).
template <class B, int K>
void launch_mmq(cudaStream_t s, const uint8_t* w, size_t row_bytes, int rows, const int8_t* qa, const float* da, int n,
                float* y, const float* bias) {
  const dim3 grid((rows + kMmqRows - 1) / kMmqRows, (n + kMmqCols - 1) / kMmqCols);
  launch(mmq<B, K>, grid, dim3(kMmqThreads), 0, s, w, row_bytes, rows, qa, da, n, y, bias);
}

}  // namespace forge::kernels::cuda
