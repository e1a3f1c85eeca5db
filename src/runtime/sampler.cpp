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

// A NaN or +infinity logit: no distribution to draw from.
[[noreturn]] void refuse_logit(int32_t id, float l) {
  throw std::runtime_error("sampler: the logit of token " + std::to_string(id) + " is " + std::to_string(l));
}

float min_p_threshold(float max_logit, float min_p) {
  return max_logit + std::log(min_p);
}

// Puts first, in `less` order, the shortest run of items whose mass reaches `target` (exceeds it
// when `strict`), and returns its length (at least 1, at most all). Truncation sets are usually a
// few dozen of 10^5 tokens, so rather than sorting everything it grows a prefix with nth_element
// (linear) until the prefix holds enough mass, then sorts only that prefix.
template <class T, class Less, class Mass>
size_t shortest_prefix_with_mass(std::vector<T>& items, Less less, Mass mass, double target, bool strict) {
  const auto reached = [&](double m) { return strict ? m > target : m >= target; };
  const size_t n = items.size();
  size_t k = std::min<size_t>(n, 64), done = 0;
  double prefix_mass = 0;
  for (;;) {
    // items[0, done) already are the `done` smallest, so only the rest needs partitioning.
    // For a short prefix a heap selection (partial_sort) rejects most items with one comparison,
    // which beats nth_element's passes over the whole range.
    if (k < n && k <= 256) std::partial_sort(items.begin() + done, items.begin() + k, items.end(), less);
    if (k < n && k > 256) std::nth_element(items.begin() + done, items.begin() + k, items.end(), less);
    for (size_t i = done; i < k; ++i) prefix_mass += mass(items[i]);
    done = k;
    if (k == n || reached(prefix_mass)) break;
    k = std::min(n, k * 4);
  }
  std::sort(items.begin(), items.begin() + k, less);
  double cum = 0;
  for (size_t i = 0; i < k; ++i) {
    cum += mass(items[i]);
    if (reached(cum)) return i + 1;
  }
  return k;  // summed in another order the mass fell an ulp short: keep the whole prefix
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
  const size_t keep = shortest_prefix_with_mass(
      scored,
      [](const Scored& a, const Scored& b) {
        return a.distance < b.distance || (a.distance == b.distance && a.cand.id < b.cand.id);
      },
      [](const Scored& s) { return s.prob; }, double(p), /*strict=*/true);
  cands.clear();
  for (size_t i = 0; i < keep; ++i) cands.push_back(scored[i].cand);
}

// Nucleus sampling (Holtzman et al. 2019): the smallest set of most likely tokens whose mass
// reaches p (>= as llama.cpp), followed by min-p when min_p > 0. Min-p keeps a prefix of the same
// sorted order (a threshold on the logit), so the two together keep the shorter prefix: when the
// min-p set holds less than p of the mass, it is the answer and nothing needs sorting.
void apply_top_p_then_min_p(std::vector<TokenCandidate>& cands, float p, float min_p) {
  const float mx = max_logit(cands);
  const auto mass = [mx](const TokenCandidate& c) { return std::exp(double(c.logit) - mx); };
  double total = 0;
  for (const auto& c : cands) total += mass(c);
  const double target = double(p) * total;
  if (min_p > 0.0f) {
    const float threshold = min_p_threshold(mx, min_p);
    const auto head_end =
        std::partition(cands.begin(), cands.end(), [&](const TokenCandidate& c) { return c.logit >= threshold; });
    cands.erase(head_end, cands.end());
    double head_mass = 0;
    for (const auto& c : cands) head_mass += mass(c);
    if (head_mass < target) return;
  }
  cands.resize(shortest_prefix_with_mass(cands, by_logit, mass, target, /*strict=*/false));
}

// Min-p: keep tokens with p >= min_p * p_max, i.e. logit >= max_logit + log(min_p).
void apply_min_p(std::vector<TokenCandidate>& cands, float min_p) {
  const float threshold = min_p_threshold(max_logit(cands), min_p);
  std::erase_if(cands, [&](const TokenCandidate& c) { return c.logit < threshold; });
}

// llama.cpp's repetition penalty (CTRL, Keskar et al. 2019, made sign-aware): a positive logit is
// divided by the penalty, a negative (or zero) one multiplied, so a penalty > 1 always lowers it.
// Then OpenAI's: logit -= count * frequency_penalty + (count > 0) * presence_penalty.
float penalized(float logit, int32_t count, const SamplingParams& p) {
  logit = logit <= 0.0f ? logit * p.repeat_penalty : logit / p.repeat_penalty;
  return logit - (float(count) * p.frequency_penalty + p.presence_penalty);
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

bool Sampler::penalties_active() const {
  return params_.penalty_last_n != 0 &&
         (params_.repeat_penalty != 1.0f || params_.frequency_penalty != 0.0f || params_.presence_penalty != 0.0f);
}

void Sampler::apply_penalties(std::vector<TokenCandidate>& cands) const {
  if (!penalties_active()) return;
  for (const auto& [token, count] : counts_) {
    float& logit = cands[size_t(token)].logit;  // cands is still indexed by id here
    logit = penalized(logit, count, params_);
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
    if (model::unusable_logit(l)) refuse_logit(int32_t(i), l);
    out.push_back({int32_t(i), l});
  }
  for (const auto& [token, bias] : params_.logit_bias) out[size_t(token)].logit += bias;
  apply_penalties(out);
  truncate(out, /*ranked=*/false);
}

void Sampler::truncate(std::vector<TokenCandidate>& out, bool ranked) const {
  std::erase_if(out, [](const TokenCandidate& c) { return c.logit == -INFINITY; });
  if (out.empty()) throw std::runtime_error("sampler: every token is banned (logit -infinity)");

  if (params_.temperature <= 0.0f) {
    // In id order the first maximum is the lowest id among ties; ranked, it is the first.
    const auto best = ranked ? out.begin() : std::max_element(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return a.logit < b.logit;
    });
    out = {*best};
    return;
  }

  if (params_.top_k > 0 && size_t(params_.top_k) < out.size()) {
    // heap select: k is small
    if (!ranked) std::partial_sort(out.begin(), out.begin() + params_.top_k, out.end(), by_logit);
    out.resize(size_t(params_.top_k));
  } else if (ranked) {
    // Every finite token is here: the filters below see them in id order, as sample() would.
    std::sort(out.begin(), out.end(), [](const TokenCandidate& a, const TokenCandidate& b) { return a.id < b.id; });
  }
  if (params_.typical_p < 1.0f) apply_typical(out, params_.typical_p);
  if (params_.top_p < 1.0f) {
    apply_top_p_then_min_p(out, params_.top_p, params_.min_p);
  } else if (params_.min_p > 0.0f) {
    apply_min_p(out, params_.min_p);
  }
  finish_survivors(out);
}

void Sampler::finish_survivors(std::vector<TokenCandidate>& out) const {
  // The draw walks the survivors in id order, whichever way the filters left them.
  const auto by_id = [](const TokenCandidate& a, const TokenCandidate& b) { return a.id < b.id; };
  if (!std::is_sorted(out.begin(), out.end(), by_id)) std::sort(out.begin(), out.end(), by_id);
  if (params_.temperature != 1.0f) {
    for (auto& c : out) c.logit /= params_.temperature;
  }
}

std::vector<TokenCandidate> Sampler::survivors(std::span<const float> logits) const {
  std::vector<TokenCandidate> out;
  filter_into(logits, out);
  return out;
}

double Sampler::next_uniform() {
  return double(rng_() >> 11) * 0x1.0p-53;
}

bool Sampler::only_lowering() const {
  for (const auto& [token, bias] : params_.logit_bias) {
    if (bias > 0.0f) return false;
  }
  return !penalties_active() || (params_.repeat_penalty >= 1.0f && params_.frequency_penalty >= 0.0f &&
                                 params_.presence_penalty >= 0.0f);
}

int32_t Sampler::tokens_adjusted() const {
  return int32_t(params_.logit_bias.size() + (penalties_active() ? counts_.size() : 0));
}

Sampler::TopNeed Sampler::top_needed() const {
  if (!only_lowering()) return {};
  // A token the bias or a penalty lowers can leave the highest k + 1, letting in one from
  // below them: one more candidate for each token touched keeps the k + 1 highest after them.
  const int32_t adjusted = tokens_adjusted();
  if (params_.temperature <= 0.0f) return {std::min(1 + adjusted, vocab_size_), false};
  if (params_.top_k > 0 && params_.top_k < vocab_size_) {
    return {int32_t(std::min<int64_t>(int64_t(params_.top_k) + 1 + adjusted, vocab_size_)), false};
  }
  if (adjusted > 0 || params_.typical_p < 1.0f) return {};
  if (params_.top_p < 1.0f || params_.min_p > 0.0f) return {std::min(kNucleus, vocab_size_), params_.top_p < 1.0f};
  return {};
}

void Sampler::adjust_candidates(std::vector<TokenCandidate>& cands) const {
  if (params_.logit_bias.empty() && !penalties_active()) return;
  for (auto& c : cands) {
    if (const auto b = params_.logit_bias.find(c.id); b != params_.logit_bias.end()) c.logit += b->second;
    if (!penalties_active()) continue;
    if (const auto n = counts_.find(c.id); n != counts_.end()) c.logit = penalized(c.logit, n->second, params_);
  }
  std::sort(cands.begin(), cands.end(), model::top_first);
}

bool Sampler::nucleus_from_top(double mass) {
  // The filters' order (apply_top_p_then_min_p, apply_min_p): the highest first, each token's
  // mass exp(logit - max) summed in that order, as shortest_prefix_with_mass sums them. Only
  // the row's total comes from elsewhere: a boundary within 1e-9 of it (far above the
  // difference of two summation orders in double) is left to sample().
  const float mx = scratch_.front().logit;
  const float threshold = params_.min_p > 0.0f ? min_p_threshold(mx, params_.min_p) : -INFINITY;
  const double target = params_.top_p < 1.0f ? double(params_.top_p) * mass : INFINITY;
  const double lo = target * (1 - 1e-9), hi = target * (1 + 1e-9);
  double cum = 0;
  for (size_t i = 0; i < scratch_.size(); ++i) {
    if (scratch_[i].logit < threshold) {  // min-p keeps the i before (top-p would keep as many or more)
      scratch_.resize(i);
      return true;
    }
    cum += std::exp(double(scratch_[i].logit) - mx);
    if (cum >= hi) {
      scratch_.resize(i + 1);
      return true;
    }
    if (cum >= lo) return false;
  }
  return false;  // the kept tokens may reach past the candidates
}

std::optional<int32_t> Sampler::sample_top(std::span<const TokenCandidate> top, double mass) {
  const TopNeed need = top_needed();
  if (need.k == 0) throw std::logic_error("sampler: these settings need every logit (sample_top)");
  if (top.size() < size_t(need.k)) {
    throw std::invalid_argument("sampler: got " + std::to_string(top.size()) + " candidates, " +
                                std::to_string(need.k) + " needed");
  }
  scratch_.assign(top.begin(), top.end());
  std::sort(scratch_.begin(), scratch_.end(), model::top_first);
  scratch_.resize(size_t(need.k));
  for (const auto& c : scratch_) {
    if (c.id < 0 || c.id >= vocab_size_) {
      throw std::invalid_argument("sampler: candidate token " + std::to_string(c.id) + " is outside the vocabulary");
    }
  }
  // top_first puts NaN and +infinity first, the lowest id of them first: sample()'s error.
  const float l = scratch_.front().logit;
  if (model::unusable_logit(l)) refuse_logit(scratch_.front().id, l);
  if (need.mass && !std::isfinite(mass)) throw std::invalid_argument("sampler: top-p needs the logits' mass");
  const bool greedy = params_.temperature <= 0.0f;
  if (greedy || (params_.top_k > 0 && params_.top_k < vocab_size_)) {
    // The highest after the bias and penalties, and one more for top-k (see top_needed()).
    adjust_candidates(scratch_);
    scratch_.resize(std::min(scratch_.size(), size_t(greedy ? 1 : params_.top_k + 1)));
    truncate(scratch_, /*ranked=*/true);
    return draw();
  }
  // top-p or min-p alone. Where a -infinity is among the candidates (or they are the whole
  // row), every finite token is: truncate() sees them all, as sample() would.
  const size_t n = scratch_.size();
  std::erase_if(scratch_, [](const TokenCandidate& c) { return c.logit == -INFINITY; });
  if (scratch_.size() < n || n == size_t(vocab_size_)) {
    truncate(scratch_, /*ranked=*/true);
    return draw();
  }
  if (!nucleus_from_top(mass)) return std::nullopt;
  finish_survivors(scratch_);
  return draw();
}

int32_t Sampler::sample(std::span<const float> logits) {
  filter_into(logits, scratch_);
  return draw();
}

int32_t Sampler::draw() {
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
