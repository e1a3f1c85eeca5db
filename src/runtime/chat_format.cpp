#include "runtime/chat_format.h"

#include <stdexcept>

namespace forge::runtime {

ChatFormat::ChatFormat(const LoadedModel& model)
    : ChatFormat(model.chat_template(), model.spec().arch, model.tokenizer()) {}

ChatFormat::ChatFormat(const std::optional<std::string>& model_template, const std::string& architecture,
                       const Tokenizer& tokenizer)
    : tokenizer_(tokenizer) {
  choice_ = jinja::choose_chat_template(model_template, architecture);
  template_.emplace(choice_.source);
  if (tokenizer.bos_id() >= 0) bos_ = tokenizer.token_text(tokenizer.bos_id());
  if (tokenizer.eos_id() >= 0) eos_ = tokenizer.token_text(tokenizer.eos_id());
}

std::string ChatFormat::render(const nlohmann::ordered_json& messages, bool add_generation_prompt) const {
  if (!messages.is_array() || messages.empty()) throw std::invalid_argument("messages must be a non-empty array");
  for (const auto& m : messages) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
      throw std::invalid_argument("every message needs a string 'role'");
    }
    if (!m.contains("content") || !(m["content"].is_string() || m["content"].is_null() || m["content"].is_array())) {
      throw std::invalid_argument("every message needs a 'content' (string)");
    }
  }
  jinja::ChatRequest req;
  req.messages = messages;
  req.add_generation_prompt = add_generation_prompt;
  req.bos_token = bos_;
  req.eos_token = eos_;
  return template_->render(req);
}

std::vector<int32_t> ChatFormat::tokenize(const nlohmann::ordered_json& messages, bool add_generation_prompt) const {
  const std::string text = render(messages, add_generation_prompt);
  const Tokenizer& tok = tokenizer_;
  std::vector<int32_t> ids = tok.encode(text, {.add_special = false, .parse_special = true});
  // Templates of Llama-style models write the BOS text themselves; add it
  // only where the tokenizer wants one and the template did not.
  if (tok.add_bos() && tok.bos_id() >= 0 && (ids.empty() || ids.front() != tok.bos_id())) {
    ids.insert(ids.begin(), tok.bos_id());
  }
  return ids;
}

}  // namespace forge::runtime
