// Shared helpers for the sampler tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "runtime/sampler.h"

namespace forge::runtime::test {

// Every filter and penalty at its "off" value, temperature 1, a fixed seed.
inline SamplingParams plain_params() {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.typical_p = 1.0f;
  p.repeat_penalty = 1.0f;
  p.frequency_penalty = 0.0f;
  p.presence_penalty = 0.0f;
  p.seed = 1234;
  return p;
}

// plain_params() with the truncation filters and the temperature given (seed 1234).
inline SamplingParams seeded(float temperature, int top_k, float top_p, float min_p, float typical_p = 1.0f) {
  SamplingParams p = plain_params();
  p.temperature = temperature;
  p.top_k = top_k;
  p.top_p = top_p;
  p.min_p = min_p;
  p.typical_p = typical_p;
  return p;
}

// Logits whose softmax is exactly the given probabilities (up to float rounding).
inline std::vector<float> logits_of(const std::vector<double>& probs) {
  std::vector<float> out;
  for (double p : probs) out.push_back(float(std::log(p)));
  return out;
}

inline std::vector<int32_t> ids_of(const std::vector<TokenCandidate>& cands) {
  std::vector<int32_t> out;
  for (const auto& c : cands) out.push_back(c.id);
  return out;
}

inline std::vector<int32_t> sorted_ids_of(const std::vector<TokenCandidate>& cands) {
  auto out = ids_of(cands);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace forge::runtime::test
