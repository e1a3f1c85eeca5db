// gemma, gemma2, gemma3 (text): RMSNorm, GeGLU with the tanh GELU, embeddings
// scaled by sqrt(n_embd), tied output, half-split RoPE. The GGUF converter
// stores every norm weight as (1 + w), so no offset is added here (a Hugging
// Face checkpoint gets norm_weight_offset 1 instead).
#include <cmath>

#include "model/families.h"
#include "model/llama_family.h"

namespace forge::model {
namespace {

void gemma_common(const GgufBinder& b, ModelSpec& s) {
  bind_common(b, s);
  s.rope_style = RopeStyle::kHalfSplit;
  s.norm = NormKind::kRms;
  s.norm_weight_offset = 0.0f;
  s.activation = Activation::kGeluTanh;
  s.embed_scale = std::sqrt(static_cast<float>(s.n_embd));
}

void require_post_norms(const GgufBinder& b, const ModelSpec& s) {
  for (int i = 0; i < s.n_layers; ++i) {
    if (!s.layers[i].post_attn_norm.present() || !s.layers[i].post_ffn_norm.present()) {
      b.fail("layer " + std::to_string(i) + " lacks post_attention_norm / post_ffw_norm (" + b.arch() +
             " models have both)");
    }
  }
}

float positive_or_zero(const GgufBinder& b, const char* key) {
  const float v = b.opt<float>(key).value_or(0.0f);
  if (!(v >= 0.0f) || !std::isfinite(v)) b.fail("metadata key '" + b.arch() + "." + key + "' must be >= 0");
  return v;
}

}  // namespace

void configure_gemma(const GgufBinder& b, ModelSpec& s) {
  gemma_common(b, s);
}

void configure_gemma2(const GgufBinder& b, ModelSpec& s) {
  gemma_common(b, s);
  require_post_norms(b, s);
  s.attn_softcap = positive_or_zero(b, "attn_logit_softcapping");
  s.final_softcap = positive_or_zero(b, "final_logit_softcapping");
  // Even layers slide, odd ones attend globally (HF's rule and llama.cpp's).
  for (int i = 1; i < s.n_layers; i += 2) s.layers[i].sliding_window = 0;
}

void configure_gemma3(const GgufBinder& b, ModelSpec& s) {
  gemma_common(b, s);
  require_post_norms(b, s);
  for (int i = 0; i < s.n_layers; ++i) {
    if (!s.layers[i].q_norm.present() || !s.layers[i].k_norm.present()) {
      b.fail("layer " + std::to_string(i) + " lacks attn_q_norm / attn_k_norm (gemma3 models have both)");
    }
  }
  // The GGUF records no layer pattern: every 6th layer is global, as
  // llama.cpp assumes (and Gemma 3's config.json layer_types say). Local
  // layers use their own RoPE base.
  const float base_swa = b.opt<float>("rope.freq_base_swa").value_or(10000.0f);
  if (!(base_swa > 0.0f)) b.fail("metadata key 'gemma3.rope.freq_base_swa' must be positive");
  for (int i = 0; i < s.n_layers; ++i) {
    LayerSpec& l = s.layers[i];
    if (i % 6 == 5) {
      l.sliding_window = 0;
    } else {
      l.rope_base = base_swa;
    }
  }
}

}  // namespace forge::model
