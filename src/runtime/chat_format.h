// Turns a conversation into the prompt tokens a model expects: the model's
// chat template (GGUF `tokenizer.chat_template`, or tokenizer_config.json of a
// Hugging Face folder), or a documented default for its architecture.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "runtime/loaded_model.h"
#include "tokenizer/jinja/chat_template.h"

namespace forge::runtime {

class ChatFormat {
 public:
  // Picks the model's template (or the default, noted in fallback_note()).
  // Throws jinja::TemplateError for a template that does not parse.
  explicit ChatFormat(const LoadedModel& model);
  // The same from parts: the model's own template (if any), its
  // architecture name (for the default) and its tokenizer (which must
  // outlive this).
  ChatFormat(const std::optional<std::string>& model_template, const std::string& architecture,
             const Tokenizer& tokenizer);

  // The prompt text for `messages` ([{"role", "content"}, ...]) ending with
  // the assistant's turn opened (add_generation_prompt). Throws
  // jinja::TemplateError (the template refused the conversation, e.g. roles
  // that do not alternate) or std::invalid_argument (malformed messages).
  std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt = true) const;
  // The same, tokenized: special tokens in the rendered text are parsed, and
  // BOS is added only if the template did not write it already.
  std::vector<int32_t> tokenize(const nlohmann::ordered_json& messages, bool add_generation_prompt = true) const;

  bool is_fallback() const { return choice_.is_fallback; }
  const std::string& fallback_note() const { return choice_.note; }

 private:
  const Tokenizer& tokenizer_;
  jinja::ChatTemplateChoice choice_;
  std::optional<jinja::ChatTemplate> template_;
  std::optional<std::string> bos_, eos_;
};

}  // namespace forge::runtime
