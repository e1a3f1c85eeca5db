// Every SIMD kernel path against the scalar reference: activation bytes
// identical, dot products bit-identical (quantized formats) or within 1e-6 of
// the sum of |terms| (float formats, Q4_1, Q5_1: accumulation in lanes), on random rows of many lengths
// and on extreme rows (zeros, largest scales, subnormal and zero scales).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/kernels.h"
#include "quant/fp16.h"
#include "quant/quant.h"

namespace forge::kernels::cpu {
namespace {

const GgmlType kTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1,
                           GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q8_1, GgmlType::Q2_K,
                           GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q8_K};

bool summed_in_lanes(GgmlType t) {
  return quant::block_size(t) == 1 || t == GgmlType::Q4_1 || t == GgmlType::Q5_1;
}
std::string name(GgmlType t) { return std::string(ggml_type_info(t).name); }

std::vector<float> gaussian(std::mt19937& rng, int64_t n, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

// Lengths to test per type: 1..5 blocks and some model-like sizes; floats
// also get lengths that are not a multiple of the vector width.
std::vector<int64_t> lengths(GgmlType t) {
  const int64_t bs = quant::block_size(t);
  std::vector<int64_t> out;
  if (bs == 1) {
    for (int64_t n : {1, 7, 8, 15, 16, 17, 31, 33, 100, 255, 256, 1000, 4096}) out.push_back(n);
  } else {
    for (int64_t k : {1, 2, 3, 4, 5, 8, 16}) out.push_back(k * bs);
    out.push_back(bs == 32 ? 4096 : 2816);
  }
  return out;
}

// Sum of |w_i * a_i| over the dequantized rows: the scale of the float error.
// Bit-identical, or both NaN (a NaN's payload says nothing).
bool same_float(float a, float b) { return std::memcmp(&a, &b, 4) == 0 || (std::isnan(a) && std::isnan(b)); }

double magnitude(GgmlType t, int64_t n, const void* w, const void* a) {
  std::vector<float> wf(static_cast<size_t>(n)), af(static_cast<size_t>(n));
  quant::dequantize_row(t, w, wf.data(), n);
  quant::dequantize_row(quant::vec_dot_type(t), a, af.data(), n);
  double m = 0;
  for (int64_t i = 0; i < n; ++i) m += std::fabs(static_cast<double>(wf[i]) * af[i]);
  return m;
}

void expect_close(GgmlType t, float ref, float got, double mag, const std::string& what) {
  if (!summed_in_lanes(t)) {
    // Same integers, same float expression, same order: bit-identical.
    EXPECT_TRUE(same_float(ref, got)) << name(t) << " " << what << ": " << ref << " vs " << got;
  } else if (ref == got) {
    SUCCEED();  // also equal infinities
  } else if (std::isnan(ref) || std::isnan(got)) {
    EXPECT_EQ(std::isnan(ref), std::isnan(got)) << name(t) << " " << what;
  } else {
    EXPECT_LE(std::fabs(static_cast<double>(ref) - got), 1e-6 * mag + 1e-35)
        << name(t) << " " << what << ": " << ref << " vs " << got << " (sum |terms| " << mag << ")";
  }
}

class KernelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!isa_available(Isa::kAvx2)) GTEST_FAIL() << "this CPU has no AVX2+FMA+F16C: the AVX2 path cannot be tested";
  }
};

// Checks activation quantization, vec_dot and matvec of the AVX2 path
// against the scalar path for weight rows `w` (rows of n) and float
// activations `x` (batch rows of n).
void check_paths(GgmlType t, int64_t n, const std::vector<uint8_t>& w, int rows, const std::vector<float>& x,
                 int batch, const std::string& what) {
  const size_t wrow = quant::row_size(t, n), arow = act_row_size(t, n);
  std::vector<uint8_t> act_s(arow * batch), act_v(arow * batch);
  for (int b = 0; b < batch; ++b) {
    quantize_act(Isa::kScalar, t, x.data() + b * n, act_s.data() + b * arow, n);
    quantize_act(Isa::kAvx2, t, x.data() + b * n, act_v.data() + b * arow, n);
  }
  ASSERT_EQ(std::memcmp(act_s.data(), act_v.data(), act_s.size()), 0)
      << name(t) << " " << what << ": activation bytes differ (n=" << n << ")";

  std::vector<float> ys(static_cast<size_t>(rows) * batch), yv(ys.size());
  matvec(Isa::kScalar, t, n, w.data(), wrow, 0, rows, act_s.data(), arow, batch, ys.data(), rows);
  // Split the rows in two ranges, as a thread pool would.
  const int mid = rows / 2;
  matvec(Isa::kAvx2, t, n, w.data(), wrow, 0, mid, act_s.data(), arow, batch, yv.data(), rows);
  matvec(Isa::kAvx2, t, n, w.data(), wrow, mid, rows, act_s.data(), arow, batch, yv.data(), rows);
  for (int b = 0; b < batch; ++b) {
    for (int r = 0; r < rows; ++r) {
      const void* wr = w.data() + r * wrow;
      const void* ar = act_s.data() + b * arow;
      const std::string at = what + " n=" + std::to_string(n) + " row " + std::to_string(r) + " batch " +
                             std::to_string(b) + "/" + std::to_string(batch);
      const float ref = ys[b * rows + r];
      expect_close(t, ref, yv[b * rows + r], magnitude(t, n, wr, ar), at);
      // The batched kernel computes each product exactly as the single one.
      const float single = vec_dot(Isa::kAvx2, t, n, wr, ar);
      const float batched = yv[b * rows + r];
      EXPECT_TRUE(same_float(single, batched)) << name(t) << " " << at << ": vec_dot vs matvec";
      EXPECT_TRUE(same_float(quant::vec_dot(t, n, wr, ar), ref)) << name(t) << " " << at << ": scalar matvec vs reference";
    }
  }
}

TEST_F(KernelsTest, RandomRowsMatchScalar) {
  std::mt19937 rng(1234);
  for (GgmlType t : kTypes) {
    for (int64_t n : lengths(t)) {
      const int rows = n >= 2048 ? 5 : 11;  // groups of 4 rows and a tail
      const std::vector<float> wf = gaussian(rng, n * rows);
      std::vector<uint8_t> w(quant::row_size(t, n) * rows);
      for (int r = 0; r < rows; ++r) quant::quantize_row(t, wf.data() + r * n, w.data() + r * quant::row_size(t, n), n);
      const int batch = n >= 2048 ? 2 : 6;
      check_paths(t, n, w, rows, gaussian(rng, n * batch, 3.0f), batch, "random");
    }
  }
}

// Weight blocks of random bytes (every bit pattern of the levels, scales
// of any sign) with their half-precision scale fields forced to extremes.
std::vector<uint8_t> random_blocks(std::mt19937& rng, GgmlType t, int64_t n, int rows, uint16_t scale_bits) {
  std::vector<uint8_t> w(quant::row_size(t, n) * rows);
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : w) b = static_cast<uint8_t>(byte(rng));
  if (t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16) {
    // Plain numbers: keep them finite (a NaN row says nothing about a kernel).
    std::vector<float> v = gaussian(rng, n * rows, 100.0f);
    for (int r = 0; r < rows; ++r) {
      quant::quantize_row(t, v.data() + r * n, w.data() + r * quant::row_size(t, n), n);
    }
    return w;
  }
  const size_t bsz = ggml_type_info(t).type_size;
  for (size_t off = 0; off < w.size(); off += bsz) {
    uint8_t* blk = w.data() + off;
    auto put = [&](size_t pos) { std::memcpy(blk + pos, &scale_bits, 2); };
    switch (t) {
      case GgmlType::Q4_0: case GgmlType::Q5_0: case GgmlType::Q8_0: put(0); break;
      case GgmlType::Q4_1: case GgmlType::Q5_1: put(0); put(2); break;
      case GgmlType::Q8_1: put(0); break;
      case GgmlType::Q2_K: put(80); put(82); break;
      case GgmlType::Q3_K: put(108); break;
      case GgmlType::Q4_K: case GgmlType::Q5_K: put(0); put(2); break;
      case GgmlType::Q6_K: put(208); break;
      case GgmlType::Q8_K: {
        const float d = quant::fp16_to_fp32(scale_bits);
        std::memcpy(blk, &d, 4);
        break;
      }
      default: break;
    }
  }
  return w;
}

TEST_F(KernelsTest, ExtremeRowsMatchScalar) {
  std::mt19937 rng(99);
  // Zero, smallest subnormal, a mid subnormal, largest finite half, 1.0, -2.0.
  const uint16_t scales[] = {0x0000, 0x0001, 0x0200, 0x7bff, 0x3c00, 0xc000};
  for (GgmlType t : kTypes) {
    const int64_t n = 4 * quant::block_size(t) + (quant::block_size(t) == 1 ? 3 : 0);
    std::vector<std::vector<float>> acts;
    acts.push_back(std::vector<float>(static_cast<size_t>(n), 0.0f));                  // all zero
    acts.push_back(gaussian(rng, n, 3e4f));                                             // large (scales near half max)
    std::vector<float> big(static_cast<size_t>(n), 65504.0f);                           // max half magnitude
    for (size_t i = 0; i < big.size(); i += 2) big[i] = -65504.0f;
    acts.push_back(big);
    acts.push_back(gaussian(rng, n, 1e-39f));                                           // subnormal floats
    std::vector<float> spike(static_cast<size_t>(n), 0.0f);                             // one value per row
    spike[static_cast<size_t>(n / 3)] = -1.0f;
    acts.push_back(spike);
    std::vector<float> tie(static_cast<size_t>(n));                                     // +-equal magnitudes
    for (size_t i = 0; i < tie.size(); ++i) tie[i] = (i % 3 == 1) ? 2.5f : -2.5f;
    acts.push_back(tie);
    for (uint16_t s : scales) {
      const std::vector<uint8_t> w = random_blocks(rng, t, n, 2, s);
      for (size_t k = 0; k < acts.size(); ++k) {
        check_paths(t, n, w, 2, acts[k], 1, "extreme scale " + std::to_string(s) + " act " + std::to_string(k));
      }
    }
    // All-zero weights too.
    std::vector<uint8_t> zero(quant::row_size(t, n) * 2, 0);
    check_paths(t, n, zero, 2, gaussian(rng, n), 1, "zero weights");
  }
}

TEST(KernelsIsa, DetectsAvx2OnThisMachine) {
  EXPECT_TRUE(isa_available(Isa::kScalar));
  EXPECT_EQ(detect_isa(), isa_available(Isa::kAvx2) ? Isa::kAvx2 : Isa::kScalar);
  EXPECT_EQ(isa_name(Isa::kAvx2), "avx2");
}

}  // namespace
}  // namespace forge::kernels::cpu
