// Reading the arguments of a filter, test, method or global function the way
// Python binds them: by position or by keyword, with defaults.
#pragma once

#include <optional>
#include <string>

#include "tokenizer/jinja/template_error.h"
#include "tokenizer/jinja/value.h"

namespace forge::jinja {

class ArgReader {
 public:
  ArgReader(const CallArgs& args, std::string what) : args_(args), what_(std::move(what)) {}

  const Value* get(size_t index, std::string_view name) const {
    const Value* v = args_.get(index, name);
    return v;
  }
  bool has(size_t index, std::string_view name) const { return get(index, name) != nullptr; }

  Value value(size_t index, std::string_view name, Value fallback = Value()) const {
    const Value* v = get(index, name);
    return v ? *v : fallback;
  }
  std::string string(size_t index, std::string_view name, std::string fallback = {}) const {
    const Value* v = get(index, name);
    if (v == nullptr) return fallback;
    if (!v->is_string()) fail(name, "a string", *v);
    return v->as_string();
  }
  // Absent or None gives nullopt.
  std::optional<std::string> optional_string(size_t index, std::string_view name) const {
    const Value* v = get(index, name);
    if (v == nullptr || v->is_none()) return std::nullopt;
    if (!v->is_string()) fail(name, "a string", *v);
    return v->as_string();
  }
  int64_t integer(size_t index, std::string_view name, int64_t fallback) const {
    const Value* v = get(index, name);
    if (v == nullptr || v->is_none()) return fallback;
    if (!v->is_int() && !v->is_bool()) fail(name, "an integer", *v);
    return v->int_like();
  }
  bool boolean(size_t index, std::string_view name, bool fallback) const {
    const Value* v = get(index, name);
    return v ? truthy(*v) : fallback;
  }
  const Value& required(size_t index, std::string_view name) const {
    const Value* v = get(index, name);
    if (v == nullptr) throw TemplateError(what_ + ": missing argument '" + std::string(name) + "'");
    return *v;
  }

 private:
  [[noreturn]] void fail(std::string_view name, const char* expected, const Value& got) const {
    throw TemplateError(what_ + ": argument '" + std::string(name) + "' must be " + expected + ", not '" +
                        type_name(got) + "'");
  }

  const CallArgs& args_;
  std::string what_;
};

}  // namespace forge::jinja
