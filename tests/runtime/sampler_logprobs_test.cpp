// OpenAI logprobs: log-softmax of logits + bias, values worked out by hand.
#include "runtime/sampler_logprobs.h"

#include <gtest/gtest.h>

#include <cmath>

#include "runtime/sampler.h"
#include "sampler_test_util.h"

namespace forge::runtime {
namespace {

// log(e^1 + e^2 + e^3) = 3 + log(1 + e^-1 + e^-2) = 3.4076059644
constexpr double kLse123 = 3.4076059644;

TEST(Logprobs, LogSoftmaxOfChosenAndTop) {
  const std::vector<float> logits = {1, 2, 3};
  const auto r = token_logprobs(logits, {}, 0, 2);
  EXPECT_EQ(r.chosen.id, 0);
  EXPECT_NEAR(r.chosen.logprob, 1 - kLse123, 1e-6);
  ASSERT_EQ(r.top.size(), 2u);
  EXPECT_EQ(r.top[0].id, 2);
  EXPECT_NEAR(r.top[0].logprob, 3 - kLse123, 1e-6);
  EXPECT_EQ(r.top[1].id, 1);
  EXPECT_NEAR(r.top[1].logprob, 2 - kLse123, 1e-6);
  EXPECT_TRUE(token_logprobs(logits, {}, 1, 0).top.empty());
  EXPECT_EQ(token_logprobs(logits, {}, 1, 50).top.size(), 3u);
}

TEST(Logprobs, BiasIsIncluded) {
  // Token 2 banned: log(e + e^2) = 2.3132616875.
  const auto r = token_logprobs(std::vector<float>{1, 2, 3}, {{2, -INFINITY}}, 0, 3);
  EXPECT_NEAR(r.chosen.logprob, 1 - 2.3132616875, 1e-6);
  ASSERT_EQ(r.top.size(), 3u);
  EXPECT_EQ(r.top[0].id, 1);
  EXPECT_EQ(r.top[1].id, 0);
  EXPECT_EQ(r.top[2].id, 2);
  EXPECT_EQ(r.top[2].logprob, -INFINITY);
}

TEST(Logprobs, TiesAndLargeVocabulary) {
  const auto r = token_logprobs(std::vector<float>(50000, 0.0f), {}, 49999, 2);
  EXPECT_NEAR(r.chosen.logprob, -10.8197782844, 1e-5);  // -ln 50000
  EXPECT_EQ(r.top[0].id, 0);
  EXPECT_EQ(r.top[1].id, 1);
}

TEST(Logprobs, IgnoreTemperaturePenaltiesAndFilters) {
  auto p = test::plain_params();
  p.temperature = 0.3f;
  p.top_k = 1;
  p.repeat_penalty = 1.7f;
  Sampler s(p, 3);
  s.accept(2);
  EXPECT_NEAR(s.logprobs(std::vector<float>{1, 2, 3}, 2, 1).chosen.logprob, 3 - kLse123, 1e-6);
}

TEST(Logprobs, Errors) {
  const std::vector<float> logits = {1, 2, 3};
  EXPECT_THROW(token_logprobs(logits, {}, 3, 1), std::invalid_argument);
  EXPECT_THROW(token_logprobs(logits, {}, -1, 1), std::invalid_argument);
  EXPECT_THROW(token_logprobs(logits, {}, 0, -1), std::invalid_argument);
  EXPECT_THROW(token_logprobs(logits, {{3, 1.0f}}, 0, 1), std::invalid_argument);
  EXPECT_THROW(token_logprobs(std::vector<float>{1, NAN}, {}, 0, 1), std::runtime_error);
  EXPECT_THROW(token_logprobs(logits, {{0, -INFINITY}, {1, -INFINITY}, {2, -INFINITY}}, 0, 1), std::runtime_error);
}

}  // namespace
}  // namespace forge::runtime
