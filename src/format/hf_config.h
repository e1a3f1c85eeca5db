// A Hugging Face config.json: the raw JSON plus typed accessors whose errors
// name the file, the key and what was found ("config.json: key
// 'num_attention_heads' has type string, expected integer"). No model logic:
// which keys an architecture needs is the model layer's business.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/hf_config_json.h"

namespace forge {

// RoPE settings read alike from both layouts transformers writes:
//  - v5: everything under "rope_parameters" ({"rope_type", "rope_theta",
//    "factor", "partial_rotary_factor", ...}), or, for models whose layer
//    types differ (Gemma 3), one such object per layer type
//    ({"full_attention": {...}, "sliding_attention": {...}});
//  - v4: "rope_theta" and "partial_rotary_factor" at the top level and an
//    optional "rope_scaling" object ({"type" or "rope_type", "factor", ...});
//    Gemma 3's "rope_local_base_freq" is the theta of sliding layers.
// Both end up as one flat object in the v5 spelling.
struct RopeParameters {
  std::string rope_type = "default";  // "default", "linear", "dynamic", "yarn", "longrope", "llama3", ...
  std::optional<double> theta;        // absent when the file gives none (the model layer knows the default)
  Json params;                        // all keys, v5 spelling ("factor", "low_freq_factor", ...)
  std::string where;                  // for errors: "config.json: rope_parameters.sliding_attention"

  // A number from `params` (integers accepted); errors name `where` and the key.
  double number(std::string_view key) const;
  std::optional<double> number_optional(std::string_view key) const;
};

class HfConfig {
 public:
  // `path` is config.json or a folder holding it.
  static HfConfig open(const std::string& path);
  // `name` is used in error messages.
  static HfConfig parse(std::string_view text, std::string name);
  // A nested object (e.g. "text_config") as a config of its own, named
  // "<file>: text_config" in errors. Throws if missing or not an object.
  HfConfig sub(std::string_view key) const;

  const std::string& path() const { return name_; }
  const Json& json() const { return j_; }

  // Present and not null. transformers writes null for "unset" (pad_token_id,
  // sliding_window), so the accessors treat null like absence.
  bool has(std::string_view key) const;

  // T: int64_t, int (range-checked), double (integers accepted), bool,
  // std::string, or std::vector of those. Throws FormatError "<file>: key 'k'
  // is missing" or "... has type string, expected integer".
  template <class T>
  T get(std::string_view key) const;
  template <class T>
  std::optional<T> get_optional(std::string_view key) const;
  template <class T>
  T get_or(std::string_view key, T fallback) const {
    auto v = get_optional<T>(key);
    return v ? std::move(*v) : std::move(fallback);
  }

  // The first entry of "architectures" ("LlamaForCausalLM"); throws if absent.
  std::string architecture() const;

  // RoPE settings; `layer_type` ("full_attention", "sliding_attention")
  // selects one set when the file holds one per layer type, and is
  // required then.
  RopeParameters rope(std::string_view layer_type = {}) const;

 private:
  HfConfig(Json j, std::string name) : j_(std::move(j)), name_(std::move(name)) {}

  Json j_;
  std::string name_;
};

}  // namespace forge
