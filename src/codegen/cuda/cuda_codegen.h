// The CUDA target: prints an optimized, memory-planned graph as a CUDA C++
// project (model.cu, model.h, main.cpp, CMakeLists.txt) whose step launches
// the kernels of src/kernels/cuda with this model's dimensions as constants;
// the decode step is captured once as a CUDA graph (runtime/cuda_model.h).
// weights.bin is written by the CPU target's exporter with the CUDA packing
// (WeightPacking::kCudaSplit: Q8_0 / Q4_0 in split rows, other types as GGML
// blocks, 64-byte aligned), which the kernels read as it is once uploaded.
#pragma once

#include <string>

#include "codegen/cpu/weights_export.h"
#include "graph/graph.h"

namespace forge::codegen::cuda {

using cpu::CodegenError;

struct CudaOptions {
  std::string out_dir;
  std::string source_name;  // the model file, for comments and --help
  std::string cuda_arch = "90";  // CMAKE_CUDA_ARCHITECTURES (sm_90: H100/H200)
  int max_context = 2048;
  int max_batch = 64;  // tokens per prefill step (rounded up to a multiple of 4)
};

// Writes the project into out_dir. Throws CodegenError for what the CUDA
// kernels do not cover (weight types without a kernel, rows not a multiple
// of 32, head sizes over the attention block).
void emit_cuda_project(const graph::Graph& g, const CudaOptions& opts);

// Configures and builds out_dir/build with CMake and nvcc; the program is
// out_dir/model. Throws CodegenError with the build log's tail on failure.
void build_cuda_project(const std::string& out_dir);

}  // namespace forge::codegen::cuda
