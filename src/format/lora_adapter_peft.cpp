// PEFT LoRA folders: adapter_config.json + adapter_model.safetensors.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "format/hf_config.h"
#include "format/lora_adapter.h"
#include "format/lora_adapter_names.h"
#include "format/safetensors_file.h"

namespace forge {

class PeftAdapterReader {
 public:
  static LoraAdapter read(const std::string& dir);

 private:
  static void read_config(LoraAdapter& a, const HfConfig& c);
  static LoraMatrix matrix(const SafetensorsFile& f, const SafetensorsTensor& t);
};

namespace {

using namespace lora_detail;

constexpr const char* kPeftPrefix = "base_model.model.";
constexpr std::string_view kSuffixA = ".lora_A.weight";
constexpr std::string_view kSuffixB = ".lora_B.weight";

// A config key that, when set to anything but its neutral value, asks for
// something this reader does not do: refused by name rather than ignored.
void refuse_if_set(const HfConfig& c, const char* key, const char* what) {
  if (!c.has(key)) return;
  const Json& v = c.json()[key];
  const bool neutral = (v.is_boolean() && !v.get<bool>()) || (v.is_object() && v.empty()) ||
                       (v.is_array() && v.empty()) || (v.is_string() && v.get<std::string>() == "none");
  if (!neutral) throw FormatError(c.path() + ": '" + key + "' is " + v.dump() + ": " + what + " is not supported");
}

}  // namespace

void PeftAdapterReader::read_config(LoraAdapter& a, const HfConfig& c) {
  if (auto type = c.get_optional<std::string>("peft_type"); type && *type != "LORA") {
    throw FormatError(c.path() + ": peft_type is '" + *type + "', only LORA adapters are supported");
  }
  refuse_if_set(c, "use_dora", "DoRA");
  refuse_if_set(c, "rank_pattern", "a per-module rank");
  refuse_if_set(c, "alpha_pattern", "a per-module alpha");
  refuse_if_set(c, "modules_to_save", "saving whole modules beside the adapter");
  refuse_if_set(c, "bias", "training biases");
  refuse_if_set(c, "lora_bias", "a LoRA bias");

  const int64_t r = c.get<int64_t>("r");
  if (r <= 0) throw FormatError(c.path() + ": key 'r' is " + std::to_string(r) + ", expected a positive rank");
  a.rank_ = r;
  a.alpha_ = c.get<double>("lora_alpha");
  if (!std::isfinite(a.alpha_)) throw FormatError(c.path() + ": key 'lora_alpha' is not a finite number");
  a.use_rslora_ = c.get_or<bool>("use_rslora", false);
  a.fan_in_fan_out_ = c.get_or<bool>("fan_in_fan_out", false);
  a.base_model_ = c.get_or<std::string>("base_model_name_or_path", "");

  // target_modules: a list of module names, or one string that PEFT reads as
  // a pattern ("all-linear" or a regex): then only the tensors say what is
  // adapted, and each is still checked against the known modules.
  if (c.has("target_modules") && !c.json()["target_modules"].is_string()) {
    a.target_modules_ = c.get<std::vector<std::string>>("target_modules");
    for (const auto& m : a.target_modules_) {
      if (!is_known_hf_lora_module(m)) {
        throw FormatError(c.path() + ": target module '" + m +
                          "' is not one Forge can adapt (known: " + known_hf_lora_modules() + ")");
      }
    }
  }
}

LoraMatrix PeftAdapterReader::matrix(const SafetensorsFile& f, const SafetensorsTensor& t) {
  auto type = safetensors_dtype_to_ggml(t.dtype);
  if (!type) {
    throw FormatError(f.path() + ": tensor '" + t.name + "' has dtype " + std::string(t.dtype_name()) +
                      "; LoRA matrices must be F32, F16 or BF16");
  }
  if (t.shape.size() != 2) {
    throw FormatError(f.path() + ": tensor '" + t.name + "' has shape " + t.shape_string() + ", expected 2 dimensions");
  }
  return LoraMatrix{t.name, *type, t.shape[0], t.shape[1], t.data};
}

LoraAdapter PeftAdapterReader::read(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path base = dir.empty() ? fs::path(".") : fs::path(dir);
  LoraAdapter a;
  a.format_ = LoraFormat::Peft;
  a.path_ = dir;
  HfConfig config = HfConfig::open((base / "adapter_config.json").string());
  read_config(a, config);

  a.safetensors_ =
      std::make_unique<SafetensorsFile>(SafetensorsFile::open((base / "adapter_model.safetensors").string()));
  const SafetensorsFile& f = *a.safetensors_;
  const double scale =
      a.use_rslora_ ? a.alpha_ / std::sqrt(static_cast<double>(*a.rank_)) : a.alpha_ / static_cast<double>(*a.rank_);

  // Module path -> (A, B), in order of first appearance.
  std::vector<std::string> order;
  std::map<std::string, std::pair<const SafetensorsTensor*, const SafetensorsTensor*>> found;
  for (const auto& t : f.tensors()) {
    std::string_view n = t.name;
    const bool is_a = ends_with(n, kSuffixA), is_b = ends_with(n, kSuffixB);
    if (!is_a && !is_b) {
      throw FormatError(f.path() + ": tensor '" + t.name +
                        "' is not a LoRA matrix (expected names ending in .lora_A.weight or .lora_B.weight)");
    }
    n.remove_suffix(kSuffixA.size());  // both suffixes have the same length
    if (n.rfind(kPeftPrefix, 0) == 0) n.remove_prefix(std::string_view(kPeftPrefix).size());
    auto [it, added] = found.try_emplace(std::string(n));
    if (added) order.push_back(it->first);
    (is_a ? it->second.first : it->second.second) = &t;
  }
  if (order.empty()) throw FormatError(f.path() + ": holds no LoRA tensors");

  for (const auto& path : order) {
    const auto [ta, tb] = found[path];
    if (!ta || !tb) {
      const SafetensorsTensor* have = ta ? ta : tb;
      throw FormatError(f.path() + ": tensor '" + have->name + "' has no partner '" + path +
                        (ta ? std::string(kSuffixB) : std::string(kSuffixA)) + "'");
    }
    LoraPair p;
    p.target = path + ".weight";
    p.module = last_component(path);
    p.layer = layer_index(path, "layers.");
    if (!is_known_hf_lora_module(p.module)) {
      throw FormatError(f.path() + ": tensor '" + ta->name + "' adapts module '" + p.module +
                        "', which Forge cannot adapt (known: " + known_hf_lora_modules() + ")");
    }
    if (!a.target_modules_.empty() &&
        std::find(a.target_modules_.begin(), a.target_modules_.end(), p.module) == a.target_modules_.end()) {
      throw FormatError(f.path() + ": tensor '" + ta->name + "' adapts module '" + p.module +
                        "', which adapter_config.json's target_modules does not list");
    }
    p.a = matrix(f, *ta);
    p.b = matrix(f, *tb);
    p.rank = *a.rank_;
    p.scale = scale;
    check_pair_shapes(f.path(), p, a.rank_);
    a.pairs_.push_back(std::move(p));
  }
  return a;
}

LoraAdapter LoraAdapter::open_peft(const std::string& dir) {
  return PeftAdapterReader::read(dir);
}

}  // namespace forge
