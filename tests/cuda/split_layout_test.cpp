// The split-row layout CUDA programs read Q8_0 / Q4_0 matrices in
// (src/kernels/cuda/split_layout.h): plain C++, no GPU needed. A row split
// from GGUF blocks holds the same levels and scales: read back by the
// layout's definition, it dequantizes to exactly what quant::dequantize_row
// gives for the blocks.
#include "kernels/cuda/split_layout.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "quant/quant.h"

namespace {

using forge::GgmlType;
namespace kc = forge::kernels::cuda;

float half_to_float(uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  float v = exp == 0 ? std::ldexp(static_cast<float>(man), -24) : std::ldexp(static_cast<float>(man | 0x400), exp - 25);
  return sign ? -v : v;
}

// The split row read by the layout's definition: quants, then F16 scales.
std::vector<float> read_split(GgmlType t, int64_t cols, const uint8_t* row) {
  std::vector<float> out(cols);
  const int64_t quants = kc::split_quant_bytes(t, cols);
  for (int64_t b = 0; b < cols / 32; ++b) {
    uint16_t h;
    std::memcpy(&h, row + quants + 2 * b, 2);
    const float d = half_to_float(h);
    for (int j = 0; j < 32; ++j) {
      int q;
      if (t == GgmlType::Q8_0) {
        q = static_cast<int8_t>(row[32 * b + j]);
      } else {
        const uint8_t byte = row[16 * b + j % 16];
        q = (j < 16 ? byte & 0xf : byte >> 4) - 8;
      }
      out[32 * b + j] = static_cast<float>(q) * d;
    }
  }
  return out;
}

void check_type(GgmlType t, int64_t cols) {
  SCOPED_TRACE(std::string(forge::ggml_type_info(t).name) + " x " + std::to_string(cols));
  std::mt19937 rng(static_cast<unsigned>(cols));
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(cols);
  for (float& v : x) v = nd(rng);
  std::vector<uint8_t> blocks(forge::quant::row_size(t, cols));
  forge::quant::quantize_row(t, x.data(), blocks.data(), cols);
  std::vector<float> want(cols);
  forge::quant::dequantize_row(t, blocks.data(), want.data(), cols);

  const int64_t stride = kc::split_row_stride(t, cols);
  EXPECT_EQ(stride % 16, 0);
  EXPECT_GE(stride, static_cast<int64_t>(blocks.size()));
  EXPECT_LT(stride, static_cast<int64_t>(blocks.size()) + 16);
  std::vector<uint8_t> row(stride + 8, 0xab);  // bytes past the stride stay untouched
  kc::split_row(t, cols, blocks.data(), row.data());
  EXPECT_EQ(read_split(t, cols, row.data()), want);
  for (int64_t i = kc::split_quant_bytes(t, cols) + cols / 16; i < stride; ++i) EXPECT_EQ(row[i], 0) << i;
  for (int64_t i = stride; i < stride + 8; ++i) EXPECT_EQ(row[i], 0xab) << i;
}

TEST(SplitLayout, RowsHoldTheBlocksLevelsAndScales) {
  for (GgmlType t : {GgmlType::Q8_0, GgmlType::Q4_0}) {
    for (int64_t cols : {32, 64, 576, 1536, 2048, 8192}) check_type(t, cols);
  }
}

TEST(SplitLayout, WholeBlocksOfEightNeedNoPadding) {
  EXPECT_EQ(kc::split_row_stride(GgmlType::Q8_0, 2048), 2048 + 128);  // 64 blocks of 34 bytes
  EXPECT_EQ(kc::split_row_stride(GgmlType::Q4_0, 2048), 1024 + 128);  // 64 blocks of 18 bytes
  EXPECT_EQ(kc::split_row_stride(GgmlType::Q8_0, 576), 624);          // 612 bytes, padded
  EXPECT_TRUE(kc::split_type(GgmlType::Q8_0));
  EXPECT_FALSE(kc::split_type(GgmlType::Q4_1));
}

}  // namespace
