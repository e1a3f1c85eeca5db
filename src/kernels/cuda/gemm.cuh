// Prefill matrix products on the tensor cores (or the FP32 units) through
// cuBLAS: a weight matrix is dequantized, a chunk of rows at a time, into a
// scratch buffer and multiplied with all the step's activation rows in one
// GEMM. The matrix-vector kernels (forge_kernels.cuh) dequantize a weight row
// once per 8 activation rows and multiply with scalar FMAs; this reads the
// quantized weights once per step and lets cuBLAS do the O(rows * K * n) part.
//
// Numbers: the inputs are the same fake-quantized activations and dequantized
// weights as the matrix-vector kernels use. GemmMode::kF32 multiplies them in
// FP32 (the sums in another order: the interpreter's numbers to float
// rounding); kTf32, kF16 and kBf16 round both operands to 10/10/7 mantissa
// bits first (FP32 accumulation), which moves logits by ~1e-4 relative and,
// through the next layer's activation quantization, by more (see docs/cuda.md).
#pragma once

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/forge_kernels.cuh"
#include "kernels/cuda/gemm_mode.h"

namespace forge::kernels::cuda {

// What a prefill GEMM needs besides its operands; owned by the runtime
// (src/codegen/cuda/runtime/cuda_model.h). scratch holds weight_elems
// dequantized weights (4 bytes each, whatever the mode), then weight_elems / 32
// block minimums, then x_elems activations converted to 16 bits.
struct GemmContext {
  cublasHandle_t handle = nullptr;
  GemmMode mode = GemmMode::kMmq;
  void* scratch = nullptr;
  size_t weight_elems = 0;
  size_t x_elems = 0;
};

inline size_t gemm_scratch_bytes(size_t weight_elems, size_t x_elems) {
  return weight_elems * 4 + (weight_elems / 32 + 64) * 4 + x_elems * 2 + 256;
}

// The activations' part of the scratch (16-bit copies, or mmq.cuh's levels and scales).
inline void* gemm_x_scratch(const GemmContext& g) {
  return static_cast<uint8_t*>(g.scratch) + g.weight_elems * 4 + (g.weight_elems / 32 + 64) * 4;
}

// Stores 32 floats as OutT (16-byte stores; o is 64-byte aligned).
__device__ __forceinline__ void store32(float* o, const float* v) {
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    reinterpret_cast<float4*>(o)[i] = make_float4(v[4 * i], v[4 * i + 1], v[4 * i + 2], v[4 * i + 3]);
  }
}
template <class H, class Pack>
__device__ __forceinline__ void store32_16(H* o, const float* v, Pack pack) {
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    uint4 q;
    q.x = pack(v[8 * i], v[8 * i + 1]);
    q.y = pack(v[8 * i + 2], v[8 * i + 3]);
    q.z = pack(v[8 * i + 4], v[8 * i + 5]);
    q.w = pack(v[8 * i + 6], v[8 * i + 7]);
    reinterpret_cast<uint4*>(o)[i] = q;
  }
}
__device__ __forceinline__ void store32(__half* o, const float* v) {
  store32_16(o, v, [](float a, float b) {
    const __half2 h = __floats2half2_rn(a, b);
    return *reinterpret_cast<const uint32_t*>(&h);
  });
}
__device__ __forceinline__ void store32(__nv_bfloat16* o, const float* v) {
  store32_16(o, v, [](float a, float b) {
    const __nv_bfloat162 h = __floats2bfloat162_rn(a, b);
    return *reinterpret_cast<const uint32_t*>(&h);
  });
}

// Rows r0 .. r0 + nr of W, dequantized as dequant_unit does (without the
// block minimum of Q4_1/Q5_1, which goes to mins), into out[nr][K]. One
// thread a 32-weight unit; neighbouring threads read neighbouring blocks.
template <class B, int K, class OutT>
__global__ void dequant_rows(const uint8_t* __restrict__ w, size_t row_bytes, int r0, int nr, OutT* __restrict__ out,
                             float* __restrict__ mins) {
  pdl_wait();
  pdl_launch_dependents();
  constexpr int kUnits = K / 32;
  const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= static_cast<size_t>(nr) * kUnits) return;
  const int r = static_cast<int>(i / kUnits), u = static_cast<int>(i % kUnits);
  const uint8_t* row = w + static_cast<size_t>(r0 + r) * row_bytes;
  float v[32];
  dequant_row_unit<B, K>(row, u, v);
  store32(out + static_cast<size_t>(r) * K + 32 * u, v);
  if constexpr (HasMin<B>::kValue) mins[i] = unit_min<B>(row, u);
}

template <class OutT>
__global__ void to_16bit(const float* __restrict__ x, OutT* __restrict__ y, size_t count) {
  pdl_wait();
  pdl_launch_dependents();
  const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count) return;
  if constexpr (std::is_same_v<OutT, __half>) y[i] = __float2half_rn(x[i]);
  else y[i] = __float2bfloat16_rn(x[i]);
}

// y[b][r] += bias[r] for n rows of `rows` outputs.
__global__ void add_bias(float* y, const float* bias, int rows, size_t count) {
  pdl_wait();
  pdl_launch_dependents();
  const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) y[i] += bias[i % rows];
}

// Whether gemm_matmul takes this weight type and row length (else the
// matrix-vector kernel serves every batch).
template <class B, int K> struct GemmTakes {
  static constexpr bool kValue = K % 32 == 0 && UnitTraits<B>::kKnown;
};

// y[b][r] = W[r] . x[b] (+ bias[r]) for b < n, as launch_matvec, through
// cuBLAS. xsum: the Q8_1 block sums (Q4_1/Q5_1 weights add min * sum).
// Returns the first cuBLAS error (the caller turns it into an exception).
template <class B, int K>
cublasStatus_t gemm_matmul(const GemmContext& g, cudaStream_t s, const uint8_t* w, size_t row_bytes, int rows,
                           const float* x, const float* xsum, int n, float* y, const float* bias) {
  static_assert(GemmTakes<B, K>::kValue, "gemm_matmul: no dequantization for this type/length");
  cublasStatus_t st = cublasSetStream(g.handle, s);
  if (st != CUBLAS_STATUS_SUCCESS) return st;
  const bool low = g.mode == GemmMode::kF16 || g.mode == GemmMode::kBf16;
  const cudaDataType t16 = g.mode == GemmMode::kF16 ? CUDA_R_16F : CUDA_R_16BF;
  const cudaDataType wt = low ? t16 : CUDA_R_32F;
  const cublasComputeType_t ct = g.mode == GemmMode::kTf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  uint8_t* wbuf = static_cast<uint8_t*>(g.scratch);
  float* mins = reinterpret_cast<float*>(wbuf + g.weight_elems * 4);
  void* xlow = gemm_x_scratch(g);
  const void* xb = x;
  if (low) {
    const size_t count = static_cast<size_t>(n) * K;
    if (g.mode == GemmMode::kF16) {
      to_16bit<<<blocks_for(count, 256), 256, 0, s>>>(x, static_cast<__half*>(xlow), count);
    } else {
      to_16bit<<<blocks_for(count, 256), 256, 0, s>>>(x, static_cast<__nv_bfloat16*>(xlow), count);
    }
    xb = xlow;
  }
  const float one = 1.0f, zero = 0.0f;
  // Weights already in the GEMM's input type are used where they lie.
  const bool direct = (std::is_same_v<B, BlockF32> && !low) ||
                      (std::is_same_v<B, BlockF16> && g.mode == GemmMode::kF16) ||
                      (std::is_same_v<B, BlockBF16> && g.mode == GemmMode::kBf16);
  if (direct) {
    const int lda = static_cast<int>(row_bytes / (low ? 2 : 4));
    st = cublasGemmEx(g.handle, CUBLAS_OP_T, CUBLAS_OP_N, rows, n, K, &one, w, wt, lda, xb, wt, K, &zero, y,
                      CUDA_R_32F, rows, ct, CUBLAS_GEMM_DEFAULT);
  } else {
    const int chunk = static_cast<int>(std::max<size_t>(1, std::min<size_t>(rows, g.weight_elems / K)));
    for (int r0 = 0; r0 < rows && st == CUBLAS_STATUS_SUCCESS; r0 += chunk) {
      const int nr = std::min(chunk, rows - r0);
      const size_t units = static_cast<size_t>(nr) * (K / 32);
      if (g.mode == GemmMode::kF16) {
        dequant_rows<B, K><<<blocks_for(units, 128), 128, 0, s>>>(w, row_bytes, r0, nr, reinterpret_cast<__half*>(wbuf),
                                                                  mins);
      } else if (g.mode == GemmMode::kBf16) {
        dequant_rows<B, K><<<blocks_for(units, 128), 128, 0, s>>>(w, row_bytes, r0, nr,
                                                                  reinterpret_cast<__nv_bfloat16*>(wbuf), mins);
      } else {
        dequant_rows<B, K><<<blocks_for(units, 128), 128, 0, s>>>(w, row_bytes, r0, nr, reinterpret_cast<float*>(wbuf),
                                                                  mins);
      }
      st = cublasGemmEx(g.handle, CUBLAS_OP_T, CUBLAS_OP_N, nr, n, K, &one, wbuf, wt, K, xb, wt, K, &zero, y + r0,
                        CUDA_R_32F, rows, ct, CUBLAS_GEMM_DEFAULT);
      if constexpr (HasMin<B>::kValue) {
        // y += mins . sums: the interpreter's m * s per block, in FP32.
        if (st == CUBLAS_STATUS_SUCCESS) {
          st = cublasGemmEx(g.handle, CUBLAS_OP_T, CUBLAS_OP_N, nr, n, K / 32, &one, mins, CUDA_R_32F, K / 32, xsum,
                            CUDA_R_32F, K / 32, &one, y + r0, CUDA_R_32F, rows, CUBLAS_COMPUTE_32F,
                            CUBLAS_GEMM_DEFAULT);
        }
      }
    }
  }
  if (bias && st == CUBLAS_STATUS_SUCCESS) {
    const size_t count = static_cast<size_t>(n) * rows;
    add_bias<<<blocks_for(count, 256), 256, 0, s>>>(y, bias, rows, count);
  }
  return st;
}

}  // namespace forge::kernels::cuda
