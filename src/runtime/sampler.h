// Picks the next token from a model's logits (DESIGN.md, runtime layer).
//
// The chain, in llama.cpp's default order:
//   logit bias -> penalties (repetition, frequency, presence over the last N accepted tokens)
//   -> top-k -> typical-p -> top-p -> min-p -> temperature -> seeded draw.
// Each truncation filter sees the probabilities (softmax at temperature 1) of the tokens the
// previous filters left, so e.g. top-p after top-k measures mass among the k survivors only.
// Temperature <= 0 is greedy: the plain argmax after bias and penalties, the truncation
// filters not applied (typical-p alone of them could have removed the most likely token).
//
// Ties are broken towards the lowest token id everywhere (argmax, top-k, the sort the filters
// use), and the draw walks the survivors in id order, so a seed reproduces the same tokens
// on every platform, up to last-ulp differences of the C library's exp/log.
#pragma once

#include <cmath>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <span>
#include <unordered_map>
#include <vector>

#include "model/forward.h"
#include "runtime/sampler_logprobs.h"
#include "runtime/sampler_params.h"

namespace forge::runtime {

using TokenCandidate = model::TokenLogit;

class Sampler {
 public:
  // Validates params (std::invalid_argument), also that every logit_bias id is < vocab_size.
  Sampler(SamplingParams params, int32_t vocab_size);

  // The next token. Does not record it: call accept() with the token you keep.
  // Throws std::invalid_argument if logits.size() != vocab_size, std::runtime_error if a logit
  // is NaN or +infinity or if every token is banned (-infinity).
  int32_t sample(std::span<const float> logits);

  // What sample_top() needs from a decode step (Forward::decode_top), or k 0 when every
  // logit can matter. Greedy: the highest logit; top-k: the k + 1 highest (the extra one tells
  // whether more than k tokens are left); top-p or min-p without top-k: the kNucleus highest and
  // (top-p) the softmax mass of the row. A logit bias or penalty that can only lower logits
  // (bias <= 0, repeat penalty >= 1, frequency and presence penalties >= 0) adds one candidate
  // for each token it touches, with greedy or top-k; anything that can raise a logit, or a
  // bias or penalty without top-k, or typical-p without top-k, needs every logit. Depends on the
  // accepted tokens (the penalties' window): ask before each step.
  struct TopNeed {
    int32_t k = 0;
    bool mass = false;
  };
  static constexpr int32_t kNucleus = 128;
  TopNeed top_needed() const;
  // sample() from the top_needed() highest logits (more are fine), in any order, and the row's
  // softmax mass where top_needed() asks for it (model::softmax_mass: a mass summed in another
  // order, as the GPU's, is fine). The same errors as sample() for a NaN or +infinity among
  // them and for every token banned. Returns nullopt, drawing nothing, where they do not decide
  // the token (top-p or min-p without top-k: the kept tokens reach past the candidates, or the
  // mass of a prefix of them lies within 1e-9 of top-p's share): then sample() all the logits.
  // Throws std::logic_error when top_needed() asks for every logit, std::invalid_argument for
  // too few candidates or a missing mass.
  std::optional<int32_t> sample_top(std::span<const TokenCandidate> top, double mass = NAN);

  // The tokens the draw would choose from, with their final logits (after bias, penalties,
  // filters and temperature), in id order; for greedy, the one argmax token. For tests and debugging.
  std::vector<TokenCandidate> survivors(std::span<const float> logits) const;

  // OpenAI logprobs of `chosen` and the top_n alternatives: see sampler_logprobs.h for what they are.
  TokenLogprobs logprobs(std::span<const float> logits, int32_t chosen, int32_t top_n) const {
    return token_logprobs(logits, params_.logit_bias, chosen, top_n);
  }

  // Records a token for the penalties: prompt tokens too. Throws std::invalid_argument if the
  // id is outside the vocabulary.
  void accept(int32_t token);

  // Forgets the accepted tokens and restarts the random sequence from the seed.
  void reset();

  const SamplingParams& params() const { return params_; }
  int32_t vocab_size() const { return vocab_size_; }
  uint64_t seed() const { return seed_; }

 private:
  // Fills `out` with the survivors; see survivors().
  void filter_into(std::span<const float> logits, std::vector<TokenCandidate>& out) const;
  // The filters after bias and penalties: `out` holds every token in id order, or (`ranked`)
  // the highest ones in top_first order, more than top_k of them or every finite one.
  void truncate(std::vector<TokenCandidate>& out, bool ranked) const;
  // The seeded draw from the survivors in scratch_.
  int32_t draw();
  void apply_penalties(std::vector<TokenCandidate>& cands) const;
  // The logit bias and the penalties are active; they can only lower logits; the tokens they touch.
  bool penalties_active() const;
  bool only_lowering() const;
  int32_t tokens_adjusted() const;
  // The bias and penalties on candidates in top_first order (only lowering), sorted again.
  void adjust_candidates(std::vector<TokenCandidate>& cands) const;
  // top-p / min-p without top-k from the highest logits (scratch_, top_first order, no
  // -infinity) and the row's mass: false where they do not decide the kept tokens.
  bool nucleus_from_top(double mass);
  // The draw's order (by id) and the temperature, after the filters.
  void finish_survivors(std::vector<TokenCandidate>& out) const;
  // A uniform double in [0, 1) from the top 53 bits of one raw engine output (portable, unlike
  // std::uniform_real_distribution whose algorithm each standard library picks).
  double next_uniform();

  SamplingParams params_;
  int32_t vocab_size_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  std::deque<int32_t> window_;                   // accepted tokens the penalties see, oldest first
  std::unordered_map<int32_t, int32_t> counts_;  // occurrences of each token in window_
  std::vector<TokenCandidate> scratch_;          // reused by sample() to avoid a vocab-sized allocation per token
  std::vector<double> weights_;
};

}  // namespace forge::runtime
