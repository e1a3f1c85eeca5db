#include "openai_schema.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace forge::testing {

namespace {

using Json = nlohmann::json;

// `j` is an object whose keys are all of `required` plus some of `optional`.
void keys(const Json& j, const std::string& path, std::set<std::string> required, std::set<std::string> optional = {}) {
  if (!j.is_object()) {
    ADD_FAILURE() << path << " is not an object: " << j.dump();
    return;
  }
  for (const auto& k : required) {
    if (!j.contains(k)) ADD_FAILURE() << path << " lacks '" << k << "': " << j.dump();
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!required.count(it.key()) && !optional.count(it.key())) {
      ADD_FAILURE() << path << " has an unexpected key '" << it.key() << "'";
    }
  }
}

void is_string(const Json& j, const std::string& path) {
  if (!j.is_string()) ADD_FAILURE() << path << " is not a string: " << j.dump();
}
void is_int(const Json& j, const std::string& path) {
  if (!j.is_number_integer()) ADD_FAILURE() << path << " is not an integer: " << j.dump();
}
void is_number(const Json& j, const std::string& path) {
  if (!j.is_number()) ADD_FAILURE() << path << " is not a number: " << j.dump();
}
void finish_reason(const Json& j, const std::string& path, bool may_be_null) {
  if (j.is_null() && may_be_null) return;
  if (j != "stop" && j != "length") ADD_FAILURE() << path << " is not 'stop' or 'length': " << j.dump();
}

void head(const Json& j, const char* object, const char* prefix) {
  keys(j, "response", {"id", "object", "created", "model", "choices"}, {"system_fingerprint", "usage"});
  is_string(j.value("id", Json()), "id");
  EXPECT_EQ(j.value("id", std::string()).rfind(prefix, 0), 0u) << j.value("id", std::string());
  EXPECT_EQ(j.value("object", Json()), object);
  is_int(j.value("created", Json()), "created");
  is_string(j.value("model", Json()), "model");
  if (j.contains("system_fingerprint") && !j["system_fingerprint"].is_null()) {
    is_string(j["system_fingerprint"], "system_fingerprint");
  }
  if (!j.value("choices", Json()).is_array()) ADD_FAILURE() << "choices is not an array";
}

void check_top_entry(const Json& e, const std::string& path) {
  keys(e, path, {"token", "logprob", "bytes"});
  is_string(e.value("token", Json()), path + ".token");
  is_number(e.value("logprob", Json()), path + ".logprob");
  EXPECT_LE(e.value("logprob", 0.0), 0.0) << path;
  if (!e.value("bytes", Json()).is_array()) ADD_FAILURE() << path << ".bytes is not an array";
}

void chat_logprobs(const Json& lp, const std::string& path, bool want) {
  if (!want) {
    EXPECT_TRUE(lp.is_null()) << path << " should be null: " << lp.dump();
    return;
  }
  keys(lp, path, {"content"}, {"refusal"});
  const Json& content = lp.value("content", Json());
  if (!content.is_array()) {
    ADD_FAILURE() << path << ".content is not an array";
    return;
  }
  for (size_t i = 0; i < content.size(); ++i) {
    const std::string p = path + ".content[" + std::to_string(i) + "]";
    keys(content[i], p, {"token", "logprob", "bytes", "top_logprobs"});
    check_top_entry(Json{{"token", content[i].value("token", Json())},
                         {"logprob", content[i].value("logprob", Json())},
                         {"bytes", content[i].value("bytes", Json())}},
                    p);
    const Json& top = content[i].value("top_logprobs", Json());
    if (!top.is_array()) {
      ADD_FAILURE() << p << ".top_logprobs is not an array";
      continue;
    }
    for (size_t k = 0; k < top.size(); ++k) check_top_entry(top[k], p + ".top_logprobs[" + std::to_string(k) + "]");
  }
}

void text_logprobs(const Json& lp, const std::string& path, bool want) {
  if (!want) {
    EXPECT_TRUE(lp.is_null()) << path << " should be null: " << lp.dump();
    return;
  }
  keys(lp, path, {"tokens", "token_logprobs", "top_logprobs", "text_offset"});
  const size_t n = lp.value("tokens", Json::array()).size();
  for (const char* k : {"tokens", "token_logprobs", "top_logprobs", "text_offset"}) {
    if (!lp.value(k, Json()).is_array() || lp[k].size() != n)
      ADD_FAILURE() << path << "." << k << " is not an array of " << n;
  }
  for (const Json& t : lp.value("tokens", Json::array())) is_string(t, path + ".tokens[]");
  for (const Json& t : lp.value("token_logprobs", Json::array())) is_number(t, path + ".token_logprobs[]");
  for (const Json& t : lp.value("text_offset", Json::array())) is_int(t, path + ".text_offset[]");
  for (const Json& t : lp.value("top_logprobs", Json::array())) {
    if (!t.is_object()) ADD_FAILURE() << path << ".top_logprobs[] is not an object";
    for (auto it = t.begin(); it != t.end(); ++it) is_number(it.value(), path + ".top_logprobs[]." + it.key());
  }
}

std::set<std::string> choice_optional(const SchemaOptions& o) {
  return o.token_ids ? std::set<std::string>{"token_ids"} : std::set<std::string>{};
}

}  // namespace

void check_usage(const Json& u) {
  keys(u, "usage", {"prompt_tokens", "completion_tokens", "total_tokens"}, {"prompt_tokens_details"});
  for (const char* k : {"prompt_tokens", "completion_tokens", "total_tokens"}) is_int(u.value(k, Json()), k);
  EXPECT_EQ(u.value("total_tokens", 0), u.value("prompt_tokens", 0) + u.value("completion_tokens", 0));
  if (u.contains("prompt_tokens_details")) {
    keys(u["prompt_tokens_details"], "usage.prompt_tokens_details", {"cached_tokens"});
    is_int(u["prompt_tokens_details"].value("cached_tokens", Json()), "cached_tokens");
  }
}

void check_chat_completion(const Json& j, const SchemaOptions& o) {
  head(j, "chat.completion", "chatcmpl-");
  ASSERT_TRUE(j.contains("usage"));
  check_usage(j["usage"]);
  const Json& choices = j.value("choices", Json::array());
  ASSERT_EQ(choices.size(), static_cast<size_t>(o.n_choices));
  for (size_t i = 0; i < choices.size(); ++i) {
    const std::string p = "choices[" + std::to_string(i) + "]";
    const Json& c = choices[i];
    keys(c, p, {"index", "message", "logprobs", "finish_reason"}, choice_optional(o));
    EXPECT_EQ(c.value("index", -1), static_cast<int>(i));
    keys(c.value("message", Json()), p + ".message", {"role", "content"}, {"refusal"});
    EXPECT_EQ(c["message"].value("role", Json()), "assistant");
    is_string(c["message"].value("content", Json()), p + ".message.content");
    chat_logprobs(c.value("logprobs", Json()), p + ".logprobs", o.logprobs);
    finish_reason(c.value("finish_reason", Json()), p + ".finish_reason", false);
  }
}

void check_text_completion(const Json& j, const SchemaOptions& o) {
  head(j, "text_completion", "cmpl-");
  ASSERT_TRUE(j.contains("usage"));
  check_usage(j["usage"]);
  const Json& choices = j.value("choices", Json::array());
  ASSERT_EQ(choices.size(), static_cast<size_t>(o.n_choices));
  for (size_t i = 0; i < choices.size(); ++i) {
    const std::string p = "choices[" + std::to_string(i) + "]";
    const Json& c = choices[i];
    keys(c, p, {"index", "text", "logprobs", "finish_reason"}, choice_optional(o));
    EXPECT_EQ(c.value("index", -1), static_cast<int>(i));
    is_string(c.value("text", Json()), p + ".text");
    text_logprobs(c.value("logprobs", Json()), p + ".logprobs", o.logprobs);
    finish_reason(c.value("finish_reason", Json()), p + ".finish_reason", false);
  }
}

void check_chat_chunk(const Json& j, const SchemaOptions& o) {
  head(j, "chat.completion.chunk", "chatcmpl-");
  const Json& choices = j.value("choices", Json::array());
  if (choices.empty()) {  // the usage chunk
    ASSERT_TRUE(j.contains("usage")) << j.dump();
    check_usage(j["usage"]);
    return;
  }
  if (o.usage) {
    EXPECT_TRUE(j.contains("usage") && j["usage"].is_null()) << "content chunks carry \"usage\": null";
  } else {
    EXPECT_FALSE(j.contains("usage")) << j.dump();
  }
  ASSERT_EQ(choices.size(), 1u);
  const Json& c = choices[0];
  keys(c, "choices[0]", {"index", "delta", "logprobs", "finish_reason"}, choice_optional(o));
  is_int(c.value("index", Json()), "index");
  EXPECT_LT(c.value("index", 0), o.n_choices);
  keys(c.value("delta", Json()), "delta", {}, {"role", "content"});
  if (c["delta"].contains("role")) {
    EXPECT_EQ(c["delta"]["role"], "assistant");
  }
  if (c["delta"].contains("content")) is_string(c["delta"]["content"], "delta.content");
  if (!c.value("logprobs", Json()).is_null()) chat_logprobs(c["logprobs"], "chunk.logprobs", true);
  if (!o.logprobs) {
    EXPECT_TRUE(c.value("logprobs", Json()).is_null());
  }
  finish_reason(c.value("finish_reason", Json()), "finish_reason", true);
}

void check_completion_chunk(const Json& j, const SchemaOptions& o) {
  head(j, "text_completion", "cmpl-");
  const Json& choices = j.value("choices", Json::array());
  if (choices.empty()) {
    ASSERT_TRUE(j.contains("usage")) << j.dump();
    check_usage(j["usage"]);
    return;
  }
  if (o.usage) {
    EXPECT_TRUE(j.contains("usage") && j["usage"].is_null()) << "content chunks carry \"usage\": null";
  } else {
    EXPECT_FALSE(j.contains("usage")) << j.dump();
  }
  ASSERT_EQ(choices.size(), 1u);
  const Json& c = choices[0];
  keys(c, "choices[0]", {"index", "text", "logprobs", "finish_reason"}, choice_optional(o));
  is_string(c.value("text", Json()), "text");
  if (!c.value("logprobs", Json()).is_null()) text_logprobs(c["logprobs"], "chunk.logprobs", true);
  if (!o.logprobs) {
    EXPECT_TRUE(c.value("logprobs", Json()).is_null());
  }
  finish_reason(c.value("finish_reason", Json()), "finish_reason", true);
}

void check_error(const Json& j) {
  keys(j, "error response", {"error"});
  const Json& e = j.value("error", Json());
  keys(e, "error", {"message", "type", "param", "code"});
  is_string(e.value("message", Json()), "error.message");
  EXPECT_FALSE(e.value("message", std::string()).empty());
  is_string(e.value("type", Json()), "error.type");
  const Json& param = e.value("param", Json());
  EXPECT_TRUE(param.is_null() || param.is_string()) << param.dump();
  const Json& code = e.value("code", Json());
  EXPECT_TRUE(code.is_null() || code.is_string()) << code.dump();
}

}  // namespace forge::testing
