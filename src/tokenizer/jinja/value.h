// The values a template computes with, modelled on the Python objects that
// jinja2 (the reference) works on: None, bool, int, float, str, list, dict,
// plus jinja2's Undefined, namespace() objects and callables.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace forge::jinja {

class Value;
class Evaluator;

// jinja2's default Undefined: prints as "", is falsy, iterates as empty, and
// fails on any other use with a message built from `hint`.
struct Undefined {
  std::string hint;  // e.g. "'foo' is undefined" or "'dict object' has no attribute 'x'"
};
struct NoneType {};

using Array = std::vector<Value>;
struct List;
struct Dict;
struct Namespace;
struct Function;
struct CallArgs;

using ArrayPtr = std::shared_ptr<const List>;
using DictPtr = std::shared_ptr<const Dict>;
using NamespacePtr = std::shared_ptr<Namespace>;
using FunctionPtr = std::shared_ptr<const Function>;

// Containers deeper than this are refused (their destruction and printing recurse).
inline constexpr int kMaxNesting = 256;

class Value {
 public:
  Value() : v_(Undefined{}) {}
  Value(Undefined u) : v_(std::move(u)) {}
  Value(NoneType n) : v_(n) {}
  Value(bool b) : v_(b) {}
  Value(int i) : v_(static_cast<int64_t>(i)) {}
  Value(int64_t i) : v_(i) {}
  Value(double d) : v_(d) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(ArrayPtr a) : v_(std::move(a)) {}
  Value(DictPtr d) : v_(std::move(d)) {}
  Value(NamespacePtr n) : v_(std::move(n)) {}
  Value(FunctionPtr f) : v_(std::move(f)) {}

  static Value none() { return Value(NoneType{}); }
  static Value undefined(std::string hint) { return Value(Undefined{std::move(hint)}); }

  bool is_undefined() const { return std::holds_alternative<Undefined>(v_); }
  bool is_none() const { return std::holds_alternative<NoneType>(v_); }
  bool is_bool() const { return std::holds_alternative<bool>(v_); }
  bool is_int() const { return std::holds_alternative<int64_t>(v_); }
  bool is_float() const { return std::holds_alternative<double>(v_); }
  bool is_number() const { return is_int() || is_float() || is_bool(); }  // Python: bool is an int
  bool is_string() const { return std::holds_alternative<std::string>(v_); }
  bool is_array() const { return std::holds_alternative<ArrayPtr>(v_); }
  bool is_dict() const { return std::holds_alternative<DictPtr>(v_); }
  bool is_namespace() const { return std::holds_alternative<NamespacePtr>(v_); }
  bool is_function() const { return std::holds_alternative<FunctionPtr>(v_); }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_float() const { return std::get<double>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const Array& as_array() const;
  const ArrayPtr& array_ptr() const { return std::get<ArrayPtr>(v_); }
  const Dict& as_dict() const { return *std::get<DictPtr>(v_); }
  const NamespacePtr& as_namespace() const { return std::get<NamespacePtr>(v_); }
  const Function& as_function() const { return *std::get<FunctionPtr>(v_); }
  const Undefined& as_undefined() const { return std::get<Undefined>(v_); }

  // Integer view of an int or bool (Python's True == 1).
  int64_t int_like() const { return is_bool() ? (as_bool() ? 1 : 0) : as_int(); }
  double number() const;  // int, bool or float as double

 private:
  std::variant<Undefined, NoneType, bool, int64_t, double, std::string, ArrayPtr, DictPtr, NamespacePtr, FunctionPtr>
      v_;
};

// A list (or tuple: the engine does not tell them apart) and its nesting depth.
struct List {
  Array items;
  int depth = 1;
};

inline const Array& Value::as_array() const {
  return std::get<ArrayPtr>(v_)->items;
}

// An insertion-ordered dict with string keys (every dict a chat template sees:
// JSON objects, dict literals, loop objects).
struct Dict {
  std::vector<std::pair<std::string, Value>> items;
  int depth = 1;

  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value value);
};

// namespace(): the one mutable object ({% set ns.x = ... %}).
struct Namespace {
  Dict attrs;
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> named;

  // Argument `index` or keyword `name`; Undefined-with-empty-hint when absent.
  const Value* get(size_t index, std::string_view name) const;
};

struct Function {
  std::string name;
  std::function<Value(const CallArgs&, Evaluator&)> call;
};

// Builders that enforce kMaxNesting.
Value make_array(Array items);
Value make_dict(Dict dict);
int nesting_of(const Value& v);

std::string type_name(const Value& v);  // Python's type name: str, int, list, dict, ...
bool truthy(const Value& v);
std::string to_str(const Value& v);  // Python str()
std::string repr(const Value& v);    // Python repr()
std::string float_repr(double d);
bool values_equal(const Value& a, const Value& b);
// Python ordering for < > <= >=; throws TemplateError for mixed types.
int compare_values(const Value& a, const Value& b);

// JSON in: nlohmann's ordered_json keeps key order, as Python's dict does.
Value from_json(const nlohmann::ordered_json& j);

struct JsonStyle {
  int indent = -1;          // < 0: one line
  std::string indent_text;  // when indent is given as a string
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;  // transformers passes False: non-ASCII stays as is
};
// Python json.dumps(value, ensure_ascii=False, ...); throws for Undefined and callables.
std::string to_json(const Value& v, const JsonStyle& style);

}  // namespace forge::jinja
