// The sampler's filters and penalties, each on hand-made logits whose survivors follow from the
// definitions (worked out in the comments), not from running the code.
#include "runtime/sampler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "sampler_test_util.h"

namespace forge::runtime {
namespace {

using test::ids_of;
using test::logits_of;
using test::plain_params;
using test::sorted_ids_of;
using ::testing::ElementsAre;

// p = 0.15, 0.5, 0.05, 0.3 for ids 0..3: by probability the order is 1, 3, 0, 2.
const std::vector<double> kProbs = {0.15, 0.5, 0.05, 0.3};

TEST(SamplerGreedy, ArgmaxWithTiesToLowestId) {
  auto p = plain_params();
  p.temperature = 0.0f;
  Sampler s(p, 5);
  const std::vector<float> logits = {0.1f, 2.5f, -1.0f, 2.5f, 2.4f};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(s.sample(logits), 1);
  p.temperature = -1.0f;  // any temperature <= 0 is greedy
  EXPECT_EQ(Sampler(p, 5).sample(logits), 1);
}

TEST(SamplerGreedy, IgnoresTruncationFiltersButSeesPenalties) {
  auto p = plain_params();
  p.temperature = 0.0f;
  p.typical_p = 0.2f;  // alone it would remove the most likely token (see TypicalP below)
  p.top_k = 1;
  Sampler s(p, 4);
  EXPECT_EQ(s.sample(logits_of(kProbs)), 1);

  p.typical_p = 1.0f;
  p.repeat_penalty = 2.0f;
  Sampler pen(p, 5);
  pen.accept(1);
  pen.accept(3);
  // 2.5 and 2.5 halve to 1.25, so 4 (2.4) wins.
  EXPECT_EQ(pen.sample(std::vector<float>{0.1f, 2.5f, -1.0f, 2.5f, 2.4f}), 4);
}

TEST(SamplerFilters, NothingOnKeepsAll) {
  Sampler s(plain_params(), 4);
  const auto surv = s.survivors(logits_of(kProbs));
  EXPECT_THAT(ids_of(surv), ElementsAre(0, 1, 2, 3));
  EXPECT_FLOAT_EQ(surv[1].logit, float(std::log(0.5)));
}

TEST(SamplerFilters, TopK) {
  auto p = plain_params();
  p.top_k = 2;
  EXPECT_THAT(ids_of(Sampler(p, 5).survivors(std::vector<float>{1, 3, 2, 3, 0})), ElementsAre(1, 3));
  // Three tied for first: the two lowest ids stay.
  EXPECT_THAT(ids_of(Sampler(p, 4).survivors(std::vector<float>{1, 3, 3, 3})), ElementsAre(1, 2));
  p.top_k = 10;  // more than the vocabulary: all stay
  EXPECT_THAT(sorted_ids_of(Sampler(p, 3).survivors(std::vector<float>{1, 2, 3})), ElementsAre(0, 1, 2));
}

TEST(SamplerFilters, TopP) {
  // Sorted masses 0.5, 0.3, 0.15, 0.05: cumulative 0.5, 0.8, 0.95, 1.0; keep up to the first that
  // reaches p.
  auto p = plain_params();
  const auto logits = logits_of(kProbs);
  p.top_p = 0.45f;
  EXPECT_THAT(ids_of(Sampler(p, 4).survivors(logits)), ElementsAre(1));
  p.top_p = 0.75f;
  EXPECT_THAT(ids_of(Sampler(p, 4).survivors(logits)), ElementsAre(1, 3));
  p.top_p = 0.85f;
  EXPECT_THAT(ids_of(Sampler(p, 4).survivors(logits)), ElementsAre(0, 1, 3));
  p.top_p = 0.99f;
  EXPECT_THAT(sorted_ids_of(Sampler(p, 4).survivors(logits)), ElementsAre(0, 1, 2, 3));
  p.top_p = 0.0f;  // at least one token always stays
  EXPECT_THAT(ids_of(Sampler(p, 4).survivors(logits)), ElementsAre(1));
}

TEST(SamplerFilters, TopPOnALargeFlatVocabulary) {
  // 1000 equal tokens: mass 0.5005 needs 501 of them (0.500 < 0.5005 <= 0.501); ties keep the
  // lowest ids. More than the first sorted prefix the filter tries.
  auto p = plain_params();
  p.top_p = 0.5005f;
  const auto surv = Sampler(p, 1000).survivors(std::vector<float>(1000, 0.25f));
  ASSERT_EQ(surv.size(), 501u);
  for (int i = 0; i < 501; ++i) EXPECT_EQ(surv[size_t(i)].id, i);
}

TEST(SamplerFilters, MinP) {
  // Keep p >= min_p * 0.5.
  auto p = plain_params();
  const auto logits = logits_of(kProbs);
  p.min_p = 0.5f;  // p >= 0.25
  EXPECT_THAT(sorted_ids_of(Sampler(p, 4).survivors(logits)), ElementsAre(1, 3));
  p.min_p = 0.2f;  // p >= 0.1
  EXPECT_THAT(sorted_ids_of(Sampler(p, 4).survivors(logits)), ElementsAre(0, 1, 3));
  p.min_p = 1.0f;  // only the most likely
  EXPECT_THAT(sorted_ids_of(Sampler(p, 4).survivors(logits)), ElementsAre(1));
}

TEST(SamplerFilters, TypicalP) {
  // Masses 0.5, 0.3, 0.15, 0.05: entropy H = -sum p ln p = 1.14212. Surprisal -ln p = 0.693,
  // 1.204, 1.897, 2.996; distance to H = 0.449, 0.062, 0.755, 1.854. So the order is
  // p=0.3 (id 3), p=0.5 (id 1), p=0.15 (id 0), p=0.05 (id 2); keep until the mass exceeds p.
  auto p = plain_params();
  const auto logits = logits_of(kProbs);
  p.typical_p = 0.2f;  // 0.3 > 0.2: only id 3, the most likely token is gone
  EXPECT_THAT(ids_of(Sampler(p, 4).survivors(logits)), ElementsAre(3));
  p.typical_p = 0.5f;  // 0.3, 0.8
  EXPECT_THAT(ids_of(Sampler(p, 4).survivors(logits)), ElementsAre(1, 3));
  p.typical_p = 0.9f;  // 0.3, 0.8, 0.95
  EXPECT_THAT(ids_of(Sampler(p, 4).survivors(logits)), ElementsAre(0, 1, 3));
}

TEST(SamplerFilters, BoundariesFollowLlamaCpp) {
  // Four equal tokens, 0.25 each; every sum here is exact in binary.
  const std::vector<float> flat(4, 0.0f);
  auto p = plain_params();
  p.top_p = 0.5f;  // top-p stops once the mass reaches p: 0.25, 0.5 -> two tokens
  EXPECT_THAT(ids_of(Sampler(p, 4).survivors(flat)), ElementsAre(0, 1));
  p = plain_params();
  p.typical_p = 0.5f;  // typical-p stops once the mass exceeds p: 0.25, 0.5, 0.75 -> three
  EXPECT_THAT(ids_of(Sampler(p, 4).survivors(flat)), ElementsAre(0, 1, 2));
  p = plain_params();
  p.min_p = 1.0f;  // p >= 1 * p_max keeps every token tied for first
  EXPECT_THAT(ids_of(Sampler(p, 4).survivors(flat)), ElementsAre(0, 1, 2, 3));
}

TEST(SamplerFilters, TopPWithMinP) {
  // kProbs sorted: 0.5 (id 1), 0.3 (id 3), 0.15 (id 0), 0.05 (id 2).
  auto p = plain_params();
  const auto logits = logits_of(kProbs);
  p.top_p = 0.85f;  // alone: ids 1, 3, 0
  p.min_p = 0.5f;   // alone: p >= 0.25, ids 1, 3
  EXPECT_THAT(ids_of(Sampler(p, 4).survivors(logits)), ElementsAre(1, 3));
  p.top_p = 0.45f;  // alone: id 1
  p.min_p = 0.2f;   // alone: p >= 0.1, ids 0, 1, 3
  EXPECT_THAT(ids_of(Sampler(p, 4).survivors(logits)), ElementsAre(1));
}

TEST(SamplerFilters, Temperature) {
  auto p = plain_params();
  p.temperature = 2.0f;
  auto surv = Sampler(p, 3).survivors(std::vector<float>{2, 4, -1});
  ASSERT_EQ(surv.size(), 3u);
  EXPECT_FLOAT_EQ(surv[0].logit, 1.0f);
  EXPECT_FLOAT_EQ(surv[1].logit, 2.0f);
  EXPECT_FLOAT_EQ(surv[2].logit, -0.5f);
  p.temperature = 0.5f;
  surv = Sampler(p, 3).survivors(std::vector<float>{2, 4, -1});
  EXPECT_FLOAT_EQ(surv[1].logit, 8.0f);
}

TEST(SamplerFilters, TopPMeasuresMassAmongTopKSurvivors) {
  // Masses 0.4, 0.3, 0.2, 0.1. Top-p 0.5 alone: 0.4, 0.7 -> ids 0, 1. After top-k 2 the masses
  // renormalise to 4/7, 3/7 and 4/7 >= 0.5 -> id 0 alone.
  auto p = plain_params();
  const auto logits = logits_of({0.4, 0.3, 0.2, 0.1});
  p.top_p = 0.5f;
  EXPECT_THAT(ids_of(Sampler(p, 4).survivors(logits)), ElementsAre(0, 1));
  p.top_k = 2;
  EXPECT_THAT(ids_of(Sampler(p, 4).survivors(logits)), ElementsAre(0));
}

TEST(SamplerFilters, TemperatureComesAfterTopP) {
  // At temperature 0.5 the masses would be 16/30, 9/30, ... and top-p 0.5 would keep one token;
  // filters see temperature-1 masses 0.4, 0.7, so two stay.
  auto p = plain_params();
  p.top_p = 0.5f;
  p.temperature = 0.5f;
  EXPECT_THAT(ids_of(Sampler(p, 4).survivors(logits_of({0.4, 0.3, 0.2, 0.1}))), ElementsAre(0, 1));
}

TEST(SamplerPenalties, RepetitionDividesPositiveAndMultipliesNegative) {
  auto p = plain_params();
  p.repeat_penalty = 2.0f;
  Sampler s(p, 5);
  for (int32_t t : {0, 1, 3}) s.accept(t);
  const auto surv = s.survivors(std::vector<float>{2, -2, 1, 0, 0.5f});
  ASSERT_EQ(surv.size(), 5u);
  EXPECT_FLOAT_EQ(surv[0].logit, 1.0f);   // 2 / 2
  EXPECT_FLOAT_EQ(surv[1].logit, -4.0f);  // -2 * 2
  EXPECT_FLOAT_EQ(surv[2].logit, 1.0f);   // not seen
  EXPECT_FLOAT_EQ(surv[3].logit, 0.0f);   // 0 * 2
  EXPECT_FLOAT_EQ(surv[4].logit, 0.5f);   // not seen
}

TEST(SamplerPenalties, FrequencyAndPresence) {
  auto p = plain_params();
  p.frequency_penalty = 0.5f;
  p.presence_penalty = 0.25f;
  Sampler s(p, 4);
  for (int32_t t : {0, 0, 2}) s.accept(t);
  const auto surv = s.survivors(std::vector<float>{2, -2, 1, 0});
  EXPECT_FLOAT_EQ(surv[0].logit, 0.75f);  // 2 - 2*0.5 - 0.25
  EXPECT_FLOAT_EQ(surv[1].logit, -2.0f);
  EXPECT_FLOAT_EQ(surv[2].logit, 0.25f);  // 1 - 1*0.5 - 0.25
  EXPECT_FLOAT_EQ(surv[3].logit, 0.0f);

  p.frequency_penalty = -1.0f;  // negative values encourage repeats
  p.presence_penalty = 0.0f;
  Sampler boost(p, 4);
  boost.accept(1);
  EXPECT_FLOAT_EQ(boost.survivors(std::vector<float>{2, -2, 1, 0})[1].logit, -1.0f);
}

TEST(SamplerPenalties, RepetitionThenFrequencyAndPresence) {
  auto p = plain_params();
  p.repeat_penalty = 2.0f;
  p.frequency_penalty = 0.5f;
  p.presence_penalty = 0.25f;
  Sampler s(p, 3);
  for (int32_t t : {0, 0, 1}) s.accept(t);
  const auto surv = s.survivors(std::vector<float>{2, -2, 1});
  EXPECT_FLOAT_EQ(surv[0].logit, -0.25f);  // 2/2 - 2*0.5 - 0.25
  EXPECT_FLOAT_EQ(surv[1].logit, -4.75f);  // -2*2 - 0.5 - 0.25
  EXPECT_FLOAT_EQ(surv[2].logit, 1.0f);
}

TEST(SamplerPenalties, WindowResetAndOff) {
  auto p = plain_params();
  p.repeat_penalty = 2.0f;
  p.penalty_last_n = 2;
  const std::vector<float> logits = {2, -2, 1};
  Sampler s(p, 3);
  for (int32_t t : {0, 1, 2}) s.accept(t);  // token 0 has left the 2-token window
  auto surv = s.survivors(logits);
  EXPECT_FLOAT_EQ(surv[0].logit, 2.0f);
  EXPECT_FLOAT_EQ(surv[1].logit, -4.0f);
  EXPECT_FLOAT_EQ(surv[2].logit, 0.5f);
  s.accept(2);  // window is now 2, 2
  surv = s.survivors(logits);
  EXPECT_FLOAT_EQ(surv[1].logit, -2.0f);
  EXPECT_FLOAT_EQ(surv[2].logit, 0.5f);
  s.reset();
  surv = s.survivors(logits);
  EXPECT_FLOAT_EQ(surv[2].logit, 1.0f);

  p.penalty_last_n = -1;  // all accepted tokens
  Sampler all(p, 3);
  for (int i = 0; i < 1000; ++i) all.accept(i == 0 ? 0 : 2);
  EXPECT_FLOAT_EQ(all.survivors(logits)[0].logit, 1.0f);

  p.penalty_last_n = 0;  // none
  Sampler none(p, 3);
  none.accept(0);
  EXPECT_FLOAT_EQ(none.survivors(logits)[0].logit, 2.0f);
}

TEST(SamplerPenalties, ComeBeforeTopK) {
  // Token 0 leads until penalised; then top-k 1 keeps token 1.
  auto p = plain_params();
  p.repeat_penalty = 4.0f;
  p.top_k = 1;
  Sampler s(p, 3);
  s.accept(0);
  EXPECT_THAT(ids_of(s.survivors(std::vector<float>{4, 3, 0})), ElementsAre(1));
}

TEST(SamplerLogitBias, AddsAndBans) {
  auto p = plain_params();
  p.temperature = 0.0f;
  const std::vector<float> logits = {0, 5, 1};
  p.logit_bias = {{1, -std::numeric_limits<float>::infinity()}};
  EXPECT_EQ(Sampler(p, 3).sample(logits), 2);
  p.logit_bias = {{0, 10.0f}};
  EXPECT_EQ(Sampler(p, 3).sample(logits), 0);

  // Sampling: a banned token never comes, even the most likely one.
  p = plain_params();
  p.logit_bias = {{1, -std::numeric_limits<float>::infinity()}};
  Sampler s(p, 3);
  EXPECT_THAT(sorted_ids_of(s.survivors(logits)), ElementsAre(0, 2));
  for (int i = 0; i < 2000; ++i) ASSERT_NE(s.sample(logits), 1);
}

TEST(SamplerLogitBias, BiasComesBeforePenalties) {
  // (1 + 1) / 2 = 1; the other order would give 1/2 + 1 = 1.5.
  auto p = plain_params();
  p.repeat_penalty = 2.0f;
  p.logit_bias = {{0, 1.0f}};
  Sampler s(p, 2);
  s.accept(0);
  EXPECT_FLOAT_EQ(s.survivors(std::vector<float>{1, 0})[0].logit, 1.0f);
}

TEST(SamplerErrors, BadLogitsAndTokens) {
  auto p = plain_params();
  p.logit_bias = {{0, -INFINITY}, {1, -INFINITY}};
  Sampler banned(p, 2);
  EXPECT_THROW(banned.sample(std::vector<float>{1, 2}), std::runtime_error);

  Sampler s(plain_params(), 3);
  EXPECT_THROW(s.sample(std::vector<float>{1, 2}), std::invalid_argument);
  EXPECT_THROW(s.sample(std::vector<float>{1, NAN, 2}), std::runtime_error);
  EXPECT_THROW(s.sample(std::vector<float>{1, INFINITY, 2}), std::runtime_error);
  EXPECT_THROW(s.accept(3), std::invalid_argument);
  EXPECT_THROW(s.accept(-1), std::invalid_argument);
  EXPECT_EQ(s.sample(std::vector<float>{-INFINITY, -INFINITY, 0}), 2);  // -inf logits are just banned
}

}  // namespace
}  // namespace forge::runtime
