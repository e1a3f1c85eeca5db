// Speculative decoding as a Forward: a small draft model guesses the next
// tokens, the target model checks all of them in one batched pass, and the
// caller (Session::generate, the server) sees the target's logits one token
// at a time as if it ran alone. A guess the caller's own choice agrees with
// costs no target pass; the first one it disagrees with ends the round, and
// both caches roll back to the tokens actually chosen. Whatever the sampler
// (greedy or seeded sampling, penalties), the tokens are the ones the target
// alone would choose: the caller draws each token once, from the target's
// logits for exactly the tokens before it (computed in batches, as any
// prefill computes them).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/forward.h"
#include "tokenizer/tokenizer.h"

namespace forge::runtime {

// Throws std::invalid_argument unless the two tokenizers have the same
// tokens under the same ids (naming the first that differs).
void check_same_vocabulary(const Tokenizer& target, const Tokenizer& draft);

struct SpeculativeOptions {
  int draft_tokens = 8;  // guesses a round, at most (>= 1)
  // A round's guesses stop at the first the draft gives less probability
  // than this (0: always draft_tokens), so a draft that does not know does
  // not cost the target a batch of doomed guesses.
  float p_min = 0.75f;
};

struct SpeculativeStats {
  int64_t drafted = 0;        // tokens the draft proposed
  int64_t accepted = 0;       // of them, the ones the caller then chose
  int64_t target_passes = 0;  // batched target passes that checked proposals
};

class SpeculativeForward : public model::Forward {
 public:
  // Both models must have the same vocabulary size, the draft at least the
  // target's context (std::invalid_argument, as for a bad option).
  SpeculativeForward(model::Forward& target, model::Forward& draft, const SpeculativeOptions& o);

  const model::ModelInfo& info() const override { return target_.info(); }
  std::span<const float> prefill(std::span<const int32_t> tokens, int pos, model::Logits logits = model::Logits::kLast,
                                 int seq = 0) override;
  std::span<const float> decode(int32_t token, int pos, int seq = 0) override;
  void truncate(int pos, int seq = 0) override;
  int cached(int seq = 0) const override;

  const SpeculativeStats& stats() const { return stats_; }

 private:
  // Makes `f`'s cache hold history_[0, upto): keeps what `held` (the tokens
  // in it) shares with history_, runs the rest.
  void sync(model::Forward& f, std::vector<int32_t>& held, size_t upto);
  std::span<const float> start_round(int32_t token, int pos);

  model::Forward& target_;
  model::Forward& draft_;
  SpeculativeOptions opts_;
  std::vector<int32_t> history_;      // the caller's tokens, by position
  std::vector<int32_t> target_held_;  // the tokens in the target's cache
  std::vector<int32_t> draft_held_;   // the tokens in the draft's cache
  std::vector<int32_t> round_;        // this round's tokens: the caller's first, then the guesses
  size_t round_pos_ = 0;              // the position of round_[0]
  size_t round_used_ = 0;             // rows of the round handed out (0: no round)
  std::vector<float> rows_;           // the target's logits after each of round_'s tokens
  std::vector<model::TokenLogit> best_;
  SpeculativeStats stats_;
};

}  // namespace forge::runtime
