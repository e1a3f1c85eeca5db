// Builds the AST from tokens, with Jinja's operator precedence. Anything outside
// the supported subset (see docs/chat-templates.md) is a TemplateError naming
// the line, raised here rather than half-handled later.
#pragma once

#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/lexer.h"

namespace forge::jinja {

Body parse_template(const std::vector<Token>& tokens);

}  // namespace forge::jinja
