// Log-probabilities for OpenAI's `logprobs` / `top_logprobs`.
//
// Choice: they are the log-softmax of the model's logits plus logit_bias, and nothing else: not
// penalised, not truncated by top-k/top-p/min-p/typical-p, not divided by the temperature. This is
// what OpenAI reports (a biased token's logprob moves with its bias; temperature does not change
// the numbers), and it keeps them a property of the model, comparable across sampling settings.
// A banned token (bias -infinity) has logprob -infinity; a JSON writer must map that to a number.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <vector>

namespace forge::runtime {

struct TokenLogprob {
  int32_t id;
  float logprob;
};

struct TokenLogprobs {
  TokenLogprob chosen;
  std::vector<TokenLogprob> top;  // the top_n most likely, most likely first; ties: lower id first
};

// Throws std::invalid_argument for a chosen id outside the vocabulary, a negative top_n or a bias
// id outside the vocabulary; std::runtime_error for a NaN or +infinity logit or when every token is
// banned. top_n larger than the vocabulary returns the whole vocabulary.
TokenLogprobs token_logprobs(std::span<const float> logits, const std::map<int32_t, float>& logit_bias, int32_t chosen,
                             int32_t top_n);

}  // namespace forge::runtime
