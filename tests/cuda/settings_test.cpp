// A compiled CUDA program's settings from its environment
// (codegen/cuda/runtime/cuda_settings.h): the defaults, every value each
// variable takes, and a clear error naming the variable for the rest.
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>

#include "codegen/cuda/runtime/cuda_settings.h"

namespace forge::cuda_rt {
namespace {

using kernels::cuda::GemmMode;

CudaSettings with(const std::map<std::string, std::string>& vars) {
  return cuda_settings([&](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

std::string error_of(const std::map<std::string, std::string>& vars) {
  try {
    with(vars);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(CudaSettings, Defaults) {
  const CudaSettings s = with({});
  EXPECT_TRUE(s.gemm_enabled);
  EXPECT_EQ(s.gemm_mode, GemmMode::kMmq);
  EXPECT_EQ(s.gemm_min_rows, 16);
  EXPECT_EQ(s.step_tokens, 1 << 30);
  EXPECT_FALSE(s.kv_f32);
  EXPECT_EQ(s.prefetch_bytes, size_t{12} << 20);
  EXPECT_EQ(s.graph_steps, 8);
  EXPECT_TRUE(s.top_on_gpu);
  EXPECT_FALSE(with({{"FORGE_CUDA_GEMM", ""}, {"FORGE_CUDA_KV_F32", ""}}).kv_f32);  // empty: unset
}

TEST(CudaSettings, GemmModes) {
  EXPECT_EQ(with({{"FORGE_CUDA_GEMM", "mmq"}}).gemm_mode, GemmMode::kMmq);
  EXPECT_EQ(with({{"FORGE_CUDA_GEMM", "f32"}}).gemm_mode, GemmMode::kF32);
  EXPECT_EQ(with({{"FORGE_CUDA_GEMM", "tf32"}}).gemm_mode, GemmMode::kTf32);
  EXPECT_EQ(with({{"FORGE_CUDA_GEMM", "f16"}}).gemm_mode, GemmMode::kF16);
  EXPECT_EQ(with({{"FORGE_CUDA_GEMM", "bf16"}}).gemm_mode, GemmMode::kBf16);
  EXPECT_FALSE(with({{"FORGE_CUDA_GEMM", "off"}}).gemm_enabled);
  EXPECT_EQ(error_of({{"FORGE_CUDA_GEMM", "fp8"}}), "FORGE_CUDA_GEMM=fp8: expected mmq, f32, tf32, f16, bf16 or off");
}

TEST(CudaSettings, Counts) {
  const CudaSettings s = with({{"FORGE_CUDA_GEMM_MIN_ROWS", "1"}, {"FORGE_CUDA_STEP_TOKENS", "1000000"}});
  EXPECT_EQ(s.gemm_min_rows, 1);
  EXPECT_EQ(s.step_tokens, 1000000);
  for (const char* bad : {"0", "-3", "12x", "1000001", "many"}) {
    EXPECT_EQ(error_of({{"FORGE_CUDA_STEP_TOKENS", bad}}),
              std::string("FORGE_CUDA_STEP_TOKENS=") + bad + ": expected a count from 1 to 1000000");
    EXPECT_EQ(error_of({{"FORGE_CUDA_GEMM_MIN_ROWS", bad}}),
              std::string("FORGE_CUDA_GEMM_MIN_ROWS=") + bad + ": expected a count from 1 to 1000000");
  }
  EXPECT_EQ(with({{"FORGE_CUDA_GRAPH_STEPS", "256"}}).graph_steps, 256);
  for (const char* bad : {"0", "257", "8x"}) {
    EXPECT_EQ(error_of({{"FORGE_CUDA_GRAPH_STEPS", bad}}),
              std::string("FORGE_CUDA_GRAPH_STEPS=") + bad + ": expected a count from 1 to 256");
  }
}

TEST(CudaSettings, KvCacheInF32) {
  EXPECT_TRUE(with({{"FORGE_CUDA_KV_F32", "1"}}).kv_f32);
  EXPECT_FALSE(with({{"FORGE_CUDA_KV_F32", "0"}}).kv_f32);
  EXPECT_EQ(error_of({{"FORGE_CUDA_KV_F32", "yes"}}), "FORGE_CUDA_KV_F32=yes: expected 0 or 1");
}

TEST(CudaSettings, TopLogits) {
  EXPECT_FALSE(with({{"FORGE_CUDA_TOP_LOGITS", "0"}}).top_on_gpu);
  EXPECT_TRUE(with({{"FORGE_CUDA_TOP_LOGITS", "1"}}).top_on_gpu);
  EXPECT_EQ(error_of({{"FORGE_CUDA_TOP_LOGITS", "host"}}), "FORGE_CUDA_TOP_LOGITS=host: expected 0 or 1");
}

TEST(CudaSettings, PrefetchSize) {
  EXPECT_EQ(with({{"FORGE_CUDA_PREFETCH_KB", "0"}}).prefetch_bytes, 0u);
  EXPECT_EQ(with({{"FORGE_CUDA_PREFETCH_KB", "2048"}}).prefetch_bytes, size_t{2} << 20);
  EXPECT_EQ(with({{"FORGE_CUDA_PREFETCH_KB", "4194304"}}).prefetch_bytes, size_t{4} << 30);
  for (const char* bad : {"-1", "16M", "4194305", "lots"}) {
    EXPECT_EQ(error_of({{"FORGE_CUDA_PREFETCH_KB", bad}}),
              std::string("FORGE_CUDA_PREFETCH_KB=") + bad + ": expected KB from 0 to 4194304");
  }
}

}  // namespace
}  // namespace forge::cuda_rt
