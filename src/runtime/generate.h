// The generation loop shared by run, chat and the server: feed a prompt,
// sample, stream text as it becomes final, stop on an end-of-generation
// token, a stop string, max tokens or a full context.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/forward.h"
#include "nlohmann/json_fwd.hpp"
#include "runtime/sampler.h"
#include "tokenizer/tokenizer.h"

namespace forge::runtime {

struct GenerateOptions {
  int max_tokens = 256;             // < 0: until the context is full
  std::vector<std::string> stop;    // stop strings (not part of the output)
  std::vector<int32_t> stop_ids;    // extra stop token ids
  bool ignore_eos = false;
};

enum class FinishReason { kStop, kLength, kContextFull, kCancelled };
const char* finish_reason_name(FinishReason r);  // "stop", "length", ...

struct GenerateResult {
  std::string text;
  std::vector<int32_t> tokens;  // generated ids (the stop token excluded)
  int prompt_tokens = 0;        // tokens actually run through prefill (a reused prefix excluded)
  double prompt_seconds = 0;
  double gen_seconds = 0;
  FinishReason finish = FinishReason::kStop;
};

// What `forge run --json` and a compiled program's --json print: the prompt's
// and the generated token ids, the text, the finish reason and the timings.
nlohmann::json result_json(std::span<const int32_t> prompt, const GenerateResult& r);

// A model instance with the tokens its KV cache holds, so a new prompt that
// starts with them (a chat resending its history) only runs the new part.
class Session {
 public:
  Session(model::Forward& fwd, const Tokenizer& tok) : fwd_(fwd), tok_(tok) {}

  model::Forward& forward() { return fwd_; }
  const Tokenizer& tokenizer() const { return tok_; }
  const std::vector<int32_t>& cached() const { return cached_; }
  void reset() {
    cached_.clear();
    fwd_.truncate(0);
  }

  // Generates a continuation of `prompt` (the whole conversation so far);
  // `on_text` receives text as it becomes final and returns false to cancel.
  // Throws std::length_error when the prompt does not fit the context.
  GenerateResult generate(std::span<const int32_t> prompt, Sampler& sampler, const GenerateOptions& opts,
                          const std::function<bool(std::string_view)>& on_text);

 private:
  model::Forward& fwd_;
  const Tokenizer& tok_;
  std::vector<int32_t> cached_;
};

}  // namespace forge::runtime
