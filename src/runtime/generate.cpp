#include "runtime/generate.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "nlohmann/json.hpp"
#include "runtime/stop_matcher.h"
#include "tokenizer/stream_decoder.h"

namespace forge::runtime {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kContextFull: return "length";
    case FinishReason::kCancelled: return "cancelled";
  }
  return "stop";
}

nlohmann::json result_json(std::span<const int32_t> prompt, const GenerateResult& r) {
  return {{"prompt_tokens", std::vector<int32_t>(prompt.begin(), prompt.end())},
          {"tokens", r.tokens},
          {"text", r.text},
          {"finish_reason", finish_reason_name(r.finish)},
          {"prompt_seconds", r.prompt_seconds},
          {"generation_seconds", r.gen_seconds}};
}

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

GenerateResult Session::generate(std::span<const int32_t> prompt, Sampler& sampler, const GenerateOptions& opts,
                                 const std::function<bool(std::string_view)>& on_text) {
  if (prompt.empty()) throw std::invalid_argument("the prompt is empty (no tokens)");
  const int n_ctx = fwd_.info().n_ctx;
  if (static_cast<int>(prompt.size()) >= n_ctx) {
    throw std::length_error("the prompt is " + std::to_string(prompt.size()) + " tokens but the context holds " +
                            std::to_string(n_ctx) + " (raise --ctx, or shorten the prompt)");
  }
  GenerateResult res;
  // Reuse the cached prefix; always recompute at least the last prompt token
  // to get its logits.
  size_t keep = 0;
  while (keep < cached_.size() && keep < prompt.size() && cached_[keep] == prompt[keep]) ++keep;
  if (keep == prompt.size()) --keep;
  fwd_.truncate(static_cast<int>(keep));
  if (const int held = fwd_.cached(); held >= 0 && static_cast<size_t>(held) < keep) keep = held;
  cached_.resize(keep);

  for (int32_t t : prompt) sampler.accept(t);
  auto t0 = std::chrono::steady_clock::now();
  auto logits = fwd_.prefill(prompt.subspan(keep), static_cast<int>(keep), model::Logits::kLast);
  cached_.assign(prompt.begin(), prompt.end());
  res.prompt_tokens = static_cast<int>(prompt.size() - keep);
  res.prompt_seconds = seconds_since(t0);

  StreamDecoder decoder(tok_, /*skip_special=*/true, /*continuation=*/true);
  StopMatcher stops(opts.stop);
  auto t1 = std::chrono::steady_clock::now();
  auto emit = [&](const std::string& piece) {
    StopMatch m = stops.feed(piece);
    res.text += m.text;
    bool go_on = m.text.empty() || !on_text || on_text(m.text);
    if (m.stopped) return false;
    if (!go_on) res.finish = FinishReason::kCancelled;
    return go_on;
  };
  // Where the sampler needs only the highest logits (Sampler::top_needed),
  // the decode steps return just those (Forward::decode_top); where they do
  // not decide the token, it takes the step's whole row after all.
  Sampler::TopNeed need;
  model::TopLogits top;
  for (int i = 0;; ++i) {
    if (opts.max_tokens >= 0 && i >= opts.max_tokens) {
      res.finish = FinishReason::kLength;
      break;
    }
    std::optional<int32_t> drawn;
    if (need.k > 0) drawn = sampler.sample_top(top.top, top.mass);
    const int32_t tok = drawn ? *drawn : sampler.sample(need.k > 0 ? fwd_.decode_top_row() : logits);
    const bool is_stop_id = std::find(opts.stop_ids.begin(), opts.stop_ids.end(), tok) != opts.stop_ids.end();
    if ((!opts.ignore_eos && tok_.is_eog(tok)) || is_stop_id) {
      res.finish = FinishReason::kStop;
      break;
    }
    sampler.accept(tok);
    res.tokens.push_back(tok);
    if (!emit(decoder.push(tok))) {
      if (stops.stopped()) res.finish = FinishReason::kStop;
      break;
    }
    if (static_cast<int>(cached_.size()) + 1 >= n_ctx) {
      res.finish = FinishReason::kContextFull;
      break;
    }
    need = sampler.top_needed();
    if (need.k > 0) {
      top = fwd_.decode_top(tok, static_cast<int>(cached_.size()), need.k, need.mass);
    } else {
      logits = fwd_.decode(tok, static_cast<int>(cached_.size()));
    }
    cached_.push_back(tok);
  }
  if (!stops.stopped() && res.finish != FinishReason::kCancelled) {
    std::string rest = decoder.finish();
    StopMatch m = stops.feed(rest);
    std::string tail = m.text + (m.stopped ? "" : stops.flush());
    res.text += tail;
    if (!tail.empty() && on_text) on_text(tail);
    if (m.stopped) res.finish = FinishReason::kStop;
  }
  res.gen_seconds = seconds_since(t1);
  return res;
}

}  // namespace forge::runtime
