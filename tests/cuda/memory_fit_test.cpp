// The not-enough-GPU-memory error of compiled CUDA programs
// (src/codegen/cuda/runtime/memory_fit.h): plain C++, no GPU needed.
#include "codegen/cuda/runtime/memory_fit.h"

#include <gtest/gtest.h>

namespace {

using forge::cuda_rt::memory_fit_error;
using forge::cuda_rt::MemoryNeeds;

constexpr uint64_t kMiB = 1ull << 20;

TEST(MemoryFit, FitsWithTheMargin) {
  const MemoryNeeds n{1000 * kMiB, 200 * kMiB, 50 * kMiB, 4096};
  EXPECT_EQ(memory_fit_error(n, 1250 * kMiB + 256 * kMiB, 80000 * kMiB), "");
}

TEST(MemoryFit, TheMarginIsNeeded) {
  const MemoryNeeds n{1000 * kMiB, 200 * kMiB, 50 * kMiB, 4096};
  EXPECT_NE(memory_fit_error(n, 1250 * kMiB + 255 * kMiB, 80000 * kMiB), "");
}

TEST(MemoryFit, TooLongAContextSaysSo) {
  const MemoryNeeds n{1000 * kMiB, 8000 * kMiB, 50 * kMiB, 131072};
  const std::string e = memory_fit_error(n, 4000 * kMiB, 8000 * kMiB);
  EXPECT_NE(e.find("not enough GPU memory: this model needs 9050 MiB"), std::string::npos) << e;
  EXPECT_NE(e.find("KV cache for 131072 positions 8000 MiB"), std::string::npos) << e;
  EXPECT_NE(e.find("4000 MiB free of 8000 MiB"), std::string::npos) << e;
  EXPECT_NE(e.find("smaller --max-context"), std::string::npos) << e;
}

TEST(MemoryFit, WeightsThatDoNotFitSaySo) {
  const MemoryNeeds n{7000 * kMiB, 100 * kMiB, 50 * kMiB, 1024};
  const std::string e = memory_fit_error(n, 6000 * kMiB, 8000 * kMiB);
  EXPECT_NE(e.find("the weights alone do not fit"), std::string::npos) << e;
  EXPECT_EQ(e.find("--max-context"), std::string::npos) << e;
}

}  // namespace
