// A parsed Jinja template (the subset described in docs/chat-templates.md).
//
//   forge::jinja::Template t(source);          // throws TemplateError on bad syntax
//   std::string text = t.render(variables);    // variables: a JSON object
//
// Rendering is sandboxed the way transformers renders chat templates: values
// are immutable (except namespace()), output and work are bounded, and every
// failure is a TemplateError naming the template line.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "tokenizer/jinja/evaluator.h"
#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/template_error.h"

namespace forge::jinja {

class Template {
 public:
  explicit Template(std::string_view source, const LexOptions& lex = {});

  // `variables` must be a JSON object; each member becomes a template variable
  // (use nlohmann::ordered_json so that tojson keeps the caller's key order).
  // raise_exception, strftime_now, range, dict and namespace are always there.
  std::string render(const nlohmann::ordered_json& variables, const RenderOptions& options = {}) const;

 private:
  std::shared_ptr<const Body> body_;
};

}  // namespace forge::jinja
