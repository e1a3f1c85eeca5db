// The seeded draw: reproducible, documented, and distributed as the survivors' softmax says.
#include <gtest/gtest.h>

#include <random>

#include "runtime/sampler.h"
#include "sampler_test_util.h"

namespace forge::runtime {
namespace {

using test::logits_of;
using test::plain_params;

std::vector<int32_t> draw(Sampler& s, std::span<const float> logits, int n) {
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) out.push_back(s.sample(logits));
  return out;
}

std::vector<float> flat_logits(int n) {
  std::vector<float> logits;
  for (int i = 0; i < n; ++i) logits.push_back(float(i % 7) * 0.1f);
  return logits;
}

TEST(SamplerSeed, SameSeedSameTokensOtherSeedOtherTokens) {
  const auto logits = flat_logits(100);
  auto p = plain_params();
  p.seed = 42;
  Sampler a(p, 100), b(p, 100);
  const auto first = draw(a, logits, 200);
  EXPECT_EQ(first, draw(b, logits, 200));
  p.seed = 43;
  Sampler c(p, 100);
  EXPECT_NE(first, draw(c, logits, 200));
  a.reset();  // back to the start of the seed's sequence
  EXPECT_EQ(first, draw(a, logits, 200));
}

TEST(SamplerSeed, UnseededSamplersGetDifferentSeeds) {
  auto p = plain_params();
  p.seed.reset();
  EXPECT_NE(Sampler(p, 2).seed(), Sampler(p, 2).seed());  // fails with probability 2^-64
}

TEST(SamplerSeed, DrawFollowsTheDocumentedUniform) {
  // Two equal tokens: token 0 iff u < 0.5, where u = (raw >> 11) * 2^-53 and raw is the next
  // output of std::mt19937_64 seeded with the seed (an engine the C++ standard fixes bit for bit).
  auto p = plain_params();
  p.seed = 987654321;
  Sampler s(p, 2);
  std::mt19937_64 engine(987654321);
  const std::vector<float> logits = {0.0f, 0.0f};
  for (int i = 0; i < 256; ++i) {
    const double u = double(engine() >> 11) * 0x1.0p-53;
    ASSERT_EQ(s.sample(logits), u < 0.5 ? 0 : 1) << "draw " << i;
  }
}

// Pearson's chi-square of counts against expected probabilities.
double chi_square(const std::vector<int>& counts, const std::vector<double>& probs, int n) {
  double x2 = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] == 0) {
      EXPECT_EQ(counts[i], 0) << "token " << i << " has probability 0";
      continue;
    }
    const double expected = probs[i] * n;
    x2 += (counts[i] - expected) * (counts[i] - expected) / expected;
  }
  return x2;
}

std::vector<int> histogram(Sampler& s, std::span<const float> logits, int n) {
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < n; ++i) ++counts[size_t(s.sample(logits))];
  return counts;
}

// Chi-square critical value at p = 0.001 for 3 degrees of freedom (standard table), and 1.
constexpr double kChi2Df3 = 16.27;
constexpr double kChi2Df1 = 10.83;
constexpr int kDraws = 20000;

TEST(SamplerDistribution, TemperatureOne) {
  const auto logits = logits_of({0.1, 0.2, 0.3, 0.4});
  Sampler s(plain_params(), 4);
  EXPECT_LT(chi_square(histogram(s, logits, kDraws), {0.1, 0.2, 0.3, 0.4}, kDraws), kChi2Df3);
}

TEST(SamplerDistribution, TemperatureHalfSquaresTheProbabilities) {
  // p^(1/T) renormalised: 1, 4, 9, 16 over 30.
  auto p = plain_params();
  p.temperature = 0.5f;
  Sampler s(p, 4);
  const auto counts = histogram(s, logits_of({0.1, 0.2, 0.3, 0.4}), kDraws);
  EXPECT_LT(chi_square(counts, {1 / 30.0, 4 / 30.0, 9 / 30.0, 16 / 30.0}, kDraws), kChi2Df3);
}

TEST(SamplerDistribution, TopKRenormalises) {
  // Top-2 of 0.1, 0.2, 0.3, 0.4: 3/7 and 4/7.
  auto p = plain_params();
  p.top_k = 2;
  Sampler s(p, 4);
  const auto counts = histogram(s, logits_of({0.1, 0.2, 0.3, 0.4}), kDraws);
  EXPECT_LT(chi_square(counts, {0, 0, 3 / 7.0, 4 / 7.0}, kDraws), kChi2Df1);
}

TEST(SamplerDistribution, WrongDistributionIsDetected) {
  // The check above can fail: the same counts against a wrong distribution give a huge statistic.
  Sampler s(plain_params(), 4);
  EXPECT_GT(chi_square(histogram(s, logits_of({0.1, 0.2, 0.3, 0.4}), kDraws), {0.25, 0.25, 0.25, 0.25}, kDraws),
            100 * kChi2Df3);
}

}  // namespace
}  // namespace forge::runtime
