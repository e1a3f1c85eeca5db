// Quantize -> dequantize sanity per type on Gaussian rows: the relative RMS
// error stays under a bound a few times above what each format's bit budget
// gives, and finer formats are not worse than coarser ones. Plus half/bfloat
// conversions on exact cases.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "quant/fp16.h"
#include "quant/quant.h"

namespace forge::quant {
namespace {

double relative_rmse(GgmlType t, const std::vector<float>& x) {
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> q(row_size(t, n));
  std::vector<float> y(x.size());
  quantize_row(t, x.data(), q.data(), n);
  dequantize_row(t, q.data(), y.data(), n);
  double err = 0, ref = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    err += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
    ref += static_cast<double>(x[i]) * x[i];
  }
  return std::sqrt(err / ref);
}

TEST(RoundTrip, RelativeRmsePerType) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  std::vector<float> x(8 * 256 * 4);
  for (auto& v : x) v = dist(rng);
  // Bounds: about 1.5x the error measured for these reference algorithms
  // (step / sqrt(12) over the Gaussian RMS for each format's level count).
  const struct {
    GgmlType type;
    double bound;
  } cases[] = {
      {GgmlType::F32, 0.0},     {GgmlType::F16, 5e-4},    {GgmlType::BF16, 4e-3},   {GgmlType::Q8_0, 0.008},
      {GgmlType::Q8_1, 0.008},  {GgmlType::Q8_K, 0.01},  {GgmlType::Q6_K, 0.025},  {GgmlType::Q5_0, 0.06},
      {GgmlType::Q5_1, 0.05},   {GgmlType::Q5_K, 0.045},  {GgmlType::Q4_0, 0.12},   {GgmlType::Q4_1, 0.1},
      {GgmlType::Q4_K, 0.09},   {GgmlType::Q3_K, 0.2},    {GgmlType::Q2_K, 0.4},
  };
  for (const auto& c : cases) {
    const double e = relative_rmse(c.type, x);
    std::printf("%-5s relative RMSE %.5f\n", std::string(ggml_type_info(c.type).name).c_str(), e);
    EXPECT_LE(e, c.bound) << ggml_type_info(c.type).name;
  }
  EXPECT_LT(relative_rmse(GgmlType::Q8_0, x), relative_rmse(GgmlType::Q6_K, x));
  EXPECT_LT(relative_rmse(GgmlType::Q6_K, x), relative_rmse(GgmlType::Q5_K, x));
  EXPECT_LT(relative_rmse(GgmlType::Q5_K, x), relative_rmse(GgmlType::Q4_K, x));
  EXPECT_LT(relative_rmse(GgmlType::Q4_K, x), relative_rmse(GgmlType::Q3_K, x));
  EXPECT_LT(relative_rmse(GgmlType::Q3_K, x), relative_rmse(GgmlType::Q2_K, x));
}

TEST(RoundTrip, ZeroRowsStayZero) {
  std::vector<float> x(512, 0.0f), y(512, 1.0f);
  for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q8_1,
                     GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q8_K}) {
    std::vector<uint8_t> q(row_size(t, 512));
    quantize_row(t, x.data(), q.data(), 512);
    dequantize_row(t, q.data(), y.data(), 512);
    for (float v : y) ASSERT_EQ(v, 0.0f) << ggml_type_info(t).name;
  }
}

TEST(HalfConversions, ExactCases) {
  // Values from the IEEE 754 binary16 definition.
  EXPECT_EQ(fp32_to_fp16(1.0f), 0x3c00);
  EXPECT_EQ(fp32_to_fp16(-2.0f), 0xc000);
  EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7bff);
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);        // rounds up to infinity
  EXPECT_EQ(fp32_to_fp16(65519.99f), 0x7bff);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);  // tie to even: zero
  EXPECT_EQ(fp32_to_fp16(std::ldexp(3.0f, -25)), 0x0002);  // 1.5 ulp: tie to even 2
  EXPECT_EQ(fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie: stays even
  EXPECT_EQ(fp32_to_fp16(1.0f + std::ldexp(3.0f, -11)), 0x3c02);  // tie: up to even
  EXPECT_EQ(fp16_to_fp32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(fp16_to_fp32(0x03ff), std::ldexp(1023.0f, -24));
  EXPECT_TRUE(std::isnan(fp16_to_fp32(fp32_to_fp16(NAN))));
  // Every half survives a round trip through float.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = fp16_to_fp32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(fp32_to_fp16(f), h) << std::hex << h;
  }
  EXPECT_EQ(fp32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(fp32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);   // tie to even
  EXPECT_EQ(fp32_to_bf16(1.0f + std::ldexp(3.0f, -8)), 0x3f82);
  EXPECT_EQ(bf16_to_fp32(0xc000), -2.0f);
}

}  // namespace
}  // namespace forge::quant
