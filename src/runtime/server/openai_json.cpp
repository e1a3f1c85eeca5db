#include "runtime/server/openai_json.h"

#include <cmath>
#include <ctime>
#include <random>

namespace forge::server {

using Json = nlohmann::json;

ResponseMeta new_response_meta(ApiKind kind, const std::string& model) {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = kind == ApiKind::kChat ? "chatcmpl-" : "cmpl-";
  for (int i = 0; i < 24; ++i) id += kHex[rd() & 15];
  return {kind, id, static_cast<int64_t>(std::time(nullptr)), model};
}

Json usage_json(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
}

const char* openai_finish_reason(runtime::FinishReason r) {
  return r == runtime::FinishReason::kStop || r == runtime::FinishReason::kCancelled ? "stop" : "length";
}

namespace {

// OpenAI reports a token that cannot be chosen with -9999, not -infinity (not JSON).
double finite_logprob(float lp) {
  return std::isfinite(lp) ? static_cast<double>(lp) : -9999.0;
}

Json bytes_of(const std::string& s) {
  Json b = Json::array();
  for (unsigned char c : s) b.push_back(static_cast<int>(c));
  return b;
}

Json chat_token(const Tokenizer& tok, const runtime::TokenLogprob& t) {
  const std::string piece = tok.token_to_piece(t.id);
  return {{"token", piece}, {"logprob", finite_logprob(t.logprob)}, {"bytes", bytes_of(piece)}};
}

}  // namespace

Json logprobs_json(ApiKind kind, const std::vector<runtime::TokenLogprobs>& lps, const Tokenizer& tok,
                   size_t& text_offset) {
  if (kind == ApiKind::kChat) {
    Json content = Json::array();
    for (const runtime::TokenLogprobs& l : lps) {
      Json e = chat_token(tok, l.chosen);
      Json top = Json::array();
      for (const runtime::TokenLogprob& t : l.top) top.push_back(chat_token(tok, t));
      e["top_logprobs"] = std::move(top);
      content.push_back(std::move(e));
    }
    return {{"content", std::move(content)}, {"refusal", nullptr}};
  }
  Json tokens = Json::array(), token_logprobs = Json::array(), top = Json::array(), offsets = Json::array();
  for (const runtime::TokenLogprobs& l : lps) {
    const std::string piece = tok.token_to_piece(l.chosen.id);
    tokens.push_back(piece);
    token_logprobs.push_back(finite_logprob(l.chosen.logprob));
    Json alts = Json::object();
    for (const runtime::TokenLogprob& t : l.top) alts[tok.token_to_piece(t.id)] = finite_logprob(t.logprob);
    top.push_back(std::move(alts));
    offsets.push_back(text_offset);
    text_offset += piece.size();
  }
  return {{"tokens", tokens}, {"token_logprobs", token_logprobs}, {"top_logprobs", top}, {"text_offset", offsets}};
}

Json completion_json(const ResponseMeta& meta, const std::vector<ChoiceResult>& choices, const Usage& usage,
                     const Tokenizer& tok, bool with_logprobs, bool return_tokens) {
  Json out_choices = Json::array();
  for (size_t i = 0; i < choices.size(); ++i) {
    const ChoiceResult& c = choices[i];
    size_t offset = 0;
    Json lp = with_logprobs ? logprobs_json(meta.kind, c.logprobs, tok, offset) : Json(nullptr);
    Json choice;
    if (meta.kind == ApiKind::kChat) {
      choice = {{"index", i},
                {"message", {{"role", "assistant"}, {"content", c.text}, {"refusal", nullptr}}},
                {"logprobs", lp},
                {"finish_reason", openai_finish_reason(c.finish.value_or(runtime::FinishReason::kStop))}};
    } else {
      choice = {{"index", i},
                {"text", c.text},
                {"logprobs", lp},
                {"finish_reason", openai_finish_reason(c.finish.value_or(runtime::FinishReason::kStop))}};
    }
    if (return_tokens) choice["token_ids"] = c.tokens;
    out_choices.push_back(std::move(choice));
  }
  return {{"id", meta.id},
          {"object", meta.kind == ApiKind::kChat ? "chat.completion" : "text_completion"},
          {"created", meta.created},
          {"model", meta.model},
          {"system_fingerprint", "forge"},
          {"choices", std::move(out_choices)},
          {"usage", usage_json(usage)}};
}

Json chunk_json(const ResponseMeta& meta, int index, const std::string& text, bool first,
                std::optional<runtime::FinishReason> finish, Json logprobs, bool usage_null,
                const std::vector<int32_t>* tokens) {
  Json finish_json = finish ? Json(openai_finish_reason(*finish)) : Json(nullptr);
  Json choice;
  if (meta.kind == ApiKind::kChat) {
    Json delta = Json::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || first) delta["content"] = text;
    choice = {{"index", index}, {"delta", delta}, {"logprobs", logprobs}, {"finish_reason", finish_json}};
  } else {
    choice = {{"index", index}, {"text", text}, {"logprobs", logprobs}, {"finish_reason", finish_json}};
  }
  if (tokens) choice["token_ids"] = *tokens;
  Json chunk = {{"id", meta.id},
                {"object", meta.kind == ApiKind::kChat ? "chat.completion.chunk" : "text_completion"},
                {"created", meta.created},
                {"model", meta.model},
                {"system_fingerprint", "forge"},
                {"choices", Json::array({std::move(choice)})}};
  if (usage_null) chunk["usage"] = nullptr;
  return chunk;
}

Json usage_chunk_json(const ResponseMeta& meta, const Usage& usage) {
  return {{"id", meta.id},
          {"object", meta.kind == ApiKind::kChat ? "chat.completion.chunk" : "text_completion"},
          {"created", meta.created},
          {"model", meta.model},
          {"system_fingerprint", "forge"},
          {"choices", Json::array()},
          {"usage", usage_json(usage)}};
}

std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace forge::server
