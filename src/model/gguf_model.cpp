#include "model/gguf_model.h"

#include <array>
#include <string_view>

#include "model/families.h"
#include "model/llama_family.h"

namespace forge::model {
namespace {

struct Family {
  std::string_view arch;
  void (*configure)(const GgufBinder&, ModelSpec&);
};

// The architectures Forge runs, by GGUF `general.architecture`.
constexpr std::array kFamilies = {
    Family{"llama", configure_llama},       Family{"qwen2", configure_qwen2},   Family{"phi3", configure_phi3},
    Family{"gemma", configure_gemma},       Family{"gemma2", configure_gemma2}, Family{"gemma3", configure_gemma3},
    Family{"stablelm", configure_stablelm},
};

}  // namespace

ModelSpec spec_from_gguf(const GgufFile& file, const MetadataOverrides* overrides) {
  const GgufValue* arch_value = GgufBinder(file, "", overrides).find("general.architecture");
  if (!arch_value) throw ModelError(file.path() + ": metadata key 'general.architecture' is missing");
  if (!arch_value->as_string()) throw ModelError(file.path() + ": metadata key 'general.architecture' is not a string");
  const std::string arch = *arch_value->as_string();
  for (const auto& fam : kFamilies) {
    if (fam.arch == arch) {
      ModelSpec spec;
      fam.configure(GgufBinder(file, arch, overrides), spec);
      return spec;
    }
  }
  std::string supported;
  for (const auto& fam : kFamilies) supported += (supported.empty() ? "" : ", ") + std::string(fam.arch);
  throw ModelError(file.path() + ": architecture '" + arch + "' is not supported (supported: " + supported + ")");
}

uint64_t ModelSpec::weight_bytes_per_token() const {
  auto bytes = [](const WeightRef& w) { return w.present() ? static_cast<uint64_t>(w.rows) * w.row_bytes : 0; };
  uint64_t total = bytes(output) + bytes(output_norm);
  for (const auto& l : layers) {
    for (const WeightRef* w : {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.bq, &l.bk, &l.bv, &l.q_norm, &l.k_norm,
                               &l.post_attn_norm, &l.ffn_norm, &l.w_gate, &l.w_up, &l.w_down, &l.post_ffn_norm}) {
      total += bytes(*w);
    }
  }
  return total;
}

}  // namespace forge::model
