// The JSON the server answers with, in OpenAI's shapes: chat.completion,
// chat.completion.chunk, text_completion (also its stream chunks), usage,
// logprobs (chat's per-token list, and the legacy completions arrays).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "runtime/generate.h"
#include "runtime/sampler_logprobs.h"
#include "runtime/server/completion_request.h"
#include "tokenizer/tokenizer.h"

namespace forge::server {

// What every response and chunk of one request shares.
struct ResponseMeta {
  ApiKind kind = ApiKind::kCompletion;
  std::string id;  // chatcmpl-... / cmpl-...
  int64_t created = 0;
  std::string model;
};
ResponseMeta new_response_meta(ApiKind kind, const std::string& model);

// One choice's text so far and how it ended.
struct ChoiceResult {
  std::string text;
  std::vector<int32_t> tokens;
  std::vector<runtime::TokenLogprobs> logprobs;
  std::optional<runtime::FinishReason> finish;
};

struct Usage {
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int cached_tokens = 0;
};
nlohmann::json usage_json(const Usage& u);

// "stop" or "length" (a full context is "length", as OpenAI reports it).
const char* openai_finish_reason(runtime::FinishReason r);

// Logprobs of `lps` in the request's API shape; `text_offset` is where the
// first token's text starts in the choice (completions only; advanced).
nlohmann::json logprobs_json(ApiKind kind, const std::vector<runtime::TokenLogprobs>& lps, const Tokenizer& tok,
                             size_t& text_offset);

// The whole response of a non-streamed request.
nlohmann::json completion_json(const ResponseMeta& meta, const std::vector<ChoiceResult>& choices, const Usage& usage,
                               const Tokenizer& tok, bool with_logprobs, bool return_tokens);

// One stream chunk for one choice. `first` (chat): the delta carries the role.
// `logprobs`: null or the json from logprobs_json. `usage_null`: the request
// asked for a usage chunk, so every other chunk has "usage": null.
nlohmann::json chunk_json(const ResponseMeta& meta, int index, const std::string& text, bool first,
                          std::optional<runtime::FinishReason> finish, nlohmann::json logprobs, bool usage_null,
                          const std::vector<int32_t>* tokens);
// The final usage chunk (no choices).
nlohmann::json usage_chunk_json(const ResponseMeta& meta, const Usage& usage);

// JSON text; invalid UTF-8 (a byte token's piece) becomes U+FFFD rather than an exception.
std::string dump(const nlohmann::json& j);

}  // namespace forge::server
