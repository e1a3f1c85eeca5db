// Sampling parameters: what the CLI flags and the OpenAI request fields set.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

namespace forge::runtime {

// Defaults are llama.cpp's command-line defaults, so `forge run` behaves like `llama-cli`.
// A filter at its "off" value (noted beside it) does nothing.
struct SamplingParams {
  float temperature = 0.8f;  // <= 0: greedy (argmax after bias and penalties)
  int32_t top_k = 40;        // 0: off
  float top_p = 0.95f;       // 1: off; in [0, 1]
  float min_p = 0.05f;       // 0: off; in [0, 1]
  float typical_p = 1.0f;    // 1: off; in [0, 1]

  float repeat_penalty = 1.0f;     // 1: off; > 0 (llama.cpp's multiplicative penalty)
  float frequency_penalty = 0.0f;  // 0: off; in [-2, 2] (OpenAI's range)
  float presence_penalty = 0.0f;   // 0: off; in [-2, 2] (OpenAI's range)
  int32_t penalty_last_n = 64;     // window of accepted tokens the penalties see; 0: none, -1: all

  // Added to the logit of a token before anything else; -infinity bans the token.
  std::map<int32_t, float> logit_bias;

  // Same seed, same logits => same tokens. Absent: a fresh seed from std::random_device.
  std::optional<uint64_t> seed;

  // Throws std::invalid_argument naming the first bad field (NaN, out of range, negative token id,
  // +infinity or NaN bias). Token ids are checked against the vocabulary by Sampler's constructor.
  void validate() const;
};

}  // namespace forge::runtime
