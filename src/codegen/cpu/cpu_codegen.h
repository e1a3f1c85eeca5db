// The CPU target: prints an optimized, memory-planned graph as a small C++
// project (model.h/.cpp, main.cpp, CMakeLists.txt) whose forward pass calls
// the kernel templates with this model's dimensions as constants, and builds
// it with CMake. Only the spelling of ops lives here; the arithmetic is
// runtime/compiled_ops.h and src/kernels.
#pragma once

#include <string>

#include "codegen/cpu/weights_export.h"
#include "graph/graph.h"

namespace forge::codegen::cpu {

struct CpuOptions {
  std::string out_dir;
  std::string source_name;     // the model file, for comments and --help
  std::string cpu = "x86-64-v3";  // native | x86-64-v3 | x86-64-v4 | aarch64
  int max_context = 2048;
  int max_batch = 64;          // tokens per prefill step; sizes the arena
  int threads = 0;             // the program's default; 0: physical cores
  std::string opt_level = "-O2";
};

// Writes model.h, model.cpp, main.cpp and CMakeLists.txt into out_dir.
// Throws CodegenError for what the CPU target cannot compile.
void emit_cpu_project(const graph::Graph& g, const CpuOptions& opts);

// Configures and builds out_dir/build with CMake (-j2); the program is
// out_dir/model. Throws CodegenError with the build log's tail on failure.
void build_cpu_project(const std::string& out_dir);

}  // namespace forge::codegen::cpu
