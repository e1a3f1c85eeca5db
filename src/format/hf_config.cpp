#include "format/hf_config.h"

#include <filesystem>
#include <limits>
#include <type_traits>

#include "format/format_error.h"

namespace forge {
namespace {

// Real configs are a few KB; generous, and still bounded.
constexpr size_t kMaxConfigBytes = 16u << 20;

template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};

template <class T>
std::string expected_name() {
  if constexpr (std::is_same_v<T, bool>)
    return "boolean";
  else if constexpr (std::is_same_v<T, std::string>)
    return "string";
  else if constexpr (std::is_integral_v<T>)
    return "integer";
  else if constexpr (std::is_floating_point_v<T>)
    return "number";
  else
    return "array of " + expected_name<typename T::value_type>();
}

// Converts one JSON value to T, or returns an error text ("has type string,
// expected integer") for the caller to prefix with where the value is.
template <class T>
std::optional<T> convert(const Json& v, std::string& error) {
  auto wrong = [&]() -> std::optional<T> {
    error = "has type " + json_type_name(v) + " (" + v.dump() + "), expected " + expected_name<T>();
    if (error.size() > 200) error = "has type " + json_type_name(v) + ", expected " + expected_name<T>();
    return std::nullopt;
  };
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) return wrong();
    return v.get<bool>();
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) return wrong();
    return v.get<std::string>();
  } else if constexpr (std::is_integral_v<T>) {
    if (v.is_number_unsigned()) {
      uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
        error = "is " + v.dump() + ", out of range";
        return std::nullopt;
      }
      return static_cast<T>(u);
    }
    if (v.is_number_integer()) {
      int64_t s = v.get<int64_t>();
      if (s < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          s > static_cast<int64_t>(std::numeric_limits<T>::max())) {
        error = "is " + v.dump() + ", out of range";
        return std::nullopt;
      }
      return static_cast<T>(s);
    }
    return wrong();
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) return wrong();
    return v.get<T>();
  } else {
    static_assert(IsVector<T>::value, "unsupported config value type");
    if (!v.is_array()) return wrong();
    T out;
    out.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      std::string item_error;
      auto e = convert<typename T::value_type>(v[i], item_error);
      if (!e) {
        error = "item " + std::to_string(i) + " " + item_error;
        return std::nullopt;
      }
      out.push_back(std::move(*e));
    }
    return out;
  }
}

const Json* find_present(const Json& j, std::string_view key) {
  auto it = j.find(std::string(key));
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

HfConfig HfConfig::open(const std::string& path) {
  std::error_code ec;
  std::string file = path;
  if (std::filesystem::is_directory(path, ec)) file = (std::filesystem::path(path) / "config.json").string();
  return parse(read_text_file(file, kMaxConfigBytes), file);
}

HfConfig HfConfig::parse(std::string_view text, std::string name) {
  Json j = parse_json_strictly(text, name);
  if (!j.is_object()) throw FormatError(name + ": is a JSON " + json_type_name(j) + ", expected an object");
  return HfConfig(std::move(j), std::move(name));
}

HfConfig HfConfig::sub(std::string_view key) const {
  const Json* v = find_present(j_, key);
  if (!v) throw FormatError(name_ + ": key '" + std::string(key) + "' is missing");
  if (!v->is_object()) {
    throw FormatError(name_ + ": key '" + std::string(key) + "' has type " + json_type_name(*v) + ", expected object");
  }
  return HfConfig(*v, name_ + ": " + std::string(key));
}

bool HfConfig::has(std::string_view key) const {
  return find_present(j_, key) != nullptr;
}

template <class T>
std::optional<T> HfConfig::get_optional(std::string_view key) const {
  const Json* v = find_present(j_, key);
  if (!v) return std::nullopt;
  std::string error;
  auto r = convert<T>(*v, error);
  if (!r) throw FormatError(name_ + ": key '" + std::string(key) + "' " + error);
  return r;
}

template <class T>
T HfConfig::get(std::string_view key) const {
  auto r = get_optional<T>(key);
  if (!r) throw FormatError(name_ + ": key '" + std::string(key) + "' is missing");
  return std::move(*r);
}

#define FORGE_INSTANTIATE(T)                                                     \
  template T HfConfig::get<T>(std::string_view) const;                           \
  template std::optional<T> HfConfig::get_optional<T>(std::string_view) const;   \
  template std::vector<T> HfConfig::get<std::vector<T>>(std::string_view) const; \
  template std::optional<std::vector<T>> HfConfig::get_optional<std::vector<T>>(std::string_view) const;
FORGE_INSTANTIATE(int64_t)
FORGE_INSTANTIATE(int)
FORGE_INSTANTIATE(double)
FORGE_INSTANTIATE(bool)
FORGE_INSTANTIATE(std::string)
#undef FORGE_INSTANTIATE

std::string HfConfig::architecture() const {
  auto archs = get<std::vector<std::string>>("architectures");
  if (archs.empty()) throw FormatError(name_ + ": key 'architectures' is an empty list");
  return archs.front();
}

RopeParameters HfConfig::rope(std::string_view layer_type) const {
  RopeParameters r;
  if (const Json* rp = find_present(j_, "rope_parameters")) {
    // transformers v5.
    r.where = name_ + ": rope_parameters";
    if (!rp->is_object()) {
      throw FormatError(name_ + ": key 'rope_parameters' has type " + json_type_name(*rp) + ", expected object");
    }
    // One set per layer type when every value is an object.
    bool per_layer_type = !rp->empty();
    std::string types;
    for (const auto& [k, v] : rp->items()) {
      per_layer_type = per_layer_type && v.is_object();
      types += (types.empty() ? "" : ", ") + k;
    }
    if (per_layer_type) {
      if (layer_type.empty()) {
        throw FormatError(name_ + ": 'rope_parameters' holds one set per layer type (" + types +
                          "); the layer type must be named");
      }
      auto it = rp->find(std::string(layer_type));
      if (it == rp->end()) {
        throw FormatError(name_ + ": 'rope_parameters' has no set for layer type '" + std::string(layer_type) +
                          "' (it has " + types + ")");
      }
      r.params = *it;
      r.where += "." + std::string(layer_type);
    } else {
      r.params = *rp;
    }
  } else {
    // transformers v4: theta at the top level, scaling in 'rope_scaling'.
    r.where = name_ + ": rope_scaling";
    r.params = Json::object();
    if (const Json* rs = find_present(j_, "rope_scaling")) {
      if (!rs->is_object()) {
        throw FormatError(name_ + ": key 'rope_scaling' has type " + json_type_name(*rs) + ", expected object");
      }
      r.params = *rs;
      if (!r.params.contains("rope_type") && r.params.contains("type")) r.params["rope_type"] = r.params["type"];
    }
    if (layer_type == "sliding_attention" && has("rope_local_base_freq")) {
      // Gemma 3 (v4): sliding layers use their own base and no scaling.
      r.params = Json{{"rope_type", "default"}, {"rope_theta", get<double>("rope_local_base_freq")}};
    } else if (auto theta = get_optional<double>("rope_theta"); theta && !r.params.contains("rope_theta")) {
      r.params["rope_theta"] = *theta;
    }
    if (has("partial_rotary_factor") && !r.params.contains("partial_rotary_factor")) {
      r.params["partial_rotary_factor"] = get<double>("partial_rotary_factor");
    }
  }
  if (const Json* t = find_present(r.params, "rope_type")) {
    if (!t->is_string()) {
      throw FormatError(r.where + ": key 'rope_type' has type " + json_type_name(*t) + ", expected string");
    }
    r.rope_type = t->get<std::string>();
  }
  r.theta = r.number_optional("rope_theta");
  return r;
}

std::optional<double> RopeParameters::number_optional(std::string_view key) const {
  const Json* v = find_present(params, key);
  if (!v) return std::nullopt;
  std::string error;
  auto r = convert<double>(*v, error);
  if (!r) throw FormatError(where + ": key '" + std::string(key) + "' " + error);
  return r;
}

double RopeParameters::number(std::string_view key) const {
  auto r = number_optional(key);
  if (!r) throw FormatError(where + ": key '" + std::string(key) + "' is missing");
  return *r;
}

}  // namespace forge
