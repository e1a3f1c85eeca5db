#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace forge::runtime {
namespace {

// Higher logit first, then lower id: a total order, so every sort below has one result.
bool by_logit(const TokenCandidate& a, const TokenCandidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

float max_logit(const std::vector<TokenCandidate>& cands) {
  float m = -INFINITY;
  for (const auto& c : cands) m = std::max(m, c.logit);
  return m;
}

// Typical sampling (Meister et al. 2022, "Locally Typical Sampling"), as llama.cpp does it: keep
// the tokens whose surprisal -log p is closest to the entropy H, in that order, until their mass
// exceeds p (strictly, as llama.cpp).
void apply_typical(std::vector<TokenCandidate>& cands, float p) {
  const float mx = max_logit(cands);
  double sum = 0;
  for (const auto& c : cands) sum += std::exp(double(c.logit) - mx);
  const double log_sum = std::log(sum);
  double entropy = 0;
  for (const auto& c : cands) {
    const double shifted = double(c.logit) - mx;  // log p = shifted - log_sum
    entropy += std::exp(shifted) / sum * (log_sum - shifted);
  }
  struct Scored {
    double distance;
    double prob;
    TokenCandidate cand;
  };
  std::vector<Scored> scored;
  scored.reserve(cands.size());
  for (const auto& c : cands) {
    const double shifted = double(c.logit) - mx;
    scored.push_back({std::abs(log_sum - shifted - entropy), std::exp(shifted) / sum, c});
  }
  std::sort(scored.begin(), scored.end(), [](const Scored& a, const Scored& b) {
    return a.distance < b.distance || (a.distance == b.distance && a.cand.id < b.cand.id);
  });
  size_t keep = scored.size();
  double cum = 0;
  for (size_t i = 0; i < scored.size(); ++i) {
    cum += scored[i].prob;
    if (cum > p) {
      keep = i + 1;
      break;
    }
  }
  cands.clear();
  for (size_t i = 0; i < keep; ++i) cands.push_back(scored[i].cand);
}

// Nucleus sampling (Holtzman et al. 2019): the smallest set of most likely tokens whose mass
// reaches p (>= as llama.cpp). Without a prior sort it sorts a growing prefix, since the nucleus
// is usually a few dozen tokens out of a vocabulary of 10^5.
void apply_top_p(std::vector<TokenCandidate>& cands, float p, bool sorted) {
  const float mx = sorted ? cands.front().logit : max_logit(cands);
  double total = 0;
  for (const auto& c : cands) total += std::exp(double(c.logit) - mx);
  const double target = double(p) * total;
  size_t k = sorted ? cands.size() : std::min<size_t>(cands.size(), 64);
  for (;;) {
    if (!sorted) std::partial_sort(cands.begin(), cands.begin() + k, cands.end(), by_logit);
    double cum = 0;
    for (size_t i = 0; i < k; ++i) {
      cum += std::exp(double(cands[i].logit) - mx);
      if (cum >= target) {
        cands.resize(i + 1);
        return;
      }
    }
    if (k == cands.size()) return;  // rounding left the sum a hair short of p * total: keep all
    k = std::min(cands.size(), k * 8);
  }
}

// Min-p: keep tokens with p >= min_p * p_max, i.e. logit >= max_logit + log(min_p).
void apply_min_p(std::vector<TokenCandidate>& cands, float min_p) {
  const float threshold = max_logit(cands) + std::log(min_p);
  std::erase_if(cands, [&](const TokenCandidate& c) { return c.logit < threshold; });
}

}  // namespace

Sampler::Sampler(SamplingParams params, int32_t vocab_size) : params_(std::move(params)), vocab_size_(vocab_size) {
  params_.validate();
  if (vocab_size <= 0) throw std::invalid_argument("sampler: vocabulary size must be > 0");
  for (const auto& [token, bias] : params_.logit_bias) {
    if (token >= vocab_size)
      throw std::invalid_argument("sampling parameter 'logit_bias' names token " + std::to_string(token) +
                                  ", outside the vocabulary of " + std::to_string(vocab_size) + " tokens");
  }
  if (params_.seed) {
    seed_ = *params_.seed;
  } else {
    std::random_device device;
    seed_ = (uint64_t(device()) << 32) ^ device();
  }
  rng_.seed(seed_);
}

void Sampler::accept(int32_t token) {
  if (token < 0 || token >= vocab_size_)
    throw std::invalid_argument("sampler: token " + std::to_string(token) + " is outside the vocabulary of " +
                                std::to_string(vocab_size_) + " tokens");
  if (params_.penalty_last_n == 0) return;
  window_.push_back(token);
  ++counts_[token];
  if (params_.penalty_last_n > 0 && window_.size() > size_t(params_.penalty_last_n)) {
    const int32_t old = window_.front();
    window_.pop_front();
    if (--counts_[old] == 0) counts_.erase(old);
  }
}

void Sampler::reset() {
  window_.clear();
  counts_.clear();
  rng_.seed(seed_);
}

// llama.cpp's repetition penalty (CTRL, Keskar et al. 2019, made sign-aware): a positive logit is
// divided by the penalty, a negative (or zero) one multiplied, so a penalty > 1 always lowers it.
// Then OpenAI's: logit -= count * frequency_penalty + (count > 0) * presence_penalty.
void Sampler::apply_penalties(std::vector<TokenCandidate>& cands) const {
  const float rep = params_.repeat_penalty, freq = params_.frequency_penalty, pres = params_.presence_penalty;
  if (rep == 1.0f && freq == 0.0f && pres == 0.0f) return;
  for (const auto& [token, count] : counts_) {
    float& logit = cands[size_t(token)].logit;  // cands is still indexed by id here
    logit = logit <= 0.0f ? logit * rep : logit / rep;
    logit -= float(count) * freq + pres;
  }
}

void Sampler::filter_into(std::span<const float> logits, std::vector<TokenCandidate>& out) const {
  if (logits.size() != size_t(vocab_size_))
    throw std::invalid_argument("sampler: got " + std::to_string(logits.size()) + " logits for a vocabulary of " +
                                std::to_string(vocab_size_) + " tokens");
  out.clear();
  out.reserve(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    const float l = logits[i];
    if (std::isnan(l) || l == INFINITY)
      throw std::runtime_error("sampler: the logit of token " + std::to_string(i) + " is " + std::to_string(l));
    out.push_back({int32_t(i), l});
  }
  for (const auto& [token, bias] : params_.logit_bias) out[size_t(token)].logit += bias;
  apply_penalties(out);

  std::erase_if(out, [](const TokenCandidate& c) { return c.logit == -INFINITY; });
  if (out.empty()) throw std::runtime_error("sampler: every token is banned (logit -infinity)");

  if (params_.temperature <= 0.0f) {
    // out is in id order, so the first maximum is the lowest id among ties.
    const auto best = std::max_element(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return a.logit < b.logit;
    });
    out = {*best};
    return;
  }

  bool sorted = false;
  if (params_.top_k > 0 && size_t(params_.top_k) < out.size()) {
    std::partial_sort(out.begin(), out.begin() + params_.top_k, out.end(), by_logit);
    out.resize(size_t(params_.top_k));
    sorted = true;
  }
  if (params_.typical_p < 1.0f) {
    apply_typical(out, params_.typical_p);
    sorted = false;
  }
  if (params_.top_p < 1.0f) {
    apply_top_p(out, params_.top_p, sorted);
  }
  if (params_.min_p > 0.0f) apply_min_p(out, params_.min_p);
  if (params_.temperature != 1.0f) {
    for (auto& c : out) c.logit /= params_.temperature;
  }
}

std::vector<TokenCandidate> Sampler::survivors(std::span<const float> logits) const {
  std::vector<TokenCandidate> out;
  filter_into(logits, out);
  return out;
}

double Sampler::next_uniform() { return double(rng_() >> 11) * 0x1.0p-53; }

int32_t Sampler::sample(std::span<const float> logits) {
  filter_into(logits, scratch_);
  if (params_.temperature <= 0.0f) return scratch_.front().id;

  // One uniform per draw, whatever survived, so the random sequence does not depend on the filters.
  const double u = next_uniform();
  const float mx = max_logit(scratch_);
  weights_.resize(scratch_.size());
  double total = 0;
  for (size_t i = 0; i < scratch_.size(); ++i) total += weights_[i] = std::exp(double(scratch_[i].logit) - mx);
  const double target = u * total;
  double cum = 0;
  for (size_t i = 0; i < scratch_.size(); ++i) {
    cum += weights_[i];
    if (target < cum) return scratch_[i].id;
  }
  // Rounding put the target at the very end: the last token that can be drawn at all.
  for (size_t i = scratch_.size(); i-- > 0;)
    if (weights_[i] > 0) return scratch_[i].id;
  return scratch_.front().id;
}

}  // namespace forge::runtime
