#include "runtime/sampler_logprobs.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "model/forward.h"

namespace forge::runtime {

TokenLogprobs token_logprobs(std::span<const float> logits, const std::map<int32_t, float>& logit_bias, int32_t chosen,
                             int32_t top_n) {
  const size_t n = logits.size();
  if (chosen < 0 || size_t(chosen) >= n)
    throw std::invalid_argument("logprobs: token " + std::to_string(chosen) + " is outside the vocabulary of " +
                                std::to_string(n) + " tokens");
  if (top_n < 0) throw std::invalid_argument("logprobs: top_logprobs must be >= 0, got " + std::to_string(top_n));

  std::vector<TokenLogprob> all(n);
  for (size_t i = 0; i < n; ++i) {
    if (model::unusable_logit(logits[i]))
      throw std::runtime_error("logprobs: the logit of token " + std::to_string(i) + " is " +
                               std::to_string(logits[i]));
    all[i] = {int32_t(i), logits[i]};
  }
  for (const auto& [token, bias] : logit_bias) {
    if (token < 0 || size_t(token) >= n)
      throw std::invalid_argument("logprobs: logit_bias names token " + std::to_string(token) +
                                  ", outside the vocabulary of " + std::to_string(n) + " tokens");
    all[size_t(token)].logprob += bias;
  }

  // log p_i = x_i - (max + log sum exp(x - max)), the sum in double for large vocabularies.
  float mx = -INFINITY;
  for (const auto& t : all) mx = std::max(mx, t.logprob);
  if (mx == -INFINITY) throw std::runtime_error("logprobs: every token is banned (logit -infinity)");
  double sum = 0;
  for (const auto& t : all) sum += std::exp(double(t.logprob) - mx);
  const double log_z = double(mx) + std::log(sum);
  for (auto& t : all) t.logprob = float(double(t.logprob) - log_z);

  TokenLogprobs result{all[size_t(chosen)], {}};
  const size_t k = std::min(n, size_t(top_n));
  std::partial_sort(all.begin(), all.begin() + k, all.end(), [](const TokenLogprob& a, const TokenLogprob& b) {
    return a.logprob > b.logprob || (a.logprob == b.logprob && a.id < b.id);
  });
  result.top.assign(all.begin(), all.begin() + k);
  return result;
}

}  // namespace forge::runtime
