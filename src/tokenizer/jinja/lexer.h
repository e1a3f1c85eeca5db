// Splits template source into tokens: literal text runs, tag delimiters and the
// expression tokens between them, applying Jinja's whitespace control
// ("-" / "+" markers, trim_blocks, lstrip_blocks) while it goes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace forge::jinja {

enum class TokenKind {
  text,         // literal template data
  var_begin,    // {{
  var_end,      // }}
  block_begin,  // {%
  block_end,    // %}
  name,
  string,  // value already unescaped
  integer,
  floating,
  op,  // punctuation and operators: + - * / // % ** ~ == != < <= > >= = . : | , ( ) [ ] { }
  eof,
};

struct Token {
  TokenKind kind = TokenKind::eof;
  std::string text;  // name, operator, unescaped string or literal text
  int64_t int_value = 0;
  double float_value = 0.0;
  int line = 1;
  int column = 1;
};

struct LexOptions {
  // transformers renders chat templates with both on (and so did the references).
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
};

// Throws TemplateError (with line and column) on unterminated tags, strings or
// comments and on characters that start no token.
std::vector<Token> tokenize(std::string_view source, const LexOptions& options);

}  // namespace forge::jinja
