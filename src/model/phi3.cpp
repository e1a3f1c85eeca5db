// phi3 (Phi-3, Phi-3.5, Phi-4 mini): fused Q|K|V and gate|up tensors, bound as
// row views by bind_common; Hugging Face row order, so half-split RoPE.
#include "model/families.h"
#include "model/llama_family.h"

namespace forge::model {

void configure_phi3(const GgufBinder& b, ModelSpec& s) {
  // LongRoPE (Phi-3 128k) switches per-frequency factors with the context
  // length and rescales attention; Forge does not implement it yet, so such a
  // model is refused rather than run with the wrong positions.
  for (const char* t : {"rope_factors_long.weight", "rope_factors_short.weight"}) {
    if (b.file().find_tensor(t)) {
      b.fail(std::string("tensor '") + t + "' asks for phi3 LongRoPE scaling, which Forge does not support");
    }
  }
  bind_common(b, s);
  s.rope_style = RopeStyle::kHalfSplit;
  s.norm = NormKind::kRms;
  s.activation = Activation::kSilu;
}

}  // namespace forge::model
