// Sampling from the highest logits only (Sampler::sample_top, what Session::generate does with
// Forward::decode_top): for every setting where candidates_needed() says it may, the tokens must
// be sample()'s over all the logits, draw for draw with the same seed. sample() is the reference
// (its filters are checked against hand-worked cases in sampler_test.cpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "model/forward.h"
#include "runtime/sampler.h"
#include "sampler_test_util.h"

namespace forge::runtime {
namespace {

using test::plain_params;

// Logits with what breaks careless selection: ties (values on a coarse grid), both zeros,
// and (with `banned`) a share of -infinity.
std::vector<float> rough_logits(std::mt19937& rng, int vocab, double banned) {
  std::uniform_int_distribution<int> level(-40, 40);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<float> l(vocab);
  for (float& x : l) {
    x = static_cast<float>(level(rng)) / 8.0f;
    if (x == 0.0f && u(rng) < 0.5) x = -0.0f;
    if (u(rng) < banned) x = -INFINITY;
  }
  return l;
}

// The token drawn, or the error's message (every token banned).
template <class Draw>
std::string outcome(Draw draw) {
  try {
    return std::to_string(draw());
  } catch (const std::runtime_error& e) {
    return e.what();
  }
}

// The same seed through sample() on all logits and sample_top() on the top candidates_needed().
void expect_same_draws(const SamplingParams& p, int vocab, double banned, int draws) {
  Sampler all(p, vocab), top(p, vocab);
  const int32_t k = top.candidates_needed();
  ASSERT_GT(k, 0);
  std::mt19937 rng(7);
  std::vector<model::TokenLogit> best;
  for (int i = 0; i < draws; ++i) {
    const std::vector<float> l = rough_logits(rng, vocab, banned);
    model::top_logits(l, k, &best);
    ASSERT_EQ(outcome([&] { return top.sample_top(best); }), outcome([&] { return all.sample(l); })) << "draw " << i;
  }
}

SamplingParams seeded(float temperature, int top_k, float top_p, float min_p, float typical_p) {
  SamplingParams p = plain_params();
  p.seed = 1234;
  p.temperature = temperature;
  p.top_k = top_k;
  p.top_p = top_p;
  p.min_p = min_p;
  p.typical_p = typical_p;
  return p;
}

TEST(SamplerTop, CandidatesNeeded) {
  EXPECT_EQ(Sampler(seeded(0.0f, 40, 1, 0, 1), 100).candidates_needed(), 1);
  EXPECT_EQ(Sampler(seeded(0.8f, 40, 0.95f, 0.05f, 1), 100).candidates_needed(), 41);
  EXPECT_EQ(Sampler(seeded(0.8f, 0, 0.95f, 0.05f, 1), 100).candidates_needed(), 0);    // no top-k
  EXPECT_EQ(Sampler(seeded(0.8f, 100, 0.95f, 0.05f, 1), 100).candidates_needed(), 0);  // k >= vocabulary
  SamplingParams p = seeded(0.0f, 40, 1, 0, 1);
  p.logit_bias[3] = -1.0f;  // a bias can lift a token past the others
  EXPECT_EQ(Sampler(p, 100).candidates_needed(), 0);
  p = seeded(0.8f, 40, 1, 0, 1);
  p.repeat_penalty = 1.1f;
  EXPECT_EQ(Sampler(p, 100).candidates_needed(), 0);
  p.penalty_last_n = 0;  // no window: the penalty never applies
  EXPECT_EQ(Sampler(p, 100).candidates_needed(), 41);
  p.presence_penalty = 0.5f;
  p.penalty_last_n = 64;
  EXPECT_EQ(Sampler(p, 100).candidates_needed(), 0);
}

TEST(SamplerTop, SameTokensAsAllLogits) {
  expect_same_draws(seeded(0.0f, 40, 1, 0, 1), 1000, 0.0, 300);          // greedy
  expect_same_draws(seeded(0.8f, 40, 0.95f, 0.05f, 1), 1000, 0.0, 300);  // the defaults
  expect_same_draws(seeded(1.0f, 40, 1, 0, 1), 1000, 0.0, 300);          // top-k alone
  expect_same_draws(seeded(1.5f, 7, 0.5f, 0, 0.9f), 1000, 0.0, 300);     // typical and top-p
  expect_same_draws(seeded(0.7f, 1, 1, 0, 1), 1000, 0.0, 100);           // top-1
  expect_same_draws(seeded(1.0f, 999, 0.9f, 0.1f, 1), 1000, 0.0, 100);   // k = vocabulary - 1
}

TEST(SamplerTop, SameTokensWithBannedTokens) {
  // Often fewer than k tokens are left: sample() keeps them in id order for the filters.
  expect_same_draws(seeded(0.8f, 40, 0.95f, 0.05f, 1), 64, 0.5, 300);
  expect_same_draws(seeded(1.0f, 20, 0.8f, 0, 0.95f), 30, 0.4, 300);
  expect_same_draws(seeded(0.0f, 40, 1, 0, 1), 30, 0.9, 300);
}

TEST(SamplerTop, OrderOfCandidatesDoesNotMatter) {
  const SamplingParams p = seeded(0.8f, 5, 0.95f, 0.05f, 1);
  Sampler a(p, 50), b(p, 50);
  std::mt19937 rng(3);
  std::vector<model::TokenLogit> best;
  for (int i = 0; i < 50; ++i) {
    const std::vector<float> l = rough_logits(rng, 50, 0.0);
    model::top_logits(l, 12, &best);  // more than needed, then reversed
    std::vector<model::TokenLogit> reversed(best.rbegin(), best.rend());
    EXPECT_EQ(a.sample_top(reversed), b.sample(l));
  }
}

TEST(SamplerTop, ErrorsAsSample) {
  const SamplingParams p = seeded(0.8f, 3, 1, 0, 1);
  std::vector<float> l = {0.5f, std::numeric_limits<float>::quiet_NaN(), 2.0f, INFINITY, 1.0f, 0.0f};
  std::vector<model::TokenLogit> best;
  model::top_logits(l, 4, &best);
  EXPECT_EQ(best[0].id, 1);  // NaN and +infinity first, the lower id first
  EXPECT_EQ(best[1].id, 3);
  std::string want, got;
  try {
    Sampler(p, 6).sample(l);
  } catch (const std::runtime_error& e) {
    want = e.what();
  }
  try {
    Sampler(p, 6).sample_top(best);
  } catch (const std::runtime_error& e) {
    got = e.what();
  }
  EXPECT_THAT(want, ::testing::HasSubstr("token 1"));
  EXPECT_EQ(got, want);

  const std::vector<float> banned(6, -INFINITY);
  model::top_logits(banned, 4, &best);
  EXPECT_THROW(Sampler(p, 6).sample_top(best), std::runtime_error);
  best.resize(3);  // 4 needed
  EXPECT_THROW(Sampler(p, 6).sample_top(best), std::invalid_argument);
  EXPECT_THROW(Sampler(seeded(0.8f, 0, 1, 0, 1), 6).sample_top(best), std::logic_error);
}

// A model whose decode() always gives the same logits: Forward::decode_top's base version.
class FixedLogits : public model::Forward {
 public:
  explicit FixedLogits(std::vector<float> l) : l_(std::move(l)) { info_.n_vocab = static_cast<int>(l_.size()); }
  const model::ModelInfo& info() const override { return info_; }
  std::span<const float> prefill(std::span<const int32_t>, int, model::Logits, int) override { return l_; }
  void truncate(int, int) override {}

 private:
  std::vector<float> l_;
  model::ModelInfo info_;
};

TEST(SamplerTop, DecodeTopOfTheBaseForward) {
  FixedLogits f({1.0f, 3.0f, -INFINITY, 3.0f, -0.0f, 0.0f, 2.0f});
  auto ids = [](std::span<const model::TokenLogit> t) {
    std::vector<int32_t> v;
    for (const auto& c : t) v.push_back(c.id);
    return v;
  };
  EXPECT_THAT(ids(f.decode_top(0, 0, 4)), ::testing::ElementsAre(1, 3, 6, 0));
  EXPECT_THAT(ids(f.decode_top(0, 0, 7)), ::testing::ElementsAre(1, 3, 6, 0, 4, 5, 2));  // -0 and 0 tie: by id
  EXPECT_EQ(f.decode_top(0, 0, 20).size(), 7u);
}

}  // namespace
}  // namespace forge::runtime
