// Sampling from the highest logits only (Sampler::sample_top, what Session::generate does with
// Forward::decode_top): for every setting where top_needed() says it may, the tokens must be
// sample()'s over all the logits, draw for draw with the same seed (where sample_top() leaves a
// token undecided, the caller's sample() of the row draws it). sample() is the reference (its
// filters are checked against hand-worked cases in sampler_test.cpp).
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

using test::seeded;

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

// Peaked logits, as a model's (a normal spread of 4): top-p's share lies within the first
// few dozen tokens, as sample_top() needs for top-p or min-p without top-k.
std::vector<float> peaked_logits(std::mt19937& rng, int vocab) {
  std::normal_distribution<float> nd(0.0f, 4.0f);
  std::vector<float> l(vocab);
  for (float& x : l) x = nd(rng);
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

// The softmax mass as another summation order gives it (the GPU's): 1e-12 off.
double other_order(double mass) { return mass * (1 + 1e-12); }

// Draws from sample() on all logits and from sample_top() on the top_needed() highest, the same
// seed, both accepting the tokens drawn (the penalties' window). `logits(i, recent)` makes draw
// i's row (recent: the tokens accepted so far). Returns how many sample_top() decided.
template <class Logits>
int expect_same_draws(const SamplingParams& p, int vocab, int draws, Logits logits) {
  Sampler all(p, vocab), top(p, vocab);
  std::vector<int32_t> recent;
  std::vector<model::TokenLogit> best;
  int decided = 0;
  for (int i = 0; i < draws; ++i) {
    const std::vector<float> l = logits(i, recent);
    const Sampler::TopNeed need = top.top_needed();
    EXPECT_GT(need.k, 0) << "draw " << i;
    if (need.k == 0) return decided;
    model::top_logits(l, need.k, &best);
    const double mass = need.mass ? other_order(model::softmax_mass(l)) : NAN;
    const std::string want = outcome([&] { return all.sample(l); });
    const std::string got = outcome([&] {
      const std::optional<int32_t> t = top.sample_top(best, mass);
      decided += t.has_value();
      return t ? *t : top.sample(l);
    });
    EXPECT_EQ(got, want) << "draw " << i;
    if (got != want) return decided;
    if (want.find_first_not_of("0123456789") != std::string::npos) continue;  // an error
    const int32_t tok = std::stoi(want);
    all.accept(tok);
    top.accept(tok);
    recent.push_back(tok);
  }
  return decided;
}

int expect_same_draws(const SamplingParams& p, int vocab, double banned, int draws) {
  std::mt19937 rng(7);
  return expect_same_draws(p, vocab, draws,
                           [&](int, const std::vector<int32_t>&) { return rough_logits(rng, vocab, banned); });
}

TEST(SamplerTop, TopNeeded) {
  auto need = [](const SamplingParams& p, int vocab = 100) {
    const Sampler::TopNeed n = Sampler(p, vocab).top_needed();
    return std::to_string(n.k) + (n.mass ? "+mass" : "");
  };
  EXPECT_EQ(need(seeded(0.0f, 40, 1, 0, 1)), "1");
  EXPECT_EQ(need(seeded(0.8f, 40, 0.95f, 0.05f, 1)), "41");
  EXPECT_EQ(need(seeded(0.8f, 0, 0.95f, 0.05f, 1)), "100+mass");  // no top-k: the whole (small) vocabulary
  EXPECT_EQ(need(seeded(0.8f, 0, 0.95f, 0.05f, 1), 1000), "128+mass");
  EXPECT_EQ(need(seeded(0.8f, 0, 1, 0.05f, 1), 1000), "128");       // min-p alone: no mass
  EXPECT_EQ(need(seeded(0.8f, 0, 1, 0, 1), 1000), "0");             // the whole distribution
  EXPECT_EQ(need(seeded(0.8f, 0, 0.9f, 0, 0.9f), 1000), "0");       // typical-p sees every token
  EXPECT_EQ(need(seeded(0.8f, 100, 0.95f, 0.05f, 1)), "100+mass");  // k >= vocabulary: no top-k
  SamplingParams p = seeded(0.0f, 40, 1, 0, 1);
  p.logit_bias[3] = -1.0f;  // lowers one token: one candidate more
  p.logit_bias[4] = -INFINITY;
  EXPECT_EQ(need(p), "3");
  p.logit_bias[5] = 0.5f;  // lifts a token past others
  EXPECT_EQ(need(p), "0");
  p = seeded(0.8f, 0, 0.95f, 0, 1);
  p.logit_bias[3] = -1.0f;  // without top-k the mass moves
  EXPECT_EQ(need(p, 1000), "0");
  p = seeded(0.8f, 40, 1, 0, 1);
  p.repeat_penalty = 1.1f;
  Sampler s(p, 100);
  EXPECT_EQ(s.top_needed().k, 41);
  s.accept(7);
  s.accept(9);
  s.accept(7);
  EXPECT_EQ(s.top_needed().k, 43);  // two tokens in the window
  p.repeat_penalty = 0.9f;          // lifts them
  EXPECT_EQ(need(p), "0");
  p.repeat_penalty = 1.0f;
  p.frequency_penalty = -0.5f;
  EXPECT_EQ(need(p), "0");
  p.frequency_penalty = 0.5f;
  p.presence_penalty = 0.5f;
  EXPECT_EQ(need(p), "41");
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
  // Without top-k, a -infinity among the candidates: every finite token is among them.
  expect_same_draws(seeded(0.8f, 0, 0.95f, 0.05f, 1), 1000, 0.95, 200);
  expect_same_draws(seeded(0.8f, 0, 1, 0.2f, 1), 1000, 0.95, 200);
}

TEST(SamplerTop, TopPAndMinPWithoutTopK) {
  const int vocab = 5000;
  std::mt19937 rng(11);
  auto peaked = [&](int, const std::vector<int32_t>&) { return peaked_logits(rng, vocab); };
  // Most draws decided by the candidates (the rest by sample() of the row): both counted.
  const int draws = 400;
  for (const SamplingParams& p : {seeded(0.8f, 0, 0.95f, 0.05f, 1), seeded(1.0f, 0, 0.9f, 0, 1),
                                  seeded(0.7f, 0, 0.5f, 0.2f, 1), seeded(1.2f, 0, 1, 0.1f, 1),
                                  seeded(1.0f, 0, 0.0f, 0, 1)}) {
    const int decided = expect_same_draws(p, vocab, draws, peaked);
    EXPECT_GT(decided, draws / 2) << "top-p " << p.top_p << ", min-p " << p.min_p;
  }
  // Rough logits (ties on a coarse grid, a flat spread): the share reaches past 128 tokens.
  std::mt19937 rng2(5);
  const int decided = expect_same_draws(seeded(1.0f, 0, 0.95f, 0, 1), 1000, 100, [&](int, const auto&) {
    return rough_logits(rng2, 1000, 0.0);
  });
  EXPECT_EQ(decided, 0);
}

TEST(SamplerTop, EdgeOfTopPWithinRoundingIsLeftToSample) {
  // Two tokens of logit 0 and the rest far below: top-p 0.5's share ends exactly at the first
  // token's mass, where a mass summed in another order could put it either side.
  std::vector<float> l(500, -100.0f);
  l[17] = l[300] = 0.0f;
  SamplingParams p = seeded(1.0f, 0, 0.5f, 0, 1);
  Sampler top(p, 500), all(p, 500);
  std::vector<model::TokenLogit> best;
  model::top_logits(l, top.top_needed().k, &best);
  EXPECT_FALSE(top.sample_top(best, model::softmax_mass(l)).has_value());
  EXPECT_EQ(top.sample(l), all.sample(l));  // nothing drawn by sample_top: the same random sequence
  // A share a little further on is decided.
  p.top_p = 0.6f;
  Sampler top2(p, 500), all2(p, 500);
  EXPECT_EQ(top2.sample_top(best, model::softmax_mass(l)), std::optional<int32_t>(all2.sample(l)));
}

TEST(SamplerTop, EveryFiniteTokenAmongTheCandidates) {
  // A -infinity among the candidates: the finite tokens are all there, and decide min-p alone
  // even where every one of them is kept.
  std::vector<float> l(300, -INFINITY);
  for (int32_t t = 100; t < 110; ++t) l[t] = 1.0f;
  const SamplingParams p = seeded(1.0f, 0, 1, 0.05f, 1);
  Sampler top(p, 300), all(p, 300);
  std::vector<model::TokenLogit> best;
  model::top_logits(l, top.top_needed().k, &best);
  EXPECT_EQ(top.sample_top(best), std::optional<int32_t>(all.sample(l)));
}

TEST(SamplerTop, BiasAndPenaltiesThatLowerLogits) {
  // The recently accepted tokens and the biased ones made the highest, so that the penalties
  // and the biases reorder the candidates and push some out of the top k.
  const int vocab = 2000;
  std::mt19937 rng(3);
  auto lifted = [&](int, const std::vector<int32_t>& recent) {
    std::vector<float> l = rough_logits(rng, vocab, 0.0);
    for (size_t j = recent.size() > 30 ? recent.size() - 30 : 0; j < recent.size(); ++j) l[recent[j]] = 6.0f;
    for (int32_t t = 0; t < 40; t += 3) l[t] = 5.0f + t / 16.0f;
    return l;
  };
  SamplingParams p = seeded(0.9f, 20, 0.95f, 0.05f, 1);
  p.repeat_penalty = 1.3f;
  p.frequency_penalty = 0.4f;
  p.presence_penalty = 0.2f;
  for (int32_t t = 0; t < 40; t += 6) p.logit_bias[t] = t % 12 == 0 ? -INFINITY : -1.5f;
  expect_same_draws(p, vocab, 300, lifted);
  p.temperature = 0.0f;  // greedy
  expect_same_draws(p, vocab, 300, lifted);
  p.temperature = 1.0f;
  p.top_k = 1;
  p.penalty_last_n = -1;  // every accepted token
  expect_same_draws(p, vocab, 300, lifted);
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
    EXPECT_EQ(a.sample_top(reversed), std::optional<int32_t>(b.sample(l)));
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

  // top-p without top-k: the mass is needed, but a NaN logit is still sample()'s error first.
  const SamplingParams nucleus = seeded(0.8f, 0, 0.9f, 0, 1);
  std::vector<float> row(300, 0.5f);
  row[200] = 3.0f;
  model::top_logits(row, 128, &best);
  EXPECT_THROW(Sampler(nucleus, 300).sample_top(best), std::invalid_argument);  // no mass
  row[250] = std::numeric_limits<float>::quiet_NaN();
  model::top_logits(row, 128, &best);
  EXPECT_THROW(Sampler(nucleus, 300).sample_top(best, NAN), std::runtime_error);
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
  EXPECT_THAT(ids(f.decode_top(0, 0, 4, false).top), ::testing::ElementsAre(1, 3, 6, 0));
  EXPECT_THAT(ids(f.decode_top(0, 0, 7, false).top),
              ::testing::ElementsAre(1, 3, 6, 0, 4, 5, 2));  // -0 and 0 tie: by id
  EXPECT_EQ(f.decode_top(0, 0, 20, false).top.size(), 7u);
  EXPECT_TRUE(std::isnan(f.decode_top(0, 0, 2, false).mass));
  // The mass: sum of exp(l - 3) over the row, in id order.
  const double want = std::exp(-2.0) + 1 + 0 + 1 + std::exp(-3.0) + std::exp(-3.0) + std::exp(-1.0);
  EXPECT_DOUBLE_EQ(f.decode_top(0, 0, 2, true).mass, want);
  EXPECT_EQ(f.decode_top_row().size(), 7u);
  EXPECT_EQ(model::softmax_mass(std::vector<float>(4, -INFINITY)), 0.0);
}

}  // namespace
}  // namespace forge::runtime
