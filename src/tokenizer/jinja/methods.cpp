// Python methods templates call on values (str.strip, dict.items, ...) and the
// global functions of transformers' chat-template environment.
#include <algorithm>
#include <array>
#include <string_view>

#include "tokenizer/jinja/builtin_args.h"
#include "tokenizer/jinja/evaluator.h"
#include "tokenizer/jinja/text_utils.h"

namespace forge::jinja {

namespace {

constexpr std::array<std::string_view, 25> kStringMethods = {
    "startswith", "endswith",   "strip",   "lstrip",  "rstrip",  "split",      "rsplit",      "upper",  "lower",
    "title",      "capitalize", "replace", "find",    "rfind",   "count",      "join",        "format", "isdigit",
    "isalpha",    "isalnum",    "isspace", "islower", "isupper", "splitlines", "removeprefix"};
constexpr std::array<std::string_view, 4> kMoreStringMethods = {"removesuffix", "index", "swapcase", "casefold"};
constexpr std::array<std::string_view, 4> kDictMethods = {"items", "keys", "values", "get"};
constexpr std::array<std::string_view, 2> kListMethods = {"index", "count"};
// Methods that would modify a value: transformers renders with jinja2's
// ImmutableSandboxedEnvironment, which refuses them, and so do we.
constexpr std::array<std::string_view, 5> kRefusedDictMethods = {"pop", "popitem", "update", "setdefault", "clear"};
constexpr std::array<std::string_view, 8> kRefusedListMethods = {"append", "extend", "insert",  "pop",
                                                                 "remove", "sort",   "reverse", "clear"};

template <size_t N>
bool contains(const std::array<std::string_view, N>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string python_str_format(Evaluator& ev, const std::string& fmt, const CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}')
        ++i;
      else
        throw TemplateError("str.format: single '}' in format string");
      out.push_back('}');
      continue;
    }
    if (c != '{') {
      out.push_back(c);
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out.push_back('{');
      ++i;
      continue;
    }
    const size_t close = fmt.find('}', i);
    if (close == std::string::npos) throw TemplateError("str.format: single '{' in format string");
    std::string field = fmt.substr(i + 1, close - i - 1);
    i = close;
    bool use_repr = false;
    if (const size_t bang = field.find('!'); bang != std::string::npos) {
      use_repr = field.substr(bang + 1) == "r";
      field = field.substr(0, bang);
    }
    if (field.find(':') != std::string::npos)
      throw TemplateError("str.format: format specs ('{x:...}') are not supported");
    const Value* arg = nullptr;
    if (field.empty()) {
      if (auto_index >= args.positional.size()) throw TemplateError("str.format: not enough arguments");
      arg = &args.positional[auto_index++];
    } else if (std::all_of(field.begin(), field.end(), [](char d) { return d >= '0' && d <= '9'; })) {
      const size_t k = std::stoul(field);
      if (k >= args.positional.size()) throw TemplateError("str.format: argument index out of range");
      arg = &args.positional[k];
    } else {
      for (const auto& [k, v] : args.named)
        if (k == field) arg = &v;
      if (arg == nullptr) throw TemplateError("str.format: no argument named '" + field + "'");
    }
    out += use_repr ? repr(*arg) : to_str(*arg);
    ev.check_string(out.size());
  }
  return out;
}

bool all_codepoints(const std::string& s, bool (*pred)(char32_t)) {
  if (s.empty()) return false;
  for (char32_t cp : decode_utf8(s))
    if (!pred(cp)) return false;
  return true;
}

Value string_method(Evaluator& ev, const std::string& s, const std::string& name, const CallArgs& args) {
  const ArgReader a(args, "str." + name + "()");
  if (name == "startswith" || name == "endswith") {
    const Value& what = a.required(0, "prefix");
    std::vector<std::string> options;
    if (what.is_string())
      options.push_back(what.as_string());
    else if (what.is_array())
      for (const Value& w : what.as_array()) {
        if (!w.is_string()) throw TemplateError("str." + name + "(): tuple items must be strings");
        options.push_back(w.as_string());
      }
    else
      throw TemplateError("str." + name + "(): argument must be a string or tuple of strings, not '" + type_name(what) +
                          "'");
    std::string_view text = s;
    if (a.has(1, "start") || a.has(2, "end")) {
      const std::u32string cps = decode_utf8(s);
      const auto len = static_cast<int64_t>(cps.size());
      auto fix = [&](int64_t x) { return std::clamp<int64_t>(x < 0 ? x + len : x, 0, len); };
      const int64_t start = fix(a.integer(1, "start", 0));
      const int64_t end = fix(a.integer(2, "end", len));
      const std::string sub =
          end > start ? encode_utf8(cps.substr(static_cast<size_t>(start), static_cast<size_t>(end - start))) : "";
      for (const auto& o : options) {
        if (name == "startswith" ? sub.rfind(o, 0) == 0
                                 : (sub.size() >= o.size() && sub.compare(sub.size() - o.size(), o.size(), o) == 0))
          return Value(true);
      }
      return Value(false);
    }
    for (const auto& o : options) {
      if (name == "startswith" ? text.substr(0, o.size()) == o
                               : (text.size() >= o.size() && text.substr(text.size() - o.size()) == o))
        return Value(true);
    }
    return Value(false);
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip")
    return Value(py_strip(s, a.optional_string(0, "chars"), name != "rstrip", name != "lstrip"));
  if (name == "split" || name == "rsplit") {
    auto sep = a.optional_string(0, "sep");
    if (sep && sep->empty()) throw TemplateError("str." + name + "(): empty separator");
    Array parts;
    for (auto& part : py_split(s, sep, a.integer(1, "maxsplit", -1), name == "rsplit"))
      parts.emplace_back(std::move(part));
    ev.check_list(parts.size());
    return make_array(std::move(parts));
  }
  if (name == "splitlines") {
    Array parts;
    for (auto& part : py_splitlines(s)) parts.emplace_back(std::move(part));
    return make_array(std::move(parts));
  }
  if (name == "upper") return Value(py_upper(s));
  if (name == "lower" || name == "casefold") return Value(py_lower(s));
  if (name == "title") return Value(py_title(s));
  if (name == "capitalize") return Value(py_capitalize(s));
  if (name == "swapcase") {
    std::u32string cps = decode_utf8(s);
    for (auto& cp : cps) cp = to_upper_cp(cp) != cp ? to_upper_cp(cp) : to_lower_cp(cp);
    return Value(encode_utf8(cps));
  }
  if (name == "replace") {
    std::string out = py_replace(s, a.string(0, "old"), a.string(1, "new"), a.integer(2, "count", -1));
    ev.check_string(out.size());
    return Value(std::move(out));
  }
  if (name == "find" || name == "rfind" || name == "index") {
    const std::string sub = a.string(0, "sub");
    const size_t hit = name == "rfind" ? s.rfind(sub) : s.find(sub);
    if (hit == std::string::npos) {
      if (name == "index") throw TemplateError("str.index(): substring not found");
      return Value(int64_t{-1});
    }
    return Value(static_cast<int64_t>(codepoint_count(std::string_view(s).substr(0, hit))));
  }
  if (name == "count") {
    const std::string sub = a.string(0, "sub");
    if (sub.empty()) return Value(static_cast<int64_t>(codepoint_count(s) + 1));
    int64_t n = 0;
    for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
    return Value(n);
  }
  if (name == "join") {
    std::string out;
    bool first = true;
    for (const Value& item : ev.iterate(a.required(0, "iterable"))) {
      if (!item.is_string()) throw TemplateError("str.join(): expected str items, found '" + type_name(item) + "'");
      if (!first) out += s;
      first = false;
      out += item.as_string();
      ev.check_string(out.size());
    }
    return Value(std::move(out));
  }
  if (name == "format") return Value(python_str_format(ev, s, args));
  if (name == "removeprefix") {
    const std::string p = a.string(0, "prefix");
    return Value(s.rfind(p, 0) == 0 ? s.substr(p.size()) : s);
  }
  if (name == "removesuffix") {
    const std::string p = a.string(0, "suffix");
    return Value(!p.empty() && s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0
                     ? s.substr(0, s.size() - p.size())
                     : s);
  }
  if (name == "isdigit") return Value(all_codepoints(s, [](char32_t c) { return c >= '0' && c <= '9'; }));
  if (name == "isalpha")
    return Value(all_codepoints(s, [](char32_t c) { return is_alnum_cp(c) && !(c >= '0' && c <= '9'); }));
  if (name == "isalnum") return Value(all_codepoints(s, is_alnum_cp));
  if (name == "isspace") return Value(all_codepoints(s, is_py_space));
  if (name == "islower" || name == "isupper") {
    CallArgs none;
    return Value(ev.apply_test(name == "islower" ? "lower" : "upper", Value(s), none));
  }
  throw TemplateError("str has no method '" + name + "'");
}

}  // namespace

bool has_method(const Value& object, const std::string& name) {
  if (object.is_string()) return contains(kStringMethods, name) || contains(kMoreStringMethods, name);
  if (object.is_dict()) return contains(kDictMethods, name) || contains(kRefusedDictMethods, name);
  if (object.is_array()) return contains(kListMethods, name) || contains(kRefusedListMethods, name);
  return false;
}

Value call_method(Evaluator& ev, const Value& object, const std::string& name, const CallArgs& args) {
  if (object.is_string()) return string_method(ev, object.as_string(), name, args);
  const ArgReader a(args, type_name(object) + "." + name + "()");
  if (object.is_dict()) {
    const Dict& d = object.as_dict();
    if (name == "items") {
      Array pairs;
      for (const auto& [k, v] : d.items) pairs.push_back(make_array({Value(k), v}));
      return make_array(std::move(pairs));
    }
    if (name == "keys") {
      Array keys;
      for (const auto& [k, v] : d.items) keys.emplace_back(k);
      return make_array(std::move(keys));
    }
    if (name == "values") {
      Array values;
      for (const auto& [k, v] : d.items) values.push_back(v);
      return make_array(std::move(values));
    }
    if (name == "get") {
      const Value& key = a.required(0, "key");
      const Value* found = key.is_string() ? d.find(key.as_string()) : nullptr;
      return found ? *found : a.value(1, "default", Value::none());
    }
  }
  if (object.is_array()) {
    const Array& items = object.as_array();
    if (name == "index" || name == "count") {
      const Value& x = a.required(0, "value");
      int64_t n = 0;
      for (size_t i = 0; i < items.size(); ++i) {
        if (!values_equal(items[i], x)) continue;
        if (name == "index") return Value(static_cast<int64_t>(i));
        ++n;
      }
      if (name == "index") throw TemplateError("list.index(): value is not in list");
      return Value(n);
    }
  }
  throw TemplateError(type_name(object) + "." + name +
                      "() would modify a value; templates cannot change lists or dicts (use namespace() to "
                      "carry state)");
}

std::vector<std::string> global_function_names() {
  return {"range", "dict", "namespace", "raise_exception", "strftime_now"};
}

Value call_global(Evaluator& ev, const std::string& name, const CallArgs& args) {
  const ArgReader a(args, name + "()");
  if (name == "raise_exception") {
    throw TemplateError("template raised an error: " + to_str(a.value(0, "message", Value("(no message)"))));
  }
  if (name == "strftime_now") {
    const std::string fmt = a.string(0, "format");
    const std::tm tm = ev.options().clock();
    if (fmt.empty()) return Value("");
    std::string buf(fmt.size() * 8 + 64, '\0');
    const size_t n = std::strftime(buf.data(), buf.size(), fmt.c_str(), &tm);
    if (n == 0) throw TemplateError("strftime_now(): format '" + fmt + "' gives no text or too much");
    buf.resize(n);
    return Value(std::move(buf));
  }
  if (name == "range") {
    for (const Value& p : args.positional)
      if (!p.is_int() && !p.is_bool())
        throw TemplateError("range(): arguments must be integers, not '" + type_name(p) + "'");
    int64_t start = 0, stop = 0, step = 1;
    if (args.positional.size() == 1) {
      stop = args.positional[0].int_like();
    } else if (args.positional.size() == 2 || args.positional.size() == 3) {
      start = args.positional[0].int_like();
      stop = args.positional[1].int_like();
      if (args.positional.size() == 3) step = args.positional[2].int_like();
    } else {
      throw TemplateError("range() takes 1 to 3 integer arguments");
    }
    if (step == 0) throw TemplateError("range() step must not be zero");
    const long double count_ld = step > 0
                                     ? (stop > start ? (static_cast<long double>(stop) - start + step - 1) / step : 0)
                                     : (stop < start ? (static_cast<long double>(start) - stop - step - 1) / -step : 0);
    if (count_ld > static_cast<long double>(ev.options().limits.max_list_items)) ev.check_list(SIZE_MAX);
    const auto count = static_cast<size_t>(count_ld);
    ev.check_list(count);
    Array items;
    items.reserve(count);
    for (size_t k = 0; k < count; ++k) items.emplace_back(start + static_cast<int64_t>(k) * step);
    return make_array(std::move(items));
  }
  if (name == "dict") {
    Dict d;
    if (!args.positional.empty()) {
      if (args.positional.size() > 1 || !args.positional[0].is_dict())
        throw TemplateError("dict() takes a mapping and/or keyword arguments");
      d = args.positional[0].as_dict();
    }
    for (const auto& [k, v] : args.named) d.set(k, v);
    return make_dict(std::move(d));
  }
  if (name == "namespace") {
    NamespacePtr ns = ev.new_namespace();
    if (!args.positional.empty()) {
      if (args.positional.size() > 1 || !args.positional[0].is_dict())
        throw TemplateError("namespace() takes a mapping and/or keyword arguments");
      ns->attrs = args.positional[0].as_dict();
    }
    for (const auto& [k, v] : args.named) ns->attrs.set(k, v);
    return Value(ns);
  }
  throw TemplateError("unknown function '" + name + "'");
}

}  // namespace forge::jinja
