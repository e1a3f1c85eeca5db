#include "tokenizer/jinja/chat_template.h"

#include <algorithm>

namespace forge::jinja {

ChatTemplate::ChatTemplate(std::string source) : source_(std::move(source)), template_(source_) {}

std::string ChatTemplate::render(const ChatRequest& request, const RenderOptions& options) const {
  if (!request.messages.is_array()) throw TemplateError("chat messages must be a JSON array");
  if (!request.extra.is_object()) throw TemplateError("extra chat template variables must be a JSON object");
  nlohmann::ordered_json vars = nlohmann::ordered_json::object();
  vars["messages"] = request.messages;
  vars["add_generation_prompt"] = request.add_generation_prompt;
  if (request.bos_token) vars["bos_token"] = *request.bos_token;
  if (request.eos_token) vars["eos_token"] = *request.eos_token;
  vars["tools"] = nullptr;
  vars["documents"] = nullptr;
  for (const auto& [key, value] : request.extra.items()) vars[key] = value;
  return template_.render(vars, options);
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                 const std::optional<std::string>& bos_token,
                                 const std::optional<std::string>& eos_token, const nlohmann::ordered_json& extra,
                                 const RenderOptions& options) const {
  ChatRequest request;
  request.messages = messages;
  request.add_generation_prompt = add_generation_prompt;
  request.bos_token = bos_token;
  request.eos_token = eos_token;
  request.extra = extra;
  return render(request, options);
}

const DefaultChatTemplate& default_chat_template_for(std::string_view architecture, bool* exact) {
  std::string arch(architecture);
  std::transform(arch.begin(), arch.end(), arch.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  struct Alias {
    std::string_view arch;
    std::string_view name;
  };
  static constexpr Alias kAliases[] = {
      {"chatml", "chatml"},  {"qwen", "chatml"},     {"qwen2", "chatml"},    {"qwen2moe", "chatml"},
      {"qwen3", "chatml"},   {"qwen3moe", "chatml"}, {"smollm", "chatml"},   {"smollm2", "chatml"},
      {"smollm3", "chatml"}, {"llama3", "llama3"},   {"llama", "llama3"},    {"gemma", "gemma"},
      {"gemma2", "gemma"},   {"gemma3", "gemma"},    {"gemma3n", "gemma"},   {"phi3", "phi3"},
      {"phi-3", "phi3"},     {"mistral", "mistral"}, {"mixtral", "mistral"}, {"mistral3", "mistral"},
  };
  std::string_view name = "chatml";
  bool known = false;
  for (const auto& alias : kAliases) {
    if (alias.arch == arch) {
      name = alias.name;
      known = true;
      break;
    }
  }
  if (exact != nullptr) *exact = known;
  for (const auto& t : default_chat_templates())
    if (t.name == name) return t;
  return default_chat_templates().front();
}

ChatTemplateChoice choose_chat_template(const std::optional<std::string>& model_template,
                                        std::string_view architecture) {
  ChatTemplateChoice choice;
  if (model_template && !model_template->empty()) {
    choice.source = *model_template;
    return choice;
  }
  bool exact = false;
  const DefaultChatTemplate& t = default_chat_template_for(architecture, &exact);
  choice.source = std::string(t.source);
  choice.is_fallback = true;
  choice.note = "the model has no chat template; using the built-in '" + std::string(t.name) + "' template (" +
                std::string(t.description) + ")";
  if (!exact) choice.note += ", because architecture '" + std::string(architecture) + "' has no default of its own";
  return choice;
}

}  // namespace forge::jinja
