#include "tokenizer/jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "tokenizer/jinja/template_error.h"
#include "tokenizer/jinja/text_utils.h"

namespace forge::jinja {

double Value::number() const {
  if (is_float()) return as_float();
  return static_cast<double>(int_like());
}

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void Dict::set(const std::string& key, Value value) {
  for (auto& [k, v] : items) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(key, std::move(value));
}

const Value* CallArgs::get(size_t index, std::string_view name) const {
  if (index < positional.size()) return &positional[index];
  for (const auto& [k, v] : named)
    if (k == name) return &v;
  return nullptr;
}

int nesting_of(const Value& v) {
  if (v.is_array()) return v.array_ptr()->depth;
  if (v.is_dict()) return v.as_dict().depth;
  return 0;  // namespaces count as leaves: they are never walked recursively
}

Value make_array(Array items) {
  int depth = 1;
  for (const auto& item : items) depth = std::max(depth, 1 + nesting_of(item));
  if (depth > kMaxNesting)
    throw TemplateError("lists and dicts nested deeper than " + std::to_string(kMaxNesting) +
                        " levels are not supported");
  auto list = std::make_shared<List>();
  list->items = std::move(items);
  list->depth = depth;
  return Value(ArrayPtr(std::move(list)));
}

Value make_dict(Dict dict) {
  int depth = 1;
  for (const auto& [k, v] : dict.items) depth = std::max(depth, 1 + nesting_of(v));
  if (depth > kMaxNesting)
    throw TemplateError("lists and dicts nested deeper than " + std::to_string(kMaxNesting) +
                        " levels are not supported");
  dict.depth = depth;
  return Value(DictPtr(std::make_shared<Dict>(std::move(dict))));
}

std::string type_name(const Value& v) {
  if (v.is_undefined()) return "Undefined";
  if (v.is_none()) return "NoneType";
  if (v.is_bool()) return "bool";
  if (v.is_int()) return "int";
  if (v.is_float()) return "float";
  if (v.is_string()) return "str";
  if (v.is_array()) return "list";
  if (v.is_dict()) return "dict";
  if (v.is_namespace()) return "Namespace";
  return "function";
}

bool truthy(const Value& v) {
  if (v.is_undefined() || v.is_none()) return false;
  if (v.is_bool()) return v.as_bool();
  if (v.is_int()) return v.as_int() != 0;
  if (v.is_float()) return v.as_float() != 0.0;
  if (v.is_string()) return !v.as_string().empty();
  if (v.is_array()) return !v.as_array().empty();
  if (v.is_dict()) return !v.as_dict().items.empty();
  return true;
}

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  if (d == 0.0) return std::signbit(d) ? "-0.0" : "0.0";
  // Shortest round-trip digits, laid out the way Python's repr() does:
  // positional notation for exponents in [-5, 16), scientific otherwise.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  const bool negative = sci[0] == '-';
  if (negative) sci.erase(0, 1);
  const size_t e_pos = sci.find('e');
  std::string mantissa = sci.substr(0, e_pos);
  const int exponent = std::stoi(sci.substr(e_pos + 1));
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits.push_back(c);
  std::string out;
  if (exponent < -4 || exponent >= 16) {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp_buf[16];
    std::snprintf(exp_buf, sizeof exp_buf, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    out += exp_buf;
  } else if (exponent < 0) {
    out = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  } else {
    const size_t int_digits = static_cast<size_t>(exponent) + 1;
    if (digits.size() <= int_digits) {
      out = digits + std::string(int_digits - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, int_digits) + "." + digits.substr(int_digits);
    }
  }
  return negative ? "-" + out : out;
}

namespace {

std::string string_repr(const std::string& s) {
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  for (char32_t cp : decode_utf8(s)) {
    if (cp == static_cast<char32_t>(quote) || cp == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(cp));
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0xA0) || (cp >= 0xDC80 && cp <= 0xDCFF)) {
      char buf[16];
      if (cp >= 0xDC80)
        std::snprintf(buf, sizeof buf, "\\udc%02x", static_cast<unsigned>(cp - 0xDC00));
      else
        std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(cp));
      out += buf;
    } else {
      append_utf8(out, cp);
    }
  }
  out.push_back(quote);
  return out;
}

}  // namespace

std::string repr(const Value& v) {
  if (v.is_string()) return string_repr(v.as_string());
  if (v.is_undefined()) return "Undefined";
  return to_str(v);
}

std::string to_str(const Value& v) {
  if (v.is_undefined()) return "";
  if (v.is_none()) return "None";
  if (v.is_bool()) return v.as_bool() ? "True" : "False";
  if (v.is_int()) return std::to_string(v.as_int());
  if (v.is_float()) return float_repr(v.as_float());
  if (v.is_string()) return v.as_string();
  if (v.is_array()) {
    std::string out = "[";
    bool first = true;
    for (const auto& item : v.as_array()) {
      if (!first) out += ", ";
      first = false;
      out += repr(item);
    }
    return out + "]";
  }
  if (v.is_dict()) {
    std::string out = "{";
    bool first = true;
    for (const auto& [k, item] : v.as_dict().items) {
      if (!first) out += ", ";
      first = false;
      out += string_repr(k) + ": " + repr(item);
    }
    return out + "}";
  }
  if (v.is_namespace()) return "<Namespace>";
  return "<function " + v.as_function().name + ">";
}

bool values_equal(const Value& a, const Value& b) {
  if (a.is_undefined() || b.is_undefined()) return a.is_undefined() && b.is_undefined();
  if (a.is_none() || b.is_none()) return a.is_none() && b.is_none();
  if (a.is_number() && b.is_number()) {
    if (!a.is_float() && !b.is_float()) return a.int_like() == b.int_like();
    return a.number() == b.number();
  }
  if (a.is_string() && b.is_string()) return a.as_string() == b.as_string();
  if (a.is_array() && b.is_array()) {
    const auto& x = a.as_array();
    const auto& y = b.as_array();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (!values_equal(x[i], y[i])) return false;
    return true;
  }
  if (a.is_dict() && b.is_dict()) {
    const auto& x = a.as_dict().items;
    const auto& y = b.as_dict();
    if (x.size() != y.items.size()) return false;
    for (const auto& [k, item] : x) {
      const Value* other = y.find(k);
      if (other == nullptr || !values_equal(item, *other)) return false;
    }
    return true;
  }
  if (a.is_namespace() && b.is_namespace()) return a.as_namespace() == b.as_namespace();
  if (a.is_function() && b.is_function()) return &a.as_function() == &b.as_function();
  return false;
}

int compare_values(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (!a.is_float() && !b.is_float()) {
      const int64_t x = a.int_like(), y = b.int_like();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    const double x = a.number(), y = b.number();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_array() && b.is_array()) {
    const auto& x = a.as_array();
    const auto& y = b.as_array();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (values_equal(x[i], y[i])) continue;
      return compare_values(x[i], y[i]);
    }
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  if (a.is_undefined()) throw TemplateError(a.as_undefined().hint);
  if (b.is_undefined()) throw TemplateError(b.as_undefined().hint);
  throw TemplateError("cannot compare '" + type_name(a) + "' with '" + type_name(b) + "'");
}

namespace {

Value from_json_at(const nlohmann::ordered_json& j, int depth) {
  if (depth > kMaxNesting)
    throw TemplateError("input JSON nested deeper than " + std::to_string(kMaxNesting) + " levels");
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
      return Value::none();
    case nlohmann::ordered_json::value_t::boolean:
      return Value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return Value(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const auto u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<double>(u));
      return Value(static_cast<int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float:
      return Value(j.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return Value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      Array items;
      items.reserve(j.size());
      for (const auto& item : j) items.push_back(from_json_at(item, depth + 1));
      return make_array(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Dict dict;
      dict.items.reserve(j.size());
      for (const auto& [k, item] : j.items()) dict.set(k, from_json_at(item, depth + 1));
      return make_dict(std::move(dict));
    }
    default:
      throw TemplateError("input JSON holds a value type templates cannot use (binary)");
  }
}

void json_string(std::string& out, std::string_view s, bool ensure_ascii) {
  out.push_back('"');
  for (char32_t cp : decode_utf8(s)) {
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (cp < 0x20 || (cp >= 0xDC80 && cp <= 0xDCFF) || (ensure_ascii && cp > 0x7F)) {
          char buf[16];
          if (cp >= 0x10000) {
            const char32_t v = cp - 0x10000;
            std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 + (v >> 10)),
                          static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
          } else {
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
          }
          out += buf;
        } else {
          append_utf8(out, cp);
        }
    }
  }
  out.push_back('"');
}

void json_value(std::string& out, const Value& v, const JsonStyle& style, int level) {
  auto newline = [&](int at) {
    if (style.indent < 0) return;
    out.push_back('\n');
    for (int i = 0; i < at; ++i) out += style.indent_text;
  };
  if (v.is_none()) {
    out += "null";
  } else if (v.is_bool()) {
    out += v.as_bool() ? "true" : "false";
  } else if (v.is_int()) {
    out += std::to_string(v.as_int());
  } else if (v.is_float()) {
    const double d = v.as_float();
    if (std::isnan(d))
      out += "NaN";
    else if (std::isinf(d))
      out += d < 0 ? "-Infinity" : "Infinity";
    else
      out += float_repr(d);
  } else if (v.is_string()) {
    json_string(out, v.as_string(), style.ensure_ascii);
  } else if (v.is_array()) {
    const auto& items = v.as_array();
    if (items.empty()) {
      out += "[]";
      return;
    }
    out.push_back('[');
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out += style.item_separator;
      newline(level + 1);
      json_value(out, items[i], style, level + 1);
    }
    newline(level);
    out.push_back(']');
  } else if (v.is_dict()) {
    std::vector<const std::pair<std::string, Value>*> entries;
    for (const auto& entry : v.as_dict().items) entries.push_back(&entry);
    if (entries.empty()) {
      out += "{}";
      return;
    }
    if (style.sort_keys)
      std::stable_sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return a->first < b->first; });
    out.push_back('{');
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i > 0) out += style.item_separator;
      newline(level + 1);
      json_string(out, entries[i]->first, style.ensure_ascii);
      out += style.key_separator;
      json_value(out, entries[i]->second, style, level + 1);
    }
    newline(level);
    out.push_back('}');
  } else if (v.is_undefined()) {
    throw TemplateError("tojson: " +
                        (v.as_undefined().hint.empty() ? std::string("value is undefined") : v.as_undefined().hint));
  } else {
    throw TemplateError("tojson: object of type " + type_name(v) + " is not JSON serializable");
  }
}

}  // namespace

Value from_json(const nlohmann::ordered_json& j) {
  return from_json_at(j, 0);
}

std::string to_json(const Value& v, const JsonStyle& style) {
  std::string out;
  json_value(out, v, style, 0);
  return out;
}

}  // namespace forge::jinja
