#include "tokenizer/jinja/template.h"

#include "tokenizer/jinja/parser.h"

namespace forge::jinja {

Template::Template(std::string_view source, const LexOptions& lex)
    : body_(std::make_shared<const Body>(parse_template(tokenize(source, lex)))) {}

std::string Template::render(const nlohmann::ordered_json& variables, const RenderOptions& options) const {
  if (!variables.is_object()) throw TemplateError("template variables must be a JSON object");
  std::vector<std::pair<std::string, Value>> vars;
  for (const auto& [name, value] : variables.items()) vars.emplace_back(name, from_json(value));
  Evaluator evaluator(options, std::move(vars));
  return evaluator.render(*body_);
}

}  // namespace forge::jinja
