// Prefill products of Q8_0 / Q4_0 weights with Q8_0 activations on the int8
// tensor cores (mma.sync m16n8k32): the interpreter's arithmetic, not an
// approximation of it. One m16n8k32 product covers exactly one 32-weight
// block, so each block's integer sum sum(q_w * q_a) comes out of the tensor
// core exact and is scaled as quant_legacy.cpp's vec_dot does:
// s += d_w * d_a * float(sumi), block after block.
//
// Tiles: a thread block of 8 warps (2 x 4) computes BM weight rows x 128
// activation rows (tokens); each warp BM / 2 rows x 32 tokens. Four quant
// blocks (K = 128) form a stage; kMmqStages stages are in flight, copied
// global -> shared by cp.async (no registers held for them), so the copies of
// the next two stages overlap this stage's products. Shared rows are padded
// by 16 bytes (144 bytes a Q8_0 / activation row, 80 a Q4_0 row) so that the
// 8 rows of an ldmatrix phase hit distinct banks. Q4_0 weights stay packed
// in shared memory (16 bytes a block) and are unpacked from the fragment.
//
// Why this shape: the per-block scaling (an int-to-float, two products and a
// sum per output and block, which the exactness requires) and the shared
// memory reads of fragments and scales cost more than the mma itself, so a
// warp's tile is as large as its registers allow (BM = 128: 4 x 4 mma tiles,
// each A fragment used 4 times, each B fragment 4 times).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "kernels/cuda/forge_kernels.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/matvec.cuh"  // MatvecParts

namespace forge::kernels::cuda {

template <class B> struct MmqTakes {
  static constexpr bool kValue = std::is_same_v<B, BlockQ8_0> || std::is_same_v<B, BlockQ4_0>;
};

constexpr int kMmqCols = 128;    // activation rows (tokens) a thread block
constexpr int kMmqThreads = 256; // 8 warps, 2 (rows) x 4 (tokens)
constexpr int kMmqStage = 4;     // quant blocks (of 32) a stage
constexpr int kMmqStages = 3;    // stages in flight

// One stage's shared memory: weight quants (BM rows), activation levels
// (128 rows), weight scales (BM x 4 halves), activation scales (128 x 4 floats).
template <class B, int BM> struct MmqSmem {
  static constexpr int kWBlock = std::is_same_v<B, BlockQ8_0> ? 32 : 16;  // quant bytes a block
  static constexpr int kWStride = kWBlock * kMmqStage + 16;
  static constexpr int kXStride = 32 * kMmqStage + 16;
  static constexpr int kX = BM * kWStride;               // offset of the activation levels
  static constexpr int kWd = kX + kMmqCols * kXStride;   // of the weight scales
  static constexpr int kXd = kWd + BM * kMmqStage * 2;   // of the activation scales
  static constexpr int kStage = kXd + kMmqCols * kMmqStage * 4;
  static constexpr int kBytes = kStage * kMmqStages;
  static_assert(kX % 16 == 0 && kWd % 16 == 0 && kXd % 16 == 0 && kStage % 16 == 0, "16-byte aligned parts");
};

// c = A B (int32) for one m16n8k32 tile.
__device__ __forceinline__ void mma_s8(int* c, const uint32_t* a, uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%10, %11, %12, %13};\n"
      : "=r"(c[0]), "=r"(c[1]), "=r"(c[2]), "=r"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1), "r"(0), "r"(0), "r"(0), "r"(0));
}

// Q4_0 nibbles (4 a register, already masked to 0..15) as int8 levels - 8:
// (n + 120) ^ 128 is n - 8 in two's complement, with no carry between bytes.
__device__ __forceinline__ uint32_t q4_levels(uint32_t nibbles) { return (nibbles + 0x78787878u) ^ 0x80808080u; }

// The weight half of a stage (quants and scales; before pdl_wait, they need
// nothing from the kernel before): blocks b0 .. b0 + 3 of rows row0 ..
template <class B, int K, int BM>
__device__ __forceinline__ void mmq_copy_weights(uint8_t* st, const uint8_t* __restrict__ w, size_t row_bytes,
                                                 int rows, int row0, int b0, int tid) {
  using S = MmqSmem<B, BM>;
  constexpr int kBlocks = K / 32, kChunks = S::kWBlock * kMmqStage / 16;  // 16-byte pieces a row
  static_assert(BM * kChunks % kMmqThreads == 0, "whole pieces a thread");
#pragma unroll
  for (int i = 0; i < BM * kChunks / kMmqThreads; ++i) {
    const int p = tid + kMmqThreads * i, r = p / kChunks, c = p % kChunks, gr = row0 + r;
    const int byte = S::kWBlock * b0 + 16 * c;
    const bool ok = gr < rows && byte < S::kWBlock * kBlocks;
    cp_async<16>(st + r * S::kWStride + 16 * c, ok ? w + static_cast<size_t>(gr) * row_bytes + byte : w, ok);
  }
  // 4 scales (8 bytes, within the row's zero padding past the last block)
  if (tid < BM) {
    const int r = tid, gr = row0 + r;
    const bool ok = gr < rows;
    cp_async<8>(st + S::kWd + 8 * r,
                ok ? w + static_cast<size_t>(gr) * row_bytes + SplitRow<B, K>::kQuantBytes + 2 * b0 : w, ok);
  }
}

// The activation half: 128 rows' levels and scales of blocks b0 .. b0 + 3.
template <class B, int K, int BM>
__device__ __forceinline__ void mmq_copy_acts(uint8_t* st, const int8_t* __restrict__ qa, const float* __restrict__ da,
                                              int n, int col0, int b0, int tid) {
  using S = MmqSmem<B, BM>;
  constexpr int kBlocks = K / 32;
#pragma unroll
  for (int i = 0; i < kMmqCols * 8 / kMmqThreads; ++i) {
    const int p = tid + kMmqThreads * i, t = p / 8, c = p % 8, gt = col0 + t;
    const bool ok = gt < n && b0 + c / 2 < kBlocks;
    cp_async<16>(st + S::kX + t * S::kXStride + 16 * c, ok ? qa + static_cast<size_t>(gt) * K + 32 * b0 + 16 * c : qa,
                 ok);
  }
#pragma unroll
  for (int i = 0; i < kMmqCols * kMmqStage / kMmqThreads; ++i) {
    const int p = tid + kMmqThreads * i, t = p / kMmqStage, kb = p % kMmqStage, gt = col0 + t;
    const bool ok = gt < n && b0 + kb < kBlocks;
    cp_async<4>(st + S::kXd + 4 * p, ok ? da + static_cast<size_t>(gt) * kBlocks + b0 + kb : da, ok);
  }
}

// For each part: y[t][r] = W[r] . x[t] (+ bias[r]) for t < n (never
// accumulate: that is for one-token steps). The blocks along x take the
// parts' row tiles one part after another (q, k and v in one launch).
// qa: n rows of K int8 levels, da: n rows of K / 32 block scales (forge_kernels.cuh Q8Out).
template <class B, int K, int BM, int N>
__global__ void __launch_bounds__(kMmqThreads, BM == 128 ? 1 : 2)
    mmq(const MatvecParts<N> ps, const int8_t* __restrict__ qa, const float* __restrict__ da, int n) {
  static_assert(MmqTakes<B>::kValue && K % 32 == 0, "mmq: Q8_0 / Q4_0 rows of whole blocks");
  static_assert(BM == 64 || BM == 128, "mmq: 64 or 128 weight rows a block");
  using S = MmqSmem<B, BM>;
  constexpr bool kQ4 = std::is_same_v<B, BlockQ4_0>;
  constexpr int kBlocks = K / 32, kSteps = (kBlocks + kMmqStage - 1) / kMmqStage;
  constexpr int kMt = BM / 32;  // m16 tiles a warp
  constexpr int kNt = 4;        // n8 tiles a warp
  extern __shared__ __align__(16) uint8_t smem[];
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int g = lane / 4, tig = lane % 4;  // mma fragment coordinates (PTX ISA, m16n8k32 .s8)
  int part = 0, tile = blockIdx.x;
  while (part < N - 1 && tile >= (ps.p[part].rows + BM - 1) / BM) tile -= (ps.p[part].rows + BM - 1) / BM, ++part;
  const uint8_t* __restrict__ w = ps.p[part].w;
  const size_t row_bytes = ps.p[part].row_bytes;
  const int rows = ps.p[part].rows;
  const int row0 = tile * BM, col0 = blockIdx.y * kMmqCols;
  const int wm = (warp % 2) * (BM / 2), wn = (warp / 2) * 32;

#pragma unroll
  for (int s = 0; s < kMmqStages - 1; ++s) {
    if (s < kSteps) mmq_copy_weights<B, K, BM>(smem + s * S::kStage, w, row_bytes, rows, row0, s * kMmqStage, tid);
  }
  pdl_wait();
  pdl_launch_dependents();
#pragma unroll
  for (int s = 0; s < kMmqStages - 1; ++s) {
    if (s < kSteps) mmq_copy_acts<B, K, BM>(smem + s * S::kStage, qa, da, n, col0, s * kMmqStage, tid);
    cp_async_commit();
  }

  float acc[kMt][kNt][4];
#pragma unroll
  for (int mt = 0; mt < kMt; ++mt)
#pragma unroll
    for (int nt = 0; nt < kNt; ++nt)
#pragma unroll
      for (int i = 0; i < 4; ++i) acc[mt][nt][i] = 0.0f;

  // ldmatrix row addresses: lanes 8i .. 8i+7 give matrix i's rows.
  const int lrow = lane % 8, lmat = lane / 8;
  for (int step = 0; step < kSteps; ++step) {
    cp_async_wait<kMmqStages - 2>();  // this stage's copies (this thread's) done
    __syncthreads();                  // everyone's; and the stage read last iteration is free
    {
      const int next = step + kMmqStages - 1;
      uint8_t* st = smem + (next % kMmqStages) * S::kStage;
      if (next < kSteps) {
        mmq_copy_weights<B, K, BM>(st, w, row_bytes, rows, row0, next * kMmqStage, tid);
        mmq_copy_acts<B, K, BM>(st, qa, da, n, col0, next * kMmqStage, tid);
      }
      cp_async_commit();  // empty groups at the end keep the count of wait<> right
    }
    const uint8_t* st = smem + (step % kMmqStages) * S::kStage;
    const __half* wd = reinterpret_cast<const __half*>(st + S::kWd);
    const float* xd = reinterpret_cast<const float*>(st + S::kXd);
#pragma unroll 1  // unrolled, the next block's fragments are loaded early: 254 registers and slower
    for (int kb = 0; kb < kMmqStage; ++kb) {
      if (kBlocks % kMmqStage != 0 && step * kMmqStage + kb >= kBlocks) break;
      uint32_t a[kMt][4];
      if constexpr (kQ4) {
        // Byte j of a block holds weight j (low nibble) and j + 16 (high): the
        // fragment's k 4 tig .. (a0, a1) and 16 + 4 tig .. (a2, a3) come from the same bytes.
#pragma unroll
        for (int mt = 0; mt < kMt; mt += 2) {
          uint32_t p[4];  // (mt, rows g), (mt, g + 8), (mt + 1, g), (mt + 1, g + 8)
          ldsm_x4(p, st + (wm + 16 * mt + 8 * lmat + lrow) * S::kWStride + 16 * kb);
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            a[mt + h][0] = q4_levels(p[2 * h] & 0x0f0f0f0fu);
            a[mt + h][1] = q4_levels(p[2 * h + 1] & 0x0f0f0f0fu);
            a[mt + h][2] = q4_levels((p[2 * h] >> 4) & 0x0f0f0f0fu);
            a[mt + h][3] = q4_levels((p[2 * h + 1] >> 4) & 0x0f0f0f0fu);
          }
        }
      } else {
#pragma unroll
        for (int mt = 0; mt < kMt; ++mt) {
          // matrices: rows g (k 0..15), g + 8 (k 0..15), g (k 16..31), g + 8 (k 16..31)
          ldsm_x4(a[mt], st + (wm + 16 * mt + 8 * (lmat % 2) + lrow) * S::kWStride + 32 * kb + 16 * (lmat / 2));
        }
      }
      float dw[kMt][2];
#pragma unroll
      for (int mt = 0; mt < kMt; ++mt) {
        dw[mt][0] = __half2float(wd[(wm + 16 * mt + g) * kMmqStage + kb]);
        dw[mt][1] = __half2float(wd[(wm + 16 * mt + g + 8) * kMmqStage + kb]);
      }
#pragma unroll
      for (int nt = 0; nt < kNt; nt += 2) {
        uint32_t b[4];  // (nt: k 0..15, k 16..31), (nt + 1: k 0..15, k 16..31)
        ldsm_x4(b, st + S::kX + (wn + 8 * (nt + lmat / 2) + lrow) * S::kXStride + 32 * kb + 16 * (lmat % 2));
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int t = wn + 8 * (nt + h) + 2 * tig;
          const float dx0 = xd[t * kMmqStage + kb], dx1 = xd[(t + 1) * kMmqStage + kb];
#pragma unroll
          for (int mt = 0; mt < kMt; ++mt) {
            int c[4];
            // c: (row g, token 2 tig), (g, 2 tig + 1), (g + 8, 2 tig), (g + 8, 2 tig + 1)
            // block after block, each term as the interpreter forms it: its float, bit for bit
            float* o = acc[mt][nt + h];
            mma_s8(c, a[mt], b[2 * h], b[2 * h + 1]);
            o[0] = __fadd_rn(o[0], block_term(dw[mt][0], dx0, c[0]));
            o[1] = __fadd_rn(o[1], block_term(dw[mt][0], dx1, c[1]));
            o[2] = __fadd_rn(o[2], block_term(dw[mt][1], dx0, c[2]));
            o[3] = __fadd_rn(o[3], block_term(dw[mt][1], dx1, c[3]));
          }
        }
      }
    }
  }
  cp_async_wait<0>();
  float* __restrict__ y = ps.p[part].y;
  const float* __restrict__ bias = ps.p[part].bias;
#pragma unroll
  for (int mt = 0; mt < kMt; ++mt) {
#pragma unroll
    for (int nt = 0; nt < kNt; ++nt) {
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int r = row0 + wm + 16 * mt + g + 8 * (i / 2);
        const int t = col0 + wn + 8 * nt + 2 * tig + (i % 2);
        if (r < rows && t < n) y[static_cast<size_t>(t) * rows + r] = bias ? acc[mt][nt][i] + bias[r] : acc[mt][nt][i];
      }
    }
  }
}

// Host side, one tile height. qa, da: the n x K activations' int8 levels
// (16-byte aligned: the codegen rounds --max-batch for it) and scales (Q8Out).
template <class B, int K, int BM, int N>
void launch_mmq_rows(cudaStream_t s, const MatvecParts<N>& ps, const int8_t* qa, const float* da, int n) {
  constexpr int kBytes = MmqSmem<B, BM>::kBytes;
  static const bool sized = [] {  // over 48 KB of dynamic shared memory must be asked for, once
    (void)cudaFuncSetAttribute(mmq<B, K, BM, N>, cudaFuncAttributeMaxDynamicSharedMemorySize, kBytes);
    return true;
  }();
  (void)sized;
  const dim3 grid(ps.blocks(BM), (n + kMmqCols - 1) / kMmqCols);
  launch(mmq<B, K, BM, N>, grid, dim3(kMmqThreads), kBytes, s, ps, qa, da, n);
}

// Tiles of 64 rows (two blocks an SM) where the 128-row tiles leave SMs idle
// in the last wave: a 64-row tile alone on an SM takes ~2/3 of a 128-row
// tile's time, two together about as long as one 128-row tile (kernel_check
// TIMING, H100: llama-3.2-3b's q+k+v, 5120 rows, 106 vs 130 us; its
// attn_output, 3072 rows, 70 vs 67 us; llama-3.2-1b's 2048 rows 33 vs 48 us).
inline bool mmq_small_tiles(long tiles128, long tiles64) {
  static const long sms = [] {
    int dev = 0, count = 0;
    (void)cudaGetDevice(&dev);
    (void)cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, dev);
    return count > 0 ? count : 1;
  }();
  const long waves128 = (tiles128 + sms - 1) / sms;  // one block an SM
  const long pairs64 = tiles64 / (2 * sms), rest64 = tiles64 % (2 * sms);
  // in thirds of a 128-row tile's time
  const long t128 = 3 * waves128, t64 = 3 * pairs64 + (rest64 == 0 ? 0 : rest64 <= sms ? 2 : 3);
  return t64 < t128;
}

template <class B, int K, int N>
void launch_mmq_parts(cudaStream_t s, const MatvecParts<N>& ps, const int8_t* qa, const float* da, int n) {
  const long cols = (n + kMmqCols - 1) / kMmqCols;
  if (mmq_small_tiles(ps.blocks(128) * cols, ps.blocks(64) * cols)) launch_mmq_rows<B, K, 64, N>(s, ps, qa, da, n);
  else launch_mmq_rows<B, K, 128, N>(s, ps, qa, da, n);
}

template <class B, int K>
void launch_mmq(cudaStream_t s, const uint8_t* w, size_t row_bytes, int rows, const int8_t* qa, const float* da, int n,
                float* y, const float* bias) {
  launch_mmq_parts<B, K, 1>(s, MatvecParts<1>{{{w, row_bytes, rows, y, bias}}}, qa, da, n);
}

}  // namespace forge::kernels::cuda
