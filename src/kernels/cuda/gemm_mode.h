// How a prefill GEMM multiplies (kernels/cuda/gemm.cuh); plain C++, so that
// the runtime's settings (codegen/cuda/runtime/cuda_settings.h) are testable
// without nvcc.
#pragma once

namespace forge::kernels::cuda {

// kMmq: Q8_0 / Q4_0 weights through mmq.cuh (int8 tensor cores, exact
// integer block sums), every other type as kF32.
enum class GemmMode { kMmq, kF32, kTf32, kF16, kBf16 };

}  // namespace forge::kernels::cuda
