// Strict checks of the server's JSON against OpenAI's published shapes: the
// exact set of keys (optional ones named), and each value's type. Failures
// are gtest failures naming the JSON path.
#pragma once

#include <nlohmann/json.hpp>

namespace forge::testing {

struct SchemaOptions {
  int n_choices = 1;
  bool logprobs = false;   // choices carry logprobs objects (else null)
  bool usage = true;       // non-streamed: always; chunks: "usage": null present when include_usage
  bool token_ids = false;  // the return_tokens extension
};

void check_chat_completion(const nlohmann::json& j, const SchemaOptions& o = {});
void check_text_completion(const nlohmann::json& j, const SchemaOptions& o = {});
// One chunk of a stream (content chunk, or the final usage chunk).
void check_chat_chunk(const nlohmann::json& j, const SchemaOptions& o = {});
void check_completion_chunk(const nlohmann::json& j, const SchemaOptions& o = {});
void check_usage(const nlohmann::json& j);
// {"error": {"message", "type", "param", "code"}} with a non-empty message.
void check_error(const nlohmann::json& j);

}  // namespace forge::testing
