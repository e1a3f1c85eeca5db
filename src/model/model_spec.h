// ModelSpec: everything that defines a model's forward pass, read from the
// file's metadata and bound to its tensors. The ways architectures differ are
// fields here (norm kind, RoPE style, activation, scales, caps, windows), so
// one graph builder serves every family.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/ggml_types.h"

namespace forge::model {

// How RoPE pairs the dimensions it rotates (ggml's rope modes): kAdjacent
// rotates (x[2i], x[2i+1]) -- GGML "normal" mode, used for llama GGUFs, whose
// converter permutes Q/K rows to match; kHalfSplit rotates (x[i], x[i+d/2]) --
// GGML "neox" mode, used by Hugging Face checkpoints and by qwen2, phi3,
// gemma, stablelm GGUFs.
enum class RopeStyle { kAdjacent, kHalfSplit };
enum class NormKind { kRms, kLayer };
enum class Activation { kSilu, kGeluTanh };
enum class RopeScaling { kNone, kLinear };

// A view of consecutive rows of one stored tensor (never a copy). A tensor
// stored fused (phi3's attn_qkv) is bound as several views of its rows.
struct WeightRef {
  std::string name;  // tensor name in the file, for messages and tracing
  GgmlType type = GgmlType::F32;
  int64_t cols = 0;  // elements per row (GGML dims[0])
  int64_t rows = 0;
  size_t row_bytes = 0;
  const uint8_t* data = nullptr;  // first row of the view

  bool present() const { return data != nullptr; }
};

// Rows [first, first + count) of `w`, still pointing into w's storage: how a
// fused tensor (phi3's attn_qkv, gate|up ffn_up) is bound without a copy.
inline WeightRef row_view(const WeightRef& w, int64_t first, int64_t count, std::string name) {
  WeightRef v = w;
  v.name = std::move(name);
  v.rows = count;
  v.data = w.data + static_cast<size_t>(first) * w.row_bytes;
  return v;
}

struct LayerSpec {
  WeightRef attn_norm, attn_norm_bias;
  WeightRef wq, wk, wv, wo;
  WeightRef bq, bk, bv;
  WeightRef q_norm, k_norm;             // per-head norms: one head's weights (gemma3), or one row per head (stablelm)
  WeightRef post_attn_norm;             // gemma2/3 norm after attention
  WeightRef ffn_norm, ffn_norm_bias;
  WeightRef w_gate, w_up, w_down;
  WeightRef post_ffn_norm;              // gemma2/3 norm after the FFN
  int sliding_window = 0;               // 0: global attention
  float rope_base = 10000.0f;
};

struct ModelSpec {
  std::string arch;  // GGUF architecture name
  std::string name;
  int n_layers = 0;
  int n_embd = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim = 0;    // of queries and keys
  int head_dim_v = 0;  // of values
  int n_ff = 0;
  int n_vocab = 0;
  int n_ctx_train = 0;

  NormKind norm = NormKind::kRms;
  float norm_eps = 1e-5f;
  float norm_weight_offset = 0.0f;  // 1 where the stored weight w means (1 + w)
  Activation activation = Activation::kSilu;
  bool parallel_residual = false;

  RopeStyle rope_style = RopeStyle::kAdjacent;
  int rope_dims = 0;  // leading dimensions of each head that rotate
  RopeScaling rope_scaling = RopeScaling::kNone;
  float rope_scale = 1.0f;                // linear: positions are divided by this
  std::vector<float> rope_freq_factors;   // llama3: per-frequency divisors (rope_freqs tensor)

  float embed_scale = 1.0f;   // gemma: sqrt(n_embd)
  float attn_scale = 0.0f;    // multiplies q.k; 1/sqrt(head_dim) unless the model says otherwise
  float attn_softcap = 0.0f;  // 0: none
  float final_softcap = 0.0f;

  WeightRef tok_embd;  // [n_vocab rows of n_embd]
  WeightRef output_norm, output_norm_bias;
  WeightRef output;    // the embedding itself when tied
  bool tied_embeddings = false;
  std::vector<LayerSpec> layers;

  // Tensors Forge made at load time rather than mapped from the file (norm
  // weights widened to F32, LoRA-merged matrices); WeightRefs may point into
  // them. Each buffer's heap storage stays put when the spec is moved.
  std::vector<std::vector<uint8_t>> owned;

  // Bytes of weights read per generated token (every matrix once, the
  // embedding row aside): the numerator of the bandwidth roof.
  uint64_t weight_bytes_per_token() const;
};

}  // namespace forge::model
