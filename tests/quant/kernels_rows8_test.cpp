// The rows8 layout (kernels/cpu/repack.h) and its kernels (avx2_rows8.h) for
// Q8_0, Q4_0, Q4_K and Q6_K,
// built three times: plain AVX2 (maddubs), AVX-VNNI and AVX-512 VNNI
// (vpdpbusd), as compiled programs are for x86-64-v3, or for -march=native
// on CPUs that have them. Checked against the scalar reference: repacked
// rows dequantize to the same floats, and every product is bit-identical to
// quant::vec_dot (the same integers and float expression, in block order).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/avx2/avx2_rows8.h"
#include "kernels/cpu/repack.h"
#include "quant/quant.h"

namespace forge::kernels::cpu {
namespace {

bool cpu_has_variant() {
#if defined(FORGE_ROWS8_AVX512VNNI)
  return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512bw");
#elif defined(FORGE_ROWS8_AVXVNNI)
  return __builtin_cpu_supports("avxvnni");
#else
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
}

// Rows of quantized Gaussian values, or of random bytes with finite scales
// (every level pattern, Q8_0's -128 included).
std::vector<uint8_t> make_rows(std::mt19937& rng, GgmlType t, int64_t k, int rows, bool raw) {
  const size_t rb = quant::row_size(t, k);
  std::vector<uint8_t> w(rb * rows);
  if (raw) {
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& b : w) b = static_cast<uint8_t>(byte(rng));
    const size_t block = ggml_type_info(t).type_size;
    // Half scales with exponent < 31: finite.
    const size_t d_at = t == GgmlType::Q6_K ? 208 : 0;
    for (size_t off = 0; off < w.size(); off += block) {
      w[off + d_at + 1] &= 0x3b;
      if (t == GgmlType::Q4_K) w[off + 3] &= 0x3b;  // dmin
    }
    return w;
  }
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(k));
  for (int r = 0; r < rows; ++r) {
    for (auto& v : x) v = nd(rng);
    quant::quantize_row(t, x.data(), w.data() + r * rb, k);
  }
  return w;
}

template <class WB, int64_t K>
void check(std::mt19937& rng, bool raw) {
  constexpr GgmlType t = quant::BlockTraits<WB>::kType;
  const std::string what = std::string(ggml_type_info(t).name) + " K=" + std::to_string(K) + (raw ? " raw" : "");
  constexpr int kRowsN = 24;
  const size_t rb = quant::row_size(t, K);
  ASSERT_TRUE(rows8_supported(t, kRowsN, K)) << what;
  const std::vector<uint8_t> w = make_rows(rng, t, K, kRowsN, raw);
  std::vector<uint8_t> packed(w.size());
  for (int g = 0; g < kRowsN / 8; ++g) repack_rows8_group(t, K, w.data() + g * 8 * rb, rb, packed.data() + g * 8 * rb);

  std::vector<float> ref(K), got(K);
  for (int r = 0; r < kRowsN; ++r) {
    quant::dequantize_row(t, w.data() + r * rb, ref.data(), K);
    dequantize_rows8_row(t, K, packed.data(), r, got.data());
    ASSERT_EQ(std::memcmp(ref.data(), got.data(), K * sizeof(float)), 0) << what << ": row " << r << " dequantizes differently";
  }

  constexpr int kBatch = 6;
  const GgmlType at = quant::vec_dot_type(t);
  const size_t ab = quant::row_size(at, K);
  std::vector<uint8_t> acts(ab * kBatch);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  std::vector<float> x(K);
  for (int b = 0; b < kBatch; ++b) {
    for (auto& v : x) v = nd(rng);
    if (b == 5) std::fill(x.begin(), x.end(), -2.5f);  // every level at the extreme
    quant::quantize_row(at, x.data(), acts.data() + b * ab, K);
  }
  for (int batch = 1; batch <= kBatch; ++batch) {
    std::vector<float> y(static_cast<size_t>(kRowsN) * batch, -1.0f);
    // Two calls over groups [0, 1) and [1, 3), as a thread pool splits them.
    avx2::matvec_rows8<WB>(FixedLen<K>{}, packed.data(), 0, 1, acts.data(), ab, batch, y.data(), kRowsN);
    avx2::matvec_rows8<WB>(FixedLen<K>{}, packed.data(), 1, 3, acts.data(), ab, batch, y.data(), kRowsN);
    for (int b = 0; b < batch; ++b) {
      for (int r = 0; r < kRowsN; ++r) {
        const float want = quant::vec_dot(t, K, w.data() + r * rb, acts.data() + b * ab);
        const float have = y[static_cast<size_t>(b) * kRowsN + r];
        EXPECT_EQ(std::memcmp(&want, &have, 4), 0)
            << what << " batch " << batch << " act " << b << " row " << r << ": " << want << " vs " << have;
      }
    }
  }
}

TEST(FORGE_ROWS8_SUITE, RepackedKernelsAreBitIdenticalToTheReference) {
  if (!cpu_has_variant()) {
    GTEST_SKIP() << "this CPU lacks the instructions of this build (" << FORGE_ROWS8_VARIANT
                 << "): its kernels cannot run here";
  }
  std::mt19937 rng(7);
  for (bool raw : {false, true}) {
    check<quant::BlockQ8_0, 32>(rng, raw);
    check<quant::BlockQ8_0, 576>(rng, raw);
    check<quant::BlockQ8_0, 2048>(rng, raw);
    check<quant::BlockQ4_0, 32>(rng, raw);
    check<quant::BlockQ4_0, 576>(rng, raw);
    check<quant::BlockQ4_0, 2048>(rng, raw);
    check<quant::BlockQ4_K, 256>(rng, raw);
    check<quant::BlockQ4_K, 2048>(rng, raw);
    check<quant::BlockQ6_K, 256>(rng, raw);
    check<quant::BlockQ6_K, 1536>(rng, raw);
  }
}

TEST(FORGE_ROWS8_SUITE, WhichMatricesTakeTheLayout) {
  EXPECT_TRUE(rows8_supported(GgmlType::Q8_0, 8, 32));
  EXPECT_TRUE(rows8_supported(GgmlType::Q4_0, 49152, 576));
  EXPECT_FALSE(rows8_supported(GgmlType::Q4_0, 12, 64));    // not whole groups
  EXPECT_TRUE(rows8_supported(GgmlType::Q6_K, 64, 256));
  EXPECT_TRUE(rows8_supported(GgmlType::Q4_K, 8, 2048));
  EXPECT_FALSE(rows8_supported(GgmlType::Q4_K, 8, 96));     // not whole super-blocks
  EXPECT_FALSE(rows8_supported(GgmlType::Q5_K, 64, 256));   // no rows8 kernel
  EXPECT_FALSE(rows8_supported(GgmlType::F16, 64, 64));
  EXPECT_FALSE(rows8_supported(GgmlType::Q8_0, 8, kRows8MaxCols + 32));
}

}  // namespace
}  // namespace forge::kernels::cpu
