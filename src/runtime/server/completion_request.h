// An OpenAI completion or chat completion request, checked field by field.
// Unknown fields are ignored (as OpenAI does); a known field of the wrong
// type or out of range is an ApiError (400) naming the field.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "runtime/sampler_params.h"

namespace forge::server {

enum class ApiKind { kChat, kCompletion };

struct CompletionRequest {
  ApiKind kind = ApiKind::kCompletion;
  std::string model;                  // echoed back; any name is accepted
  nlohmann::ordered_json messages;    // chat: [{"role", "content": string}], content parts joined
  std::optional<std::string> prompt;  // completion: text ...
  std::vector<int32_t> prompt_ids;    // ... or token ids (then prompt is empty)
  std::optional<int> max_tokens;      // absent: until the context is full
  runtime::SamplingParams sampling;
  std::vector<std::string> stop;
  int n = 1;
  int top_logprobs = -1;  // -1: no logprobs; else alternatives per token
  bool stream = false;
  bool include_usage = false;
  bool return_tokens = false;  // extension: each choice also lists its token ids
};

inline constexpr int kMaxChoices = 16;
inline constexpr int kMaxTopLogprobs = 20;
inline constexpr int kMaxStops = 16;

// Throws ApiError(400). `n_vocab` bounds token ids (prompt, logit_bias).
CompletionRequest parse_completion_request(const nlohmann::ordered_json& body, ApiKind kind, int32_t n_vocab);

// Shared by /tokenize and /detokenize: a list of token ids, each in the vocabulary.
std::vector<int32_t> parse_token_ids(const nlohmann::ordered_json& v, const std::string& param, int32_t n_vocab);

}  // namespace forge::server
