#include "model/metadata_override.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace forge::model {

std::pair<std::string, GgufValue> parse_override_kv(const std::string& arg) {
  auto bad = [&](const std::string& why) -> ModelError {
    return ModelError("--override-kv '" + arg + "': " + why +
                      " (expected KEY=TYPE:VALUE, TYPE one of int, float, bool, str)");
  };
  const size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) throw bad("no KEY=");
  const size_t colon = arg.find(':', eq + 1);
  if (colon == std::string::npos) throw bad("no TYPE:");
  const std::string key = arg.substr(0, eq);
  const std::string type = arg.substr(eq + 1, colon - eq - 1);
  const std::string value = arg.substr(colon + 1);
  if (type == "str") return {key, GgufValue::string(value)};
  if (type == "bool") {
    if (value == "true") return {key, GgufValue(GgufValue::Storage(std::in_place_type<bool>, true))};
    if (value == "false") return {key, GgufValue(GgufValue::Storage(std::in_place_type<bool>, false))};
    throw bad("a bool is true or false");
  }
  if (value.empty()) throw bad("no value");
  char* end = nullptr;
  errno = 0;
  if (type == "int") {
    const long long v = std::strtoll(value.c_str(), &end, 10);
    if (*end != '\0' || errno == ERANGE) throw bad("'" + value + "' is not an integer");
    return {key, GgufValue(GgufValue::Storage(std::in_place_type<int64_t>, v))};
  }
  if (type == "float") {
    const double v = std::strtod(value.c_str(), &end);
    if (*end != '\0' || errno == ERANGE || !std::isfinite(v)) throw bad("'" + value + "' is not a finite number");
    return {key, GgufValue(GgufValue::Storage(std::in_place_type<double>, v))};
  }
  throw bad("unknown TYPE '" + type + "'");
}

MetadataOverrides parse_overrides(std::span<const std::string> args) {
  MetadataOverrides out;
  for (const std::string& a : args) {
    auto [k, v] = parse_override_kv(a);
    out.insert_or_assign(std::move(k), std::move(v));
  }
  return out;
}

}  // namespace forge::model
