#include "runtime/speculative.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace forge::runtime {

void check_same_vocabulary(const Tokenizer& target, const Tokenizer& draft) {
  if (target.n_vocab() != draft.n_vocab()) {
    throw std::invalid_argument("the draft model's vocabulary has " + std::to_string(draft.n_vocab()) +
                                " tokens, the target's " + std::to_string(target.n_vocab()) +
                                ": speculative decoding needs the same vocabulary");
  }
  for (int32_t id = 0; id < target.n_vocab(); ++id) {
    if (target.token_text(id) != draft.token_text(id)) {
      throw std::invalid_argument("token " + std::to_string(id) + " is '" + target.token_text(id) +
                                  "' for the target model but '" + draft.token_text(id) +
                                  "' for the draft: speculative decoding needs the same vocabulary");
    }
  }
}

SpeculativeForward::SpeculativeForward(model::Forward& target, model::Forward& draft, const SpeculativeOptions& o)
    : target_(target), draft_(draft), opts_(o) {
  if (o.draft_tokens < 1) {
    throw std::invalid_argument("draft tokens must be at least 1, not " + std::to_string(o.draft_tokens));
  }
  if (!(o.p_min >= 0.0f && o.p_min <= 1.0f)) {
    throw std::invalid_argument("the draft's minimum probability must be in [0, 1], not " + std::to_string(o.p_min));
  }
  if (target.info().n_vocab != draft.info().n_vocab) {
    throw std::invalid_argument("the draft model computes " + std::to_string(draft.info().n_vocab) +
                                " logits, the target " + std::to_string(target.info().n_vocab));
  }
  if (draft.info().n_ctx < target.info().n_ctx) {
    throw std::invalid_argument("the draft model holds " + std::to_string(draft.info().n_ctx) +
                                " positions, fewer than the target's " + std::to_string(target.info().n_ctx));
  }
}

void SpeculativeForward::sync(model::Forward& f, std::vector<int32_t>& held, size_t upto) {
  size_t keep = 0;
  while (keep < held.size() && keep < upto && held[keep] == history_[keep]) ++keep;
  f.truncate(static_cast<int>(keep));
  if (const int have = f.cached(); have >= 0 && static_cast<size_t>(have) < keep) keep = have;  // a ring forgot more
  if (keep < upto) {
    f.prefill(std::span(history_).subspan(keep, upto - keep), static_cast<int>(keep), model::Logits::kNone);
  }
  held.assign(history_.begin(), history_.begin() + upto);
}

std::span<const float> SpeculativeForward::prefill(std::span<const int32_t> tokens, int pos, model::Logits logits,
                                                   int seq) {
  if (seq != 0) throw std::invalid_argument("speculative decoding runs one sequence");
  if (pos < 0 || static_cast<size_t>(pos) > history_.size()) {
    throw std::out_of_range("prefill at position " + std::to_string(pos) + " after " + std::to_string(history_.size()) +
                            " cached tokens");
  }
  round_used_ = 0;
  history_.resize(pos);
  sync(target_, target_held_, pos);
  history_.insert(history_.end(), tokens.begin(), tokens.end());
  const auto out = target_.prefill(tokens, pos, logits);
  target_held_ = history_;
  return out;
}

std::span<const float> SpeculativeForward::decode(int32_t token, int pos, int seq) {
  if (seq != 0) throw std::invalid_argument("speculative decoding runs one sequence");
  if (pos < 0 || static_cast<size_t>(pos) > history_.size()) {
    throw std::out_of_range("decode at position " + std::to_string(pos) + " after " + std::to_string(history_.size()) +
                            " cached tokens");
  }
  history_.resize(pos);
  history_.push_back(token);
  const size_t n_vocab = target_.info().n_vocab;
  // The caller chose the round's next guess: its logits are already here.
  if (round_used_ > 0 && round_used_ < round_.size() && static_cast<size_t>(pos) == round_pos_ + round_used_ &&
      round_[round_used_] == token) {
    ++stats_.accepted;
    return std::span(rows_).subspan(n_vocab * round_used_++, n_vocab);
  }
  return start_round(token, pos);
}

std::span<const float> SpeculativeForward::start_round(int32_t token, int pos) {
  const size_t n_vocab = target_.info().n_vocab;
  // Guesses fill at most the positions the context has left, and stop where
  // the draft is unsure.
  const int most = std::min(opts_.draft_tokens, target_.info().n_ctx - 1 - pos);
  round_.assign(1, token);
  if (most > 0) {
    sync(draft_, draft_held_, pos);
    int32_t next = token;
    for (int i = 0; i < most; ++i) {
      const auto logits = draft_.decode(next, pos + i);
      draft_held_.push_back(next);
      model::top_logits(logits, 1, &best_);
      if (opts_.p_min > 0.0f && 1.0 / model::softmax_mass(logits) < opts_.p_min) break;
      next = best_[0].id;
      round_.push_back(next);
    }
    const int guesses = static_cast<int>(round_.size()) - 1;
    stats_.drafted += guesses;
    if (guesses > 0) ++stats_.target_passes;
  }
  sync(target_, target_held_, pos);
  const auto rows = target_.prefill(round_, pos, model::Logits::kAll);
  target_held_.insert(target_held_.end(), round_.begin(), round_.end());
  rows_.assign(rows.begin(), rows.end());
  round_pos_ = pos;
  round_used_ = 1;
  return std::span(rows_).first(n_vocab);
}

void SpeculativeForward::truncate(int pos, int seq) {
  if (seq != 0) throw std::invalid_argument("speculative decoding runs one sequence");
  round_used_ = 0;
  if (static_cast<size_t>(pos) < history_.size()) history_.resize(pos);
  target_.truncate(pos);
  if (static_cast<size_t>(pos) < target_held_.size()) target_held_.resize(pos);
  if (const int have = target_.cached(); have >= 0 && static_cast<size_t>(have) < target_held_.size()) {
    target_held_.resize(have);
  }
}

int SpeculativeForward::cached(int seq) const {
  if (seq != 0) return 0;
  const int have = target_.cached();
  return have < 0 ? -1 : std::min<int>(have, static_cast<int>(history_.size()));
}

}  // namespace forge::runtime
