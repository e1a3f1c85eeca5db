// The one error type of the chat-template engine: every problem with a template
// (syntax, unsupported feature, runtime type error, raise_exception, a limit hit)
// reaches the caller as a TemplateError naming the template line and column.
#pragma once

#include <stdexcept>
#include <string>

namespace forge::jinja {

class TemplateError : public std::runtime_error {
 public:
  // line/column are 1-based; 0 means "not known yet" (the evaluator fills it in
  // from the innermost template node that was being evaluated).
  explicit TemplateError(const std::string& message, int line = 0, int column = 0)
      : std::runtime_error(format(message, line, column)), message_(message), line_(line), column_(column) {}

  const std::string& message() const { return message_; }
  int line() const { return line_; }
  int column() const { return column_; }
  bool has_location() const { return line_ > 0; }

  TemplateError with_location(int line, int column) const { return TemplateError(message_, line, column); }

 private:
  static std::string format(const std::string& message, int line, int column) {
    if (line <= 0) return "chat template: " + message;
    return "chat template line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + message;
  }

  std::string message_;
  int line_;
  int column_;
};

}  // namespace forge::jinja
