// A compiled CUDA program's settings from its environment, read once when
// the model is made (cuda_model.h); all are for checking and measuring, the
// defaults are what users get. Plain C++ (tests/cuda/settings_test.cpp).
//   FORGE_CUDA_GEMM=mmq|f32|tf32|f16|bf16|off  how prefill multiplies (default mmq:
//       the interpreter's numbers; the 16-bit and TF32 modes only for measuring)
//   FORGE_CUDA_GEMM_MIN_ROWS=N  steps of at least N tokens go through the GEMMs (16)
//   FORGE_CUDA_STEP_TOKENS=N    at most N prompt tokens a step (1: the prompt
//       goes through the decode step's kernels and fusions, for checking them)
//   FORGE_CUDA_KV_F32=1         an F32 KV cache, as `forge logits` keeps it (F16)
//   FORGE_CUDA_PREFETCH_KB=N    at most N KB of the next projection's weights
//       brought into L2 by each decode kernel (kc::L2Prefetch; 12288; 0: none)
//   FORGE_CUDA_GRAPH_STEPS=N    decode steps one graph launch replays in greedy
//       generation on the GPU (CudaModel::decode_greedy_on_device; 8; 1 to 256)
//   FORGE_CUDA_TOP_LOGITS=0     decode_top copies all the logits and selects on
//       the host (Forward's version), for comparing with the GPU's selection (1)
#pragma once

#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>

#include "kernels/cuda/gemm_mode.h"

namespace forge::cuda_rt {

struct CudaSettings {
  bool gemm_enabled = true;
  kernels::cuda::GemmMode gemm_mode = kernels::cuda::GemmMode::kMmq;
  int gemm_min_rows = 16;
  int step_tokens = 1 << 30;
  bool kv_f32 = false;
  size_t prefetch_bytes = size_t{12288} << 10;
  int graph_steps = 8;
  bool top_on_gpu = true;
};

// env: the environment's lookup (std::getenv, or a test's table). Throws
// std::invalid_argument naming the variable for a value it does not take.
inline const char* process_env(const char* name) { return std::getenv(name); }
inline CudaSettings cuda_settings(const std::function<const char*(const char*)>& env = process_env) {
  CudaSettings s;
  auto count = [&](const char* name, int* out, long max = 1000000) {
    const char* v = env(name);
    if (v == nullptr || *v == 0) return;
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    if (*end != 0 || n < 1 || n > max) {
      throw std::invalid_argument(std::string(name) + "=" + v + ": expected a count from 1 to " + std::to_string(max));
    }
    *out = static_cast<int>(n);
  };
  if (const char* m = env("FORGE_CUDA_GEMM"); m != nullptr && *m != 0) {
    using kernels::cuda::GemmMode;
    const std::string v = m;
    if (v == "mmq") s.gemm_mode = GemmMode::kMmq;
    else if (v == "f32") s.gemm_mode = GemmMode::kF32;
    else if (v == "tf32") s.gemm_mode = GemmMode::kTf32;
    else if (v == "f16") s.gemm_mode = GemmMode::kF16;
    else if (v == "bf16") s.gemm_mode = GemmMode::kBf16;
    else if (v == "off") s.gemm_enabled = false;
    else throw std::invalid_argument("FORGE_CUDA_GEMM=" + v + ": expected mmq, f32, tf32, f16, bf16 or off");
  }
  count("FORGE_CUDA_GEMM_MIN_ROWS", &s.gemm_min_rows);
  count("FORGE_CUDA_STEP_TOKENS", &s.step_tokens);
  count("FORGE_CUDA_GRAPH_STEPS", &s.graph_steps, 256);
  if (const char* k = env("FORGE_CUDA_KV_F32"); k != nullptr && *k != 0) {
    const std::string v = k;
    if (v != "0" && v != "1") throw std::invalid_argument("FORGE_CUDA_KV_F32=" + v + ": expected 0 or 1");
    s.kv_f32 = v == "1";
  }
  if (const char* t = env("FORGE_CUDA_TOP_LOGITS"); t != nullptr && *t != 0) {
    const std::string v = t;
    if (v != "0" && v != "1") throw std::invalid_argument("FORGE_CUDA_TOP_LOGITS=" + v + ": expected 0 or 1");
    s.top_on_gpu = v == "1";
  }
  if (const char* v = env("FORGE_CUDA_PREFETCH_KB"); v != nullptr && *v != 0) {
    char* end = nullptr;
    const long kb = std::strtol(v, &end, 10);
    if (*end != 0 || kb < 0 || kb > (1L << 22)) {
      throw std::invalid_argument(std::string("FORGE_CUDA_PREFETCH_KB=") + v + ": expected KB from 0 to 4194304");
    }
    s.prefetch_bytes = static_cast<size_t>(kb) << 10;
  }
  return s;
}

}  // namespace forge::cuda_rt
