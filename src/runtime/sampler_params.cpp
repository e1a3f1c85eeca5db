#include "runtime/sampler_params.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace forge::runtime {
namespace {

[[noreturn]] void fail(const std::string& field, double value, const char* expected) {
  throw std::invalid_argument("sampling parameter '" + field + "' is " + std::to_string(value) + ", expected " +
                              expected);
}

void check_range(const char* field, float value, float lo, float hi, const char* expected) {
  // Written so that NaN fails both comparisons and is rejected.
  if (!(value >= lo && value <= hi)) fail(field, value, expected);
}

}  // namespace

void SamplingParams::validate() const {
  if (!std::isfinite(temperature)) fail("temperature", temperature, "a finite number (<= 0 means greedy)");
  if (top_k < 0) fail("top_k", top_k, "0 (off) or a positive count");
  check_range("top_p", top_p, 0.0f, 1.0f, "a number in [0, 1]");
  check_range("min_p", min_p, 0.0f, 1.0f, "a number in [0, 1]");
  check_range("typical_p", typical_p, 0.0f, 1.0f, "a number in [0, 1]");
  if (!(repeat_penalty > 0.0f) || !std::isfinite(repeat_penalty))
    fail("repeat_penalty", repeat_penalty, "a finite number > 0 (1 is off)");
  check_range("frequency_penalty", frequency_penalty, -2.0f, 2.0f, "a number in [-2, 2]");
  check_range("presence_penalty", presence_penalty, -2.0f, 2.0f, "a number in [-2, 2]");
  if (penalty_last_n < -1) fail("penalty_last_n", penalty_last_n, "-1 (all), 0 (none) or a positive count");
  for (const auto& [token, bias] : logit_bias) {
    if (token < 0)
      throw std::invalid_argument("sampling parameter 'logit_bias' names token " + std::to_string(token) +
                                  ", expected a token id >= 0");
    if (std::isnan(bias) || bias == INFINITY)
      throw std::invalid_argument("sampling parameter 'logit_bias' for token " + std::to_string(token) + " is " +
                                  std::to_string(bias) + ", expected a finite number or -infinity");
  }
}

}  // namespace forge::runtime
