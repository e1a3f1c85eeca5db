// Prefill products of Q8_0 / Q4_0 weights with Q8_0 activations on the int8
// tensor cores (mma.sync m16n8k32): the interpreter's arithmetic, not an
// approximation of it. One m16n8k32 product covers exactly one 32-weight
// block, so each block's integer sum sum(q_w * q_a) comes out of the tensor
// core exact and is scaled as quant_legacy.cpp's vec_dot does:
// s += d_w * d_a * float(sumi), block after block.
//
// Tiles: a thread block of 4 warps computes 64 weight rows x 128 activation
// rows; each warp 32 x 64 (2 x 8 mma tiles). Four quant blocks (K = 128) are
// staged in shared memory at a time, as int8 rows of 144 bytes (128 + 16:
// with the 4-byte fragment reads at 36 words a row, the 32 lanes of a warp
// hit 32 different banks) plus one float scale per block.
#pragma once

#include <cstdint>
#include <type_traits>

#include "kernels/cuda/forge_kernels.cuh"

namespace forge::kernels::cuda {

template <class B> struct MmqTakes {
  static constexpr bool kValue = std::is_same_v<B, BlockQ8_0> || std::is_same_v<B, BlockQ4_0>;
};

// The Q8_0 levels and scale back from fake_quant_q8_0's output (q * half(d)):
// a block's largest magnitude is 127 * half(d) (the quantizer maps the
// largest |x| to exactly 127), so amax / 127 gives half(d) back exactly, and
// each value / half(d) its level exactly (both quotients are representable).
__global__ void requant_q8_0(const float* __restrict__ x, int8_t* __restrict__ q, float* __restrict__ d,
                             size_t blocks) {
  const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= blocks) return;
  const float4* xb = reinterpret_cast<const float4*>(x + 32 * i);
  float v[32];
  float amax = 0.0f;
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const float4 f = xb[j];
    v[4 * j] = f.x;
    v[4 * j + 1] = f.y;
    v[4 * j + 2] = f.z;
    v[4 * j + 3] = f.w;
  }
#pragma unroll
  for (int j = 0; j < 32; ++j) amax = fmaxf(amax, fabsf(v[j]));
  const float dh = __fdiv_rn(amax, 127.0f);
  uint32_t packed[8];
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    uint32_t p = 0;
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int l = dh != 0.0f ? __float2int_rn(__fdiv_rn(v[4 * j + e], dh)) : 0;
      p |= (static_cast<uint32_t>(l) & 0xffu) << (8 * e);
    }
    packed[j] = p;
  }
  uint4* qo = reinterpret_cast<uint4*>(q + 32 * i);
  qo[0] = make_uint4(packed[0], packed[1], packed[2], packed[3]);
  qo[1] = make_uint4(packed[4], packed[5], packed[6], packed[7]);
  d[i] = dh;
}

constexpr int kMmqRows = 64;     // weight rows a thread block
constexpr int kMmqCols = 128;    // activation rows (tokens) a thread block
constexpr int kMmqThreads = 128;
constexpr int kMmqStage = 4;     // quant blocks (of 32) staged at a time
constexpr int kMmqStride = 32 * kMmqStage + 16;  // bytes a staged row

__device__ __forceinline__ void mma_s8(int* c, const uint32_t* a, uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%10, %11, %12, %13};\n"
      : "=r"(c[0]), "=r"(c[1]), "=r"(c[2]), "=r"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1), "r"(0), "r"(0), "r"(0), "r"(0));
}

// y[t][r] = W[r] . x[t] (+ bias[r]) for t < n. qa: n rows of K int8 levels,
// da: n rows of K / 32 block scales (requant_q8_0).
template <class B, int K>
__global__ void __launch_bounds__(kMmqThreads)
    mmq(const uint8_t* __restrict__ w, size_t row_bytes, int rows, const int8_t* __restrict__ qa,
        const float* __restrict__ da, int n, float* __restrict__ y, const float* __restrict__ bias) {
  static_assert(MmqTakes<B>::kValue && K % 32 == 0, "mmq: Q8_0 / Q4_0 rows of whole blocks");
  constexpr int kBlocks = K / 32;
  __shared__ alignas(16) int8_t ws[kMmqRows * kMmqStride];
  __shared__ alignas(16) int8_t xs[kMmqCols * kMmqStride];
  __shared__ float wd[kMmqRows][kMmqStage];
  __shared__ float xd[kMmqCols][kMmqStage];
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int g = lane / 4, tig = lane % 4;  // mma fragment coordinates (PTX ISA, m16n8k32 .s8)
  const int row0 = blockIdx.x * kMmqRows, col0 = blockIdx.y * kMmqCols;
  const int wm = (warp % 2) * 32, wn = (warp / 2) * 64;
  float acc[2][8][4];
#pragma unroll
  for (int mt = 0; mt < 2; ++mt)
#pragma unroll
    for (int nt = 0; nt < 8; ++nt)
#pragma unroll
      for (int i = 0; i < 4; ++i) acc[mt][nt][i] = 0.0f;

  for (int b0 = 0; b0 < kBlocks; b0 += kMmqStage) {
    // Weights: 64 rows x 4 blocks, one (row, block) a thread at a time;
    // neighbouring threads read neighbouring blocks of a row.
    for (int p = tid; p < kMmqRows * kMmqStage; p += kMmqThreads) {
      const int r = p / kMmqStage, kb = p % kMmqStage;
      const int gr = row0 + r, gb = b0 + kb;
      uint32_t* dst = reinterpret_cast<uint32_t*>(ws + r * kMmqStride + 32 * kb);
      if (gr < rows && gb < kBlocks) {
        const uint8_t* blk = w + static_cast<size_t>(gr) * row_bytes + static_cast<size_t>(gb) * sizeof(B);
        wd[r][kb] = h2f(ld16(blk));
        if constexpr (std::is_same_v<B, BlockQ8_0>) {
#pragma unroll
          for (int j = 0; j < 8; ++j) dst[j] = ld16(blk + 2 + 4 * j) | (static_cast<uint32_t>(ld16(blk + 4 + 4 * j)) << 16);
        } else {
          // Q4_0: byte j holds weight j (low nibble) and j + 16 (high); level - 8.
#pragma unroll
          for (int j = 0; j < 4; ++j) {
            const uint32_t b = ld16(blk + 2 + 4 * j) | (static_cast<uint32_t>(ld16(blk + 4 + 4 * j)) << 16);
            dst[j] = __vsub4(b & 0x0f0f0f0fu, 0x08080808u);
            dst[4 + j] = __vsub4((b >> 4) & 0x0f0f0f0fu, 0x08080808u);
          }
        }
      } else {
        wd[r][kb] = 0.0f;
#pragma unroll
        for (int j = 0; j < 8; ++j) dst[j] = 0;
      }
    }
    // Activations: 128 rows x 128 bytes in 16-byte pieces (rows are K bytes, K % 32 == 0).
    for (int p = tid; p < kMmqCols * 2 * kMmqStage; p += kMmqThreads) {
      const int t = p / (2 * kMmqStage), c = p % (2 * kMmqStage);
      const int gt = col0 + t, gb = b0 + c / 2;
      uint4 v = make_uint4(0, 0, 0, 0);
      if (gt < n && gb < kBlocks) v = *reinterpret_cast<const uint4*>(qa + static_cast<size_t>(gt) * K + 32 * b0 + 16 * c);
      *reinterpret_cast<uint4*>(xs + t * kMmqStride + 16 * c) = v;
    }
    for (int p = tid; p < kMmqCols * kMmqStage; p += kMmqThreads) {
      const int t = p / kMmqStage, kb = p % kMmqStage;
      const int gt = col0 + t, gb = b0 + kb;
      xd[t][kb] = gt < n && gb < kBlocks ? da[static_cast<size_t>(gt) * kBlocks + gb] : 0.0f;
    }
    __syncthreads();
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
      for (int nt = 0; nt < 8; ++nt) {
        const int8_t* bb = xs + (wn + 8 * nt + g) * kMmqStride + 32 * kb + 4 * tig;
        const uint32_t b0r = *reinterpret_cast<const uint32_t*>(bb);       // token g, k 4 tig ..
        const uint32_t b1r = *reinterpret_cast<const uint32_t*>(bb + 16);  // token g, k 16 + 4 tig ..
        const float dx0 = xd[wn + 8 * nt + 2 * tig][kb], dx1 = xd[wn + 8 * nt + 2 * tig + 1][kb];
#pragma unroll
        for (int mt = 0; mt < 2; ++mt) {
          int c[4];
          mma_s8(c, a[mt], b0r, b1r);
          // c: (row g, token 2 tig), (g, 2 tig + 1), (g + 8, 2 tig), (g + 8, 2 tig + 1)
          acc[mt][nt][0] += dw[mt][0] * dx0 * static_cast<float>(c[0]);
          acc[mt][nt][1] += dw[mt][0] * dx1 * static_cast<float>(c[1]);
          acc[mt][nt][2] += dw[mt][1] * dx0 * static_cast<float>(c[2]);
          acc[mt][nt][3] += dw[mt][1] * dx1 * static_cast<float>(c[3]);
        }
      }
    }
    __syncthreads();
  }
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
    for (int nt = 0; nt < 8; ++nt) {
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int r = row0 + wm + 16 * mt + g + 8 * (i / 2);
        const int t = col0 + wn + 8 * nt + 2 * tig + (i % 2);
        if (r < rows && t < n) y[static_cast<size_t>(t) * rows + r] = bias ? acc[mt][nt][i] + bias[r] : acc[mt][nt][i];
      }
    }
  }
}

// Host side: levels of the n x K activations into qa/da, then the product.
template <class B, int K>
void launch_mmq(cudaStream_t s, const uint8_t* w, size_t row_bytes, int rows, const float* x, int n, int8_t* qa,
                float* da, float* y, const float* bias) {
  const size_t blocks = static_cast<size_t>(n) * (K / 32);
  requant_q8_0<<<blocks_for(blocks, 128), 128, 0, s>>>(x, qa, da, blocks);
  const dim3 grid((rows + kMmqRows - 1) / kMmqRows, (n + kMmqCols - 1) / kMmqCols);
  mmq<B, K><<<grid, kMmqThreads, 0, s>>>(w, row_bytes, rows, qa, da, n, y, bias);
}

}  // namespace forge::kernels::cuda
