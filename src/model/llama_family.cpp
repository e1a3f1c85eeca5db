#include "model/llama_family.h"

#include <cmath>
#include <cstring>

namespace forge::model {

namespace {

void bind_rope(const GgufBinder& b, ModelSpec& s) {
  s.rope_dims = static_cast<int>(b.opt<uint32_t>("rope.dimension_count").value_or(s.head_dim));
  if (s.rope_dims <= 0 || s.rope_dims > s.head_dim || s.rope_dims % 2 != 0) {
    b.fail("metadata key '" + b.arch() + ".rope.dimension_count' is " + std::to_string(s.rope_dims) +
           ", expected an even number up to the head dimension " + std::to_string(s.head_dim));
  }
  const float base = b.opt<float>("rope.freq_base").value_or(10000.0f);
  if (!(base > 0.0f)) b.fail("metadata key '" + b.arch() + ".rope.freq_base' must be positive");
  for (auto& l : s.layers) l.rope_base = base;

  const std::string type = b.opt<std::string>("rope.scaling.type").value_or("none");
  const float factor = b.opt<float>("rope.scaling.factor").value_or(1.0f);
  if (type == "linear" && factor != 1.0f) {
    if (!(factor > 0.0f)) b.fail("metadata key '" + b.arch() + ".rope.scaling.factor' must be positive");
    s.rope_scaling = RopeScaling::kLinear;
    s.rope_scale = factor;
  } else if (type != "none" && type != "linear") {
    b.fail("rope scaling type '" + type + "' (key '" + b.arch() + ".rope.scaling.type') is not supported");
  }
  // Llama 3 frequency scaling: the converter stores the per-frequency
  // divisors as a tensor.
  WeightRef freqs = b.optional_vector("rope_freqs.weight", s.rope_dims / 2, "llama3 rope scaling factors");
  if (freqs.present()) {
    s.rope_freq_factors.resize(s.rope_dims / 2);
    std::memcpy(s.rope_freq_factors.data(), freqs.data, s.rope_freq_factors.size() * sizeof(float));
    for (float f : s.rope_freq_factors) {
      if (!(f > 0.0f) || !std::isfinite(f)) b.fail("tensor 'rope_freqs.weight' holds a non-positive factor");
    }
  }
}

// Per-head q/k norm weights: one head's worth shared by every head (1-D
// [head_dim]), or one row per head (2-D [head_dim, heads], stablelm).
WeightRef bind_head_norm(const GgufBinder& b, const std::string& name, int head_dim, int heads) {
  const GgufTensorInfo* t = b.file().find_tensor(name);
  if (!t) return {};
  if (t->dims.size() == 2) {
    WeightRef w = b.matrix(name, head_dim, heads, "key_length x heads");
    if (w.type != GgmlType::F32) b.fail("tensor '" + name + "' must be f32");
    return w;
  }
  return b.vector(name, head_dim, "key_length");
}

}  // namespace

void bind_common(const GgufBinder& b, ModelSpec& s) {
  const GgufFile& f = b.file();
  s.arch = b.arch();
  s.name = f.get_or<std::string>("general.name", "");
  s.n_layers = b.dim("block_count");
  s.n_embd = b.dim("embedding_length");
  s.n_ff = b.dim("feed_forward_length");
  s.n_head = b.dim("attention.head_count");
  s.n_head_kv = b.opt<uint32_t>("attention.head_count_kv") ? b.dim("attention.head_count_kv") : s.n_head;
  if (s.n_head % s.n_head_kv != 0) {
    b.fail("attention.head_count " + std::to_string(s.n_head) + " is not a multiple of attention.head_count_kv " +
           std::to_string(s.n_head_kv));
  }
  s.head_dim = b.opt<uint32_t>("attention.key_length") ? b.dim("attention.key_length") : s.n_embd / s.n_head;
  s.head_dim_v = b.opt<uint32_t>("attention.value_length") ? b.dim("attention.value_length") : s.head_dim;
  s.n_ctx_train = b.dim("context_length");
  s.attn_scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  s.layers.resize(s.n_layers);

  // Vocabulary: the embedding's rows, cross-checked with the metadata.
  const GgufTensorInfo* emb = f.find_tensor("token_embd.weight");
  if (!emb) b.fail("tensor 'token_embd.weight' is missing");
  if (emb->dims.size() != 2) b.fail("tensor 'token_embd.weight' has shape " + emb->shape_string() + ", expected 2-D");
  s.n_vocab = static_cast<int>(emb->dims[1]);
  if (auto v = b.opt<uint32_t>("vocab_size"); v && static_cast<int>(*v) != s.n_vocab) {
    b.fail("metadata key '" + b.arch() + ".vocab_size' is " + std::to_string(*v) + " but 'token_embd.weight' has " +
           std::to_string(s.n_vocab) + " rows");
  }
  if (const GgufValue* toks = b.find("tokenizer.ggml.tokens"); toks && toks->as_array()) {
    const size_t n = toks->as_array()->items.size();
    if (n > static_cast<size_t>(s.n_vocab)) {
      b.fail("the tokenizer has " + std::to_string(n) + " tokens but 'token_embd.weight' has only " +
             std::to_string(s.n_vocab) + " rows");
    }
  }
  s.tok_embd = b.matrix("token_embd.weight", s.n_embd, s.n_vocab, "embedding_length x vocabulary");
  s.output_norm = b.vector("output_norm.weight", s.n_embd, "embedding_length");
  s.output = b.optional_matrix("output.weight", s.n_embd, s.n_vocab, "embedding_length x vocabulary");
  s.tied_embeddings = !s.output.present();
  if (s.tied_embeddings) s.output = s.tok_embd;

  s.output_norm_bias = b.optional_vector("output_norm.bias", s.n_embd, "embedding_length");

  const int q_rows = s.n_head * s.head_dim;
  const int k_rows = s.n_head_kv * s.head_dim;
  const int v_rows = s.n_head_kv * s.head_dim_v;
  for (int i = 0; i < s.n_layers; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    LayerSpec& l = s.layers[i];
    l.attn_norm = b.vector(p + "attn_norm.weight", s.n_embd, "embedding_length");
    l.attn_norm_bias = b.optional_vector(p + "attn_norm.bias", s.n_embd, "embedding_length");
    if (b.file().find_tensor(p + "attn_qkv.weight") && !b.file().find_tensor(p + "attn_q.weight")) {
      // Fused Q|K|V (phi3): bound as three row views of one tensor.
      WeightRef qkv = b.matrix(p + "attn_qkv.weight", s.n_embd, q_rows + k_rows + v_rows,
                               "embedding_length x (q + k + v rows)");
      l.wq = row_view(qkv, 0, q_rows, qkv.name + "[q]");
      l.wk = row_view(qkv, q_rows, k_rows, qkv.name + "[k]");
      l.wv = row_view(qkv, q_rows + k_rows, v_rows, qkv.name + "[v]");
    } else {
      l.wq = b.matrix(p + "attn_q.weight", s.n_embd, q_rows, "embedding_length x head_count*key_length");
      l.wk = b.matrix(p + "attn_k.weight", s.n_embd, k_rows, "embedding_length x head_count_kv*key_length");
      l.wv = b.matrix(p + "attn_v.weight", s.n_embd, v_rows, "embedding_length x head_count_kv*value_length");
    }
    l.bq = b.optional_vector(p + "attn_q.bias", q_rows, "head_count*key_length");
    l.bk = b.optional_vector(p + "attn_k.bias", k_rows, "head_count_kv*key_length");
    l.bv = b.optional_vector(p + "attn_v.bias", v_rows, "head_count_kv*value_length");
    l.q_norm = bind_head_norm(b, p + "attn_q_norm.weight", s.head_dim, s.n_head);
    l.k_norm = bind_head_norm(b, p + "attn_k_norm.weight", s.head_dim, s.n_head_kv);
    l.wo = b.matrix(p + "attn_output.weight", s.n_head * s.head_dim_v, s.n_embd,
                    "head_count*value_length x embedding_length");
    l.post_attn_norm = b.optional_vector(p + "post_attention_norm.weight", s.n_embd, "embedding_length");
    // A parallel-residual block feeds the FFN the attention's norm.
    l.ffn_norm = s.parallel_residual ? b.optional_vector(p + "ffn_norm.weight", s.n_embd, "embedding_length")
                                     : b.vector(p + "ffn_norm.weight", s.n_embd, "embedding_length");
    if (s.parallel_residual && l.ffn_norm.present()) {
      b.fail("tensor '" + p + "ffn_norm.weight' is present but the model uses a parallel residual, which has none");
    }
    l.ffn_norm_bias = b.optional_vector(p + "ffn_norm.bias", s.n_embd, "embedding_length");
    if (!b.file().find_tensor(p + "ffn_gate.weight") && b.file().find_tensor(p + "ffn_up.weight") &&
        b.file().find_tensor(p + "ffn_up.weight")->dims.size() == 2 &&
        b.file().find_tensor(p + "ffn_up.weight")->dims[1] == 2 * static_cast<int64_t>(s.n_ff)) {
      // Fused gate|up (phi3): gate rows first, then up.
      WeightRef gu = b.matrix(p + "ffn_up.weight", s.n_embd, 2 * s.n_ff, "embedding_length x 2*feed_forward_length");
      l.w_gate = row_view(gu, 0, s.n_ff, gu.name + "[gate]");
      l.w_up = row_view(gu, s.n_ff, s.n_ff, gu.name + "[up]");
    } else {
      l.w_gate = b.matrix(p + "ffn_gate.weight", s.n_embd, s.n_ff, "embedding_length x feed_forward_length");
      l.w_up = b.matrix(p + "ffn_up.weight", s.n_embd, s.n_ff, "embedding_length x feed_forward_length");
    }
    l.w_down = b.matrix(p + "ffn_down.weight", s.n_ff, s.n_embd, "feed_forward_length x embedding_length");
    l.post_ffn_norm = b.optional_vector(p + "post_ffw_norm.weight", s.n_embd, "embedding_length");
  }
  if (auto eps = b.opt<float>("attention.layer_norm_epsilon")) s.norm_eps = *eps;
  s.norm_eps = b.opt<float>("attention.layer_norm_rms_epsilon").value_or(s.norm_eps);
  bind_rope(b, s);
  if (auto w = b.opt<uint32_t>("attention.sliding_window"); w && *w > 0) {
    for (auto& l : s.layers) l.sliding_window = static_cast<int>(*w);
  }
}

void configure_llama(const GgufBinder& b, ModelSpec& s) {
  bind_common(b, s);
  // convert_hf_to_gguf permutes llama's Q/K rows for ggml's normal RoPE mode.
  s.rope_style = RopeStyle::kAdjacent;
  s.norm = NormKind::kRms;
  s.activation = Activation::kSilu;
}

}  // namespace forge::model
