// stablelm (StableLM 2, StableLM Zephyr): LayerNorm with bias, partial rotary
// (rope.dimension_count of each head rotate, half-split, the rest pass
// through), optional parallel residual (x + attn(ln(x)) + ffn(ln(x))) and
// optional per-head Q/K LayerNorm with one weight row per head.
#include "model/families.h"
#include "model/llama_family.h"

namespace forge::model {

void configure_stablelm(const GgufBinder& b, ModelSpec& s) {
  s.parallel_residual = b.opt<bool>("use_parallel_residual").value_or(false);
  s.norm = NormKind::kLayer;
  bind_common(b, s);
  s.rope_style = RopeStyle::kHalfSplit;
  s.activation = Activation::kSilu;
  if (!b.opt<float>("attention.layer_norm_epsilon")) {
    b.fail("metadata key 'stablelm.attention.layer_norm_epsilon' is missing (stablelm models need it)");
  }
}

}  // namespace forge::model
