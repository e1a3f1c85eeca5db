// SamplingParams::validate and the Sampler constructor reject what makes no sense, naming the field.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "runtime/sampler.h"
#include "sampler_test_util.h"

namespace forge::runtime {
namespace {

struct BadCase {
  const char* field;
  std::function<void(SamplingParams&)> spoil;
};

TEST(SamplingParams, DefaultsAndPlainAreValid) {
  EXPECT_NO_THROW(SamplingParams{}.validate());
  EXPECT_NO_THROW(test::plain_params().validate());
  auto p = test::plain_params();
  p.top_p = 0.0f;
  p.min_p = 1.0f;
  p.typical_p = 0.0f;
  p.temperature = -3.0f;  // greedy
  p.frequency_penalty = -2.0f;
  p.presence_penalty = 2.0f;
  p.penalty_last_n = -1;
  p.logit_bias = {{0, -INFINITY}, {5, 100.0f}};
  EXPECT_NO_THROW(p.validate());
}

TEST(SamplingParams, RejectsBadValuesNamingTheField) {
  const BadCase cases[] = {
      {"temperature", [](auto& p) { p.temperature = NAN; }},
      {"temperature", [](auto& p) { p.temperature = INFINITY; }},
      {"top_k", [](auto& p) { p.top_k = -1; }},
      {"top_p", [](auto& p) { p.top_p = 1.5f; }},
      {"top_p", [](auto& p) { p.top_p = -0.1f; }},
      {"top_p", [](auto& p) { p.top_p = NAN; }},
      {"min_p", [](auto& p) { p.min_p = 2.0f; }},
      {"min_p", [](auto& p) { p.min_p = NAN; }},
      {"typical_p", [](auto& p) { p.typical_p = NAN; }},
      {"typical_p", [](auto& p) { p.typical_p = -1.0f; }},
      {"repeat_penalty", [](auto& p) { p.repeat_penalty = 0.0f; }},
      {"repeat_penalty", [](auto& p) { p.repeat_penalty = -1.0f; }},
      {"repeat_penalty", [](auto& p) { p.repeat_penalty = NAN; }},
      {"repeat_penalty", [](auto& p) { p.repeat_penalty = INFINITY; }},
      {"frequency_penalty", [](auto& p) { p.frequency_penalty = 3.0f; }},
      {"frequency_penalty", [](auto& p) { p.frequency_penalty = NAN; }},
      {"presence_penalty", [](auto& p) { p.presence_penalty = -2.5f; }},
      {"presence_penalty", [](auto& p) { p.presence_penalty = 1e30f; }},
      {"penalty_last_n", [](auto& p) { p.penalty_last_n = -2; }},
      {"logit_bias",
       [](auto& p) {
         p.logit_bias = {{1, NAN}};
       }},
      {"logit_bias",
       [](auto& p) {
         p.logit_bias = {{1, INFINITY}};
       }},
      {"logit_bias",
       [](auto& p) {
         p.logit_bias = {{-1, 1.0f}};
       }},
  };
  for (const auto& c : cases) {
    auto p = test::plain_params();
    c.spoil(p);
    try {
      p.validate();
      ADD_FAILURE() << "accepted a bad " << c.field;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(c.field), std::string::npos) << e.what();
    }
    EXPECT_THROW(Sampler(p, 10), std::invalid_argument) << c.field;
  }
}

TEST(SamplingParams, SamplerChecksBiasIdsAgainstTheVocabulary) {
  auto p = test::plain_params();
  p.logit_bias = {{10, 1.0f}};
  EXPECT_THROW(Sampler(p, 10), std::invalid_argument);
  EXPECT_NO_THROW(Sampler(p, 11));
  EXPECT_THROW(Sampler(test::plain_params(), 0), std::invalid_argument);
}

}  // namespace
}  // namespace forge::runtime
