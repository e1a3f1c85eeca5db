// Chat templates: render a model's Jinja chat template for a conversation, the
// way transformers' apply_chat_template does, or pick a documented default
// when the model ships none.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/jinja/template.h"

namespace forge::jinja {

struct ChatRequest {
  // [{"role": ..., "content": ...}, ...]; extra keys (tool_calls, name, ...) pass through.
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  bool add_generation_prompt = true;
  // Absent: the model defines no such token, and the variable stays undefined.
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  // More variables: tools, documents, date_string, enable_thinking, ... (a JSON
  // object). tools and documents default to none, as transformers passes them.
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

class ChatTemplate {
 public:
  explicit ChatTemplate(std::string source);  // throws TemplateError on bad syntax

  std::string render(const ChatRequest& request, const RenderOptions& options = {}) const;
  std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                     const std::optional<std::string>& bos_token, const std::optional<std::string>& eos_token,
                     const nlohmann::ordered_json& extra = nlohmann::ordered_json::object(),
                     const RenderOptions& options = {}) const;

  const std::string& source() const { return source_; }

 private:
  std::string source_;
  Template template_;
};

// Built-in templates for models without one. Each reproduces one real family's
// format (docs/chat-templates.md says which): chatml, llama3, gemma, phi3, mistral.
struct DefaultChatTemplate {
  std::string_view name;
  std::string_view description;
  std::string_view source;
};
const std::vector<DefaultChatTemplate>& default_chat_templates();
// The default for a model architecture name (GGUF general.architecture or HF
// model_type: "llama", "qwen2", "gemma3", "phi3", "mistral", ...) or a default's
// own name. Unknown architectures get ChatML; `exact` says whether the name was known.
const DefaultChatTemplate& default_chat_template_for(std::string_view architecture, bool* exact = nullptr);

struct ChatTemplateChoice {
  std::string source;
  bool is_fallback = false;  // true: the model had no template, a default is used
  std::string note;          // for the user when is_fallback, e.g. "no chat template in the model; using ..."
};
// The model's own template when it has a non-empty one, else the default for
// its architecture (and says so).
ChatTemplateChoice choose_chat_template(const std::optional<std::string>& model_template,
                                        std::string_view architecture);

}  // namespace forge::jinja
