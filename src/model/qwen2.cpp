// qwen2 (Qwen 1.5, Qwen 2, Qwen 2.5): llama with Q/K/V biases, and Q/K rows
// as Hugging Face stores them, so RoPE rotates (i, i + d/2) pairs.
#include "model/families.h"
#include "model/llama_family.h"

namespace forge::model {

void configure_qwen2(const GgufBinder& b, ModelSpec& s) {
  bind_common(b, s);
  s.rope_style = RopeStyle::kHalfSplit;
  s.norm = NormKind::kRms;
  s.activation = Activation::kSilu;
  for (int i = 0; i < s.n_layers; ++i) {
    const LayerSpec& l = s.layers[i];
    if (!l.bq.present() || !l.bk.present() || !l.bv.present()) {
      b.fail("layer " + std::to_string(i) + " lacks a Q/K/V bias (qwen2 models have all three)");
    }
  }
}

}  // namespace forge::model
