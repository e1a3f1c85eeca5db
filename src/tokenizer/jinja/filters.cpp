// The filters (`value | name(args)`) real chat templates use, with jinja2's
// behaviour. Anything else is a clear "unknown filter" error.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "tokenizer/jinja/builtin_args.h"
#include "tokenizer/jinja/evaluator.h"
#include "tokenizer/jinja/text_utils.h"

namespace forge::jinja {

namespace {

size_t py_len(const Value& v) {
  if (v.is_string()) return codepoint_count(v.as_string());
  if (v.is_array()) return v.as_array().size();
  if (v.is_dict()) return v.as_dict().items.size();
  if (v.is_undefined()) return 0;
  throw TemplateError("object of type '" + type_name(v) + "' has no len()");
}

// "a.b.0" attribute paths as jinja2's make_attrgetter reads them.
Value attribute_path(Evaluator& ev, const Value& item, const std::string& path) {
  Value current = item;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool numeric =
        !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    current = numeric ? ev.get_item(current, Value(static_cast<int64_t>(std::stoll(part))))
                      : ev.get_item(current, Value(part));
    if (dot == std::string::npos) return current;
    start = dot + 1;
  }
}

Value lowered_for_compare(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value(py_lower(v.as_string()));
  return v;
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// Python's float(str): surrounding whitespace allowed, underscores between digits.
std::optional<double> parse_float(std::string text) {
  text = py_strip(text, std::nullopt, true, true);
  std::string clean;
  for (char c : text)
    if (c != '_') clean.push_back(c);
  if (clean.empty()) return std::nullopt;
  char* end = nullptr;
  const double d = std::strtod(clean.c_str(), &end);
  if (end != clean.c_str() + clean.size()) return std::nullopt;
  return d;
}

std::optional<int64_t> parse_int(std::string text, int base) {
  text = py_strip(text, std::nullopt, true, true);
  std::string clean;
  for (char c : text)
    if (c != '_') clean.push_back(c);
  if (clean.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(clean.c_str(), &end, base);
  if (end != clean.c_str() + clean.size() || errno == ERANGE) return std::nullopt;
  return static_cast<int64_t>(v);
}

// Python's "%" string formatting, for the `format` filter and `str % x`.
std::string percent_format(const std::string& fmt, const CallArgs& args) {
  std::string out;
  size_t next_arg = 0;
  const Dict* mapping =
      args.positional.size() == 1 && args.positional[0].is_dict() ? &args.positional[0].as_dict() : nullptr;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out.push_back(fmt[i]);
      continue;
    }
    if (++i >= fmt.size()) throw TemplateError("format: incomplete format at end of string");
    if (fmt[i] == '%') {
      out.push_back('%');
      continue;
    }
    const Value* arg = nullptr;
    if (fmt[i] == '(') {
      const size_t close = fmt.find(')', i);
      if (close == std::string::npos || mapping == nullptr) throw TemplateError("format: '%(name)' needs a mapping");
      arg = mapping->find(fmt.substr(i + 1, close - i - 1));
      if (arg == nullptr) throw TemplateError("format: key '" + fmt.substr(i + 1, close - i - 1) + "' not found");
      i = close + 1;
    }
    std::string spec = "%";
    while (i < fmt.size() && std::string_view("-+ #0123456789.").find(fmt[i]) != std::string_view::npos)
      spec.push_back(fmt[i++]);
    if (i >= fmt.size()) throw TemplateError("format: incomplete format");
    const char conv = fmt[i];
    if (arg == nullptr) {
      if (next_arg >= args.positional.size()) throw TemplateError("format: not enough arguments for format string");
      arg = &args.positional[next_arg++];
    }
    char buf[512];
    switch (conv) {
      case 's':
      case 'r': {
        const std::string s = conv == 's' ? to_str(*arg) : repr(*arg);
        if (spec == "%") {
          out += s;
        } else {
          std::snprintf(buf, sizeof buf, (spec + "s").c_str(), s.c_str());
          out += buf;
        }
        break;
      }
      case 'd':
      case 'i':
      case 'x':
      case 'X':
      case 'o': {
        if (!arg->is_number())
          throw TemplateError("format: %" + std::string(1, conv) + " needs a number, not '" + type_name(*arg) + "'");
        const long long v = arg->is_float() ? static_cast<long long>(arg->as_float()) : arg->int_like();
        std::snprintf(buf, sizeof buf, (spec + "ll" + (conv == 'i' ? 'd' : conv)).c_str(), v);
        out += buf;
        break;
      }
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G': {
        if (!arg->is_number())
          throw TemplateError("format: %" + std::string(1, conv) + " needs a number, not '" + type_name(*arg) + "'");
        std::snprintf(buf, sizeof buf, (spec + conv).c_str(), arg->number());
        out += buf;
        break;
      }
      default:
        throw TemplateError(std::string("format: unsupported conversion '%") + conv + "'");
    }
  }
  return out;
}

std::string jinja_title(const std::string& s) {
  // jinja2's title filter: words start after runs of '-', whitespace, '(', '{', '[', '<'.
  std::u32string cps = decode_utf8(s);
  bool word_start = true;
  for (auto& cp : cps) {
    const bool separator = cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<' || is_py_space(cp);
    if (separator) {
      word_start = true;
      continue;
    }
    cp = word_start ? to_upper_cp(cp) : to_lower_cp(cp);
    word_start = false;
  }
  return encode_utf8(cps);
}

std::string indent_text(const std::string& text, const std::string& indention, bool first, bool blank) {
  std::vector<std::string> lines = py_splitlines(text + "\n");
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i > 0) rv += "\n" + indention;
      rv += lines[i];
    }
  } else {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i == 0) {
        rv = lines[0];
        continue;
      }
      rv += "\n";
      if (!lines[i].empty()) rv += indention;
      rv += lines[i];
    }
  }
  if (first) rv = indention + rv;
  return rv;
}

}  // namespace

std::string python_percent_format(const std::string& fmt, const CallArgs& args) {
  return percent_format(fmt, args);
}

Value Evaluator::apply_filter(const std::string& name, const Value& v, const CallArgs& args) {
  const ArgReader a(args, "filter '" + name + "'");
  auto need_string = [&]() -> std::string {
    if (v.is_undefined()) return "";
    return to_str(v);
  };

  if (name == "safe" || name == "forceescape") return v;
  if (name == "string") return Value(to_str(v));
  if (name == "trim") return Value(py_strip(need_string(), a.optional_string(0, "chars"), true, true));
  if (name == "upper") return Value(py_upper(need_string()));
  if (name == "lower") return Value(py_lower(need_string()));
  if (name == "capitalize") return Value(py_capitalize(need_string()));
  if (name == "title") return Value(jinja_title(need_string()));
  if (name == "escape" || name == "e") return Value(html_escape(need_string()));
  if (name == "length" || name == "count") return Value(static_cast<int64_t>(py_len(v)));
  if (name == "default" || name == "d") {
    const bool boolean = a.boolean(1, "boolean", false);
    if (v.is_undefined() || (boolean && !truthy(v))) return a.value(0, "default_value", Value(""));
    return v;
  }
  if (name == "tojson") {
    JsonStyle style;
    style.ensure_ascii = a.boolean(0, "ensure_ascii", false);
    if (const Value* indent = a.get(1, "indent"); indent != nullptr && !indent->is_none()) {
      if (indent->is_string()) {
        style.indent_text = indent->as_string();
      } else {
        const int64_t n = a.integer(1, "indent", 0);
        style.indent_text = std::string(static_cast<size_t>(std::clamp<int64_t>(n, 0, 64)), ' ');
      }
      style.indent = 1;
      style.item_separator = ",";
    }
    if (const Value* seps = a.get(2, "separators"); seps != nullptr && !seps->is_none()) {
      if (!seps->is_array() || seps->as_array().size() != 2 || !seps->as_array()[0].is_string() ||
          !seps->as_array()[1].is_string())
        throw TemplateError("filter 'tojson': separators must be a pair of strings");
      style.item_separator = seps->as_array()[0].as_string();
      style.key_separator = seps->as_array()[1].as_string();
    }
    style.sort_keys = a.boolean(3, "sort_keys", false);
    std::string json = to_json(v, style);
    check_string(json.size());
    return Value(std::move(json));
  }
  if (name == "replace") {
    const std::string s = need_string();
    const Value& old_v = a.required(0, "old");
    const Value& new_v = a.required(1, "new");
    std::string out = py_replace(s, to_str(old_v), to_str(new_v), a.integer(2, "count", -1));
    check_string(out.size());
    return Value(std::move(out));
  }
  if (name == "indent") {
    std::string indention;
    const Value width = a.value(0, "width", Value(4));
    if (width.is_string())
      indention = width.as_string();
    else
      indention = std::string(static_cast<size_t>(std::clamp<int64_t>(to_index(width, "indent width"), 0, 1024)), ' ');
    std::string out = indent_text(need_string(), indention, a.boolean(1, "first", false), a.boolean(2, "blank", false));
    check_string(out.size());
    return Value(std::move(out));
  }
  if (name == "format") return Value(percent_format(need_string(), args));
  if (name == "wordcount") {
    int64_t words = 0;
    bool in_word = false;
    for (char32_t cp : decode_utf8(need_string())) {
      const bool w = is_alnum_cp(cp) || cp == '_';
      if (w && !in_word) ++words;
      in_word = w;
    }
    return Value(words);
  }
  if (name == "abs") {
    if (v.is_float()) return Value(std::fabs(v.as_float()));
    if (v.is_int() || v.is_bool()) {
      if (v.int_like() == INT64_MIN) throw TemplateError("integer overflow");
      return Value(v.int_like() < 0 ? -v.int_like() : v.int_like());
    }
    if (v.is_undefined()) fail_undefined(v);
    throw TemplateError("bad operand type for abs(): '" + type_name(v) + "'");
  }
  if (name == "int") {
    const Value fallback = a.value(0, "default", Value(0));
    const int base = static_cast<int>(a.integer(1, "base", 10));
    if (v.is_int()) return v;
    if (v.is_bool()) return Value(v.int_like());
    if (v.is_float()) {
      if (!std::isfinite(v.as_float()) || std::fabs(v.as_float()) >= 9.2e18) return fallback;
      return Value(static_cast<int64_t>(v.as_float()));
    }
    if (v.is_string()) {
      if (auto i = parse_int(v.as_string(), base)) return Value(*i);
      if (auto d = parse_float(v.as_string()); d && std::isfinite(*d) && std::fabs(*d) < 9.2e18)
        return Value(static_cast<int64_t>(*d));
      return fallback;
    }
    if (v.is_undefined()) fail_undefined(v);
    return fallback;
  }
  if (name == "float") {
    const Value fallback = a.value(0, "default", Value(0.0));
    if (v.is_number()) return Value(v.number());
    if (v.is_string()) {
      if (auto d = parse_float(v.as_string())) return Value(*d);
      return fallback;
    }
    if (v.is_undefined()) fail_undefined(v);
    return fallback;
  }
  if (name == "round") {
    const int64_t precision = a.integer(0, "precision", 0);
    const std::string method = a.string(1, "method", "common");
    if (!v.is_number()) {
      if (v.is_undefined()) fail_undefined(v);
      throw TemplateError("filter 'round' needs a number, not '" + type_name(v) + "'");
    }
    const double scale = std::pow(10.0, static_cast<double>(precision));
    const double x = v.number() * scale;
    double r = 0;
    if (method == "common")
      r = std::nearbyint(x);  // Python's round(): half to even
    else if (method == "ceil")
      r = std::ceil(x);
    else if (method == "floor")
      r = std::floor(x);
    else
      throw TemplateError("filter 'round': method must be common, ceil or floor");
    return Value(r / scale);
  }
  if (name == "items") {
    if (v.is_undefined()) return make_array({});
    if (!v.is_dict()) throw TemplateError("filter 'items' needs a mapping, not '" + type_name(v) + "'");
    Array pairs;
    for (const auto& [k, item] : v.as_dict().items) pairs.push_back(make_array({Value(k), item}));
    return make_array(std::move(pairs));
  }
  if (name == "list") return make_array(iterate(v));
  if (name == "first") {
    if (v.is_undefined()) return Value::undefined("filter 'first' of an undefined value");
    Array items = iterate(v);
    if (items.empty()) return Value::undefined("filter 'first' of an empty sequence");
    return items.front();
  }
  if (name == "last") {
    if (v.is_undefined()) fail_undefined(v);
    Array items = iterate(v);
    if (items.empty()) return Value::undefined("filter 'last' of an empty sequence");
    return items.back();
  }
  if (name == "reverse") {
    if (v.is_string()) {
      std::u32string cps = decode_utf8(v.as_string());
      std::reverse(cps.begin(), cps.end());
      return Value(encode_utf8(cps));
    }
    Array items = iterate(v);
    std::reverse(items.begin(), items.end());
    return make_array(std::move(items));
  }
  if (name == "join") {
    const std::string sep = a.string(0, "d", "");
    const auto attribute = a.optional_string(1, "attribute");
    std::string out;
    bool first = true;
    for (const Value& item : iterate(v)) {
      if (!first) out += sep;
      first = false;
      out += to_str(attribute ? attribute_path(*this, item, *attribute) : item);
      check_string(out.size());
    }
    return Value(std::move(out));
  }
  if (name == "unique" || name == "sort" || name == "min" || name == "max" || name == "dictsort") {
    const bool dictsort = name == "dictsort";
    const bool case_sensitive = a.boolean(dictsort ? 0 : (name == "sort" ? 1 : 0), "case_sensitive", false);
    const auto attribute = dictsort ? std::nullopt : a.optional_string(name == "sort" ? 2 : 1, "attribute");
    Array items;
    if (dictsort) {
      if (!v.is_dict()) throw TemplateError("filter 'dictsort' needs a mapping, not '" + type_name(v) + "'");
      for (const auto& [k, item] : v.as_dict().items) items.push_back(make_array({Value(k), item}));
    } else {
      items = iterate(v);
    }
    auto key = [&](const Value& item) {
      if (dictsort) {
        const bool by_value = a.string(1, "by", "key") == "value";
        return lowered_for_compare(item.as_array()[by_value ? 1 : 0], case_sensitive);
      }
      return lowered_for_compare(attribute ? attribute_path(*this, item, *attribute) : item, case_sensitive);
    };
    if (name == "unique") {
      Array out;
      std::vector<Value> seen;
      for (const Value& item : items) {
        const Value k = key(item);
        if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return values_equal(s, k); })) {
          seen.push_back(k);
          out.push_back(item);
        }
      }
      return make_array(std::move(out));
    }
    if (name == "min" || name == "max") {
      if (items.empty()) return Value::undefined("filter '" + name + "' of an empty sequence");
      size_t best = 0;
      for (size_t i = 1; i < items.size(); ++i) {
        const int c = compare_values(key(items[i]), key(items[best]));
        if ((name == "min" && c < 0) || (name == "max" && c > 0)) best = i;
      }
      return items[best];
    }
    const bool reverse = a.boolean(dictsort ? 2 : 0, "reverse", false);
    std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
      const int c = compare_values(key(x), key(y));
      return reverse ? c > 0 : c < 0;
    });
    return make_array(std::move(items));
  }
  if (name == "sum") {
    const auto attribute = a.optional_string(0, "attribute");
    Value total = a.value(1, "start", Value(0));
    for (const Value& item : iterate(v)) {
      const Value x = attribute ? attribute_path(*this, item, *attribute) : item;
      if (!total.is_number() || !x.is_number()) throw TemplateError("filter 'sum' needs numbers");
      if (total.is_float() || x.is_float())
        total = Value(total.number() + x.number());
      else {
        int64_t r = 0;
        if (__builtin_add_overflow(total.int_like(), x.int_like(), &r)) throw TemplateError("integer overflow");
        total = Value(r);
      }
    }
    return total;
  }
  if (name == "map") {
    Array out;
    if (const Value* attr = a.get(SIZE_MAX, "attribute"); attr != nullptr) {
      const Value* fallback = a.get(SIZE_MAX, "default");
      for (const Value& item : iterate(v)) {
        Value x = attribute_path(*this, item, to_str(*attr));
        if (x.is_undefined() && fallback != nullptr) x = *fallback;
        out.push_back(std::move(x));
      }
      return make_array(std::move(out));
    }
    if (args.positional.empty() || !args.positional[0].is_string())
      throw TemplateError("filter 'map' needs a filter name or attribute=");
    CallArgs rest;
    rest.positional.assign(args.positional.begin() + 1, args.positional.end());
    rest.named = args.named;
    for (const Value& item : iterate(v)) out.push_back(apply_filter(args.positional[0].as_string(), item, rest));
    return make_array(std::move(out));
  }
  if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr") {
    const bool by_attr = name == "selectattr" || name == "rejectattr";
    const bool keep_if = name == "select" || name == "selectattr";
    size_t next = 0;
    std::string attribute;
    if (by_attr) {
      if (args.positional.empty() || !args.positional[0].is_string())
        throw TemplateError("filter '" + name + "' needs an attribute name");
      attribute = args.positional[0].as_string();
      next = 1;
    }
    std::optional<std::string> test;
    if (next < args.positional.size()) {
      if (!args.positional[next].is_string())
        throw TemplateError("filter '" + name + "': the test name must be a string");
      test = args.positional[next].as_string();
      ++next;
    }
    CallArgs test_args;
    test_args.positional.assign(args.positional.begin() + static_cast<long>(std::min(next, args.positional.size())),
                                args.positional.end());
    test_args.named = args.named;
    Array out;
    for (const Value& item : iterate(v)) {
      const Value x = by_attr ? attribute_path(*this, item, attribute) : item;
      const bool passed = test ? apply_test(*test, x, test_args) : truthy(x);
      if (passed == keep_if) out.push_back(item);
    }
    return make_array(std::move(out));
  }
  if (name == "attr") return get_attribute(v, a.string(0, "name"));
  throw TemplateError("unknown filter '" + name + "' (not supported by this template engine)");
}

bool Evaluator::apply_test(const std::string& name, const Value& v, const CallArgs& args) {
  const ArgReader a(args, "test '" + name + "'");
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  // jinja2's Undefined has __iter__, __len__ and __getitem__: it passes these.
  if (name == "iterable" || name == "sequence") return v.is_array() || v.is_dict() || v.is_string() || v.is_undefined();
  if (name == "callable") return v.is_function() || v.is_undefined();
  if (name == "escaped") return false;
  if (name == "sameas") {
    const Value& other = a.required(0, "other");
    if (v.is_none() || v.is_bool() || v.is_undefined())
      return values_equal(v, other) && type_name(v) == type_name(other);
    if (v.is_namespace() && other.is_namespace()) return v.as_namespace() == other.as_namespace();
    return false;
  }
  if (name == "eq" || name == "equalto" || name == "==") return values_equal(v, a.required(0, "b"));
  if (name == "ne" || name == "!=") return !values_equal(v, a.required(0, "b"));
  if (name == "lt" || name == "lessthan" || name == "<") return compare_values(v, a.required(0, "b")) < 0;
  if (name == "le" || name == "<=") return compare_values(v, a.required(0, "b")) <= 0;
  if (name == "gt" || name == "greaterthan" || name == ">") return compare_values(v, a.required(0, "b")) > 0;
  if (name == "ge" || name == ">=") return compare_values(v, a.required(0, "b")) >= 0;
  if (name == "in") {
    const Value& container = a.required(0, "seq");
    if (container.is_string()) {
      if (!v.is_string())
        throw TemplateError("'in <string>' requires a string as left operand, not '" + type_name(v) + "'");
      return container.as_string().find(v.as_string()) != std::string::npos;
    }
    if (container.is_array()) {
      for (const Value& item : container.as_array())
        if (values_equal(item, v)) return true;
      return false;
    }
    if (container.is_dict()) return v.is_string() && container.as_dict().find(v.as_string()) != nullptr;
    if (container.is_undefined()) return false;
    throw TemplateError("argument of type '" + type_name(container) + "' is not iterable");
  }
  if (name == "odd" || name == "even" || name == "divisibleby") {
    if (v.is_undefined()) fail_undefined(v);
    if (!v.is_int() && !v.is_bool())
      throw TemplateError("test '" + name + "' needs an integer, not '" + type_name(v) + "'");
    if (name == "odd") return v.int_like() % 2 != 0;
    if (name == "even") return v.int_like() % 2 == 0;
    const int64_t d = a.integer(0, "num", 0);
    if (d == 0) throw TemplateError("test 'divisibleby': division by zero");
    return d == -1 || v.int_like() % d == 0;
  }
  if (name == "lower" || name == "upper") {
    if (!v.is_string()) return false;
    bool cased = false;
    for (char32_t cp : decode_utf8(v.as_string())) {
      if (!is_cased_letter(cp)) continue;
      cased = true;
      if (name == "lower" ? to_lower_cp(cp) != cp : to_upper_cp(cp) != cp) return false;
    }
    return cased;
  }
  throw TemplateError("unknown test '" + name + "' (not supported by this template engine)");
}

}  // namespace forge::jinja
