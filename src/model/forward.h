// The one interface between the runtime (generation, chat, server, bench) and
// whatever computes a model: the interpreter or a compiled program. One
// instance holds the KV caches of `max_sequences()` independent sequences
// (the server's slots); everything else takes sequence 0 by default.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace forge::model {

struct ModelInfo {
  std::string arch;
  std::string name;
  int n_vocab = 0;
  int n_ctx = 0;  // positions each sequence's KV cache holds
  int n_layers = 0;
  uint64_t weight_bytes_per_token = 0;
};

enum class Logits { kNone, kLast, kAll };

// A token and its logit (Forward::decode_top; the sampler's candidates).
struct TokenLogit {
  int32_t id;
  float logit;
};

// A logit no distribution can be drawn from: NaN or +infinity (the sampler
// and the log-probabilities refuse it; -infinity is a banned token).
inline bool unusable_logit(float l) { return std::isnan(l) || l == INFINITY; }

// decode_top's order: an unusable logit first (the sampler refuses them,
// naming the lowest such id), then the higher logit, then the lower id.
inline bool top_first(const TokenLogit& a, const TokenLogit& b) {
  const bool bad_a = unusable_logit(a.logit), bad_b = unusable_logit(b.logit);
  if (bad_a != bad_b) return bad_a;
  if (!bad_a && a.logit != b.logit) return a.logit > b.logit;
  return a.id < b.id;
}

// The softmax's denominator at temperature 1: the sum over every logit l of
// exp(l - m), m the highest finite logit, in double (0 when every logit is
// -infinity; NaN or +infinity logits make it meaningless: the sampler
// refuses them first).
inline double softmax_mass(std::span<const float> logits) {
  float m = -INFINITY;
  for (float l : logits) m = std::max(m, l);
  if (m == -INFINITY) return 0.0;
  double sum = 0.0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - m);
  return sum;
}

// What Forward::decode_top returns: the highest logits, in top_first order,
// and (where asked for) softmax_mass of the whole row, else NaN.
struct TopLogits {
  std::span<const TokenLogit> top;
  double mass = NAN;
};

// The min(k, logits.size()) first of `logits` in top_first order, into *out in that order.
inline void top_logits(std::span<const float> logits, int k, std::vector<TokenLogit>* out) {
  out->resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) (*out)[i] = {static_cast<int32_t>(i), logits[i]};
  const size_t n = std::min(static_cast<size_t>(std::max(k, 0)), out->size());
  std::partial_sort(out->begin(), out->begin() + n, out->end(), top_first);
  out->resize(n);
}

// One token of a batched decode step: which sequence, at which position.
struct BatchToken {
  int32_t token;
  int pos;
  int seq;
};

class Forward {
 public:
  virtual ~Forward() = default;
  virtual const ModelInfo& info() const = 0;
  virtual int max_sequences() const { return 1; }

  // Runs `tokens` of sequence `seq` at positions pos, pos+1, ... (filling its
  // cache). Returns the logits of the last token (kLast), of every token one
  // row of n_vocab after another (kAll), or nothing (kNone). Throws
  // std::out_of_range past the context or for a gap in the cache.
  virtual std::span<const float> prefill(std::span<const int32_t> tokens, int pos, Logits logits = Logits::kLast,
                                         int seq = 0) = 0;
  // One token; logits for the next one.
  virtual std::span<const float> decode(int32_t token, int pos, int seq = 0) {
    return prefill({&token, 1}, pos, Logits::kLast, seq);
  }
  // One token; the k highest logits for the next one, in top_first order,
  // and with `mass` the row's softmax_mass: all that a sampler drawing from
  // the highest logits needs (runtime::Sampler::top_needed). The base
  // version takes them from decode()'s logits; the CUDA program computes
  // them on the GPU, so k pairs cross PCIe instead of n_vocab logits.
  virtual TopLogits decode_top(int32_t token, int pos, int k, bool mass, int seq = 0) {
    top_row_ = decode(token, pos, seq);
    top_logits(top_row_, k, &top_);
    return {top_, mass ? softmax_mass(top_row_) : NAN};
  }
  // All the logits of the last decode_top() step (for a sampler its
  // candidates did not decide); valid until the next call.
  virtual std::span<const float> decode_top_row() { return top_row_; }
  // One token for each of several sequences in one step (continuous
  // batching): row i of the result holds the logits after batch[i]. The base
  // version runs them one by one.
  virtual std::span<const float> decode_batch(std::span<const BatchToken> batch) {
    batch_logits_.clear();
    for (const BatchToken& b : batch) {
      auto l = decode(b.token, b.pos, b.seq);
      batch_logits_.insert(batch_logits_.end(), l.begin(), l.end());
    }
    return batch_logits_;
  }
  // Forgets sequence `seq`'s cache entries at positions >= pos. An executor
  // that cannot keep that many (a sliding-window ring that overwrote what
  // position `pos` needs) forgets more; cached() then says how many remain.
  virtual void truncate(int pos, int seq = 0) = 0;
  // Positions of sequence `seq` held in the cache; -1 if the executor does
  // not say (then truncate(pos) keeps exactly pos).
  virtual int cached(int seq = 0) const {
    (void)seq;
    return -1;
  }

 protected:
  std::vector<float> batch_logits_;
  std::vector<TokenLogit> top_;
  std::span<const float> top_row_;  // the base decode_top()'s logits
};

}  // namespace forge::model
