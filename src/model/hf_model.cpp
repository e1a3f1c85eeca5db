#include "model/hf_model.h"

#include <array>
#include <cmath>
#include <filesystem>
#include <numbers>
#include <string_view>

#include "model/hf_binder.h"

namespace forge::model {
namespace {

// How each supported Hugging Face class differs, as data.
struct HfFamily {
  std::string_view hf_class;
  std::string_view arch;  // the GGUF architecture name the spec reports
};
constexpr std::array kHfFamilies = {
    HfFamily{"LlamaForCausalLM", "llama"},   HfFamily{"MistralForCausalLM", "llama"},
    HfFamily{"Qwen2ForCausalLM", "qwen2"},   HfFamily{"Phi3ForCausalLM", "phi3"},
    HfFamily{"GemmaForCausalLM", "gemma"},   HfFamily{"Gemma2ForCausalLM", "gemma2"},
    HfFamily{"Gemma3ForCausalLM", "gemma3"}, HfFamily{"StableLmForCausalLM", "stablelm"},
};

[[noreturn]] void fail(const HfConfig& c, const std::string& what) {
  throw ModelError(c.path() + ": " + what);
}

int positive(const HfConfig& c, const char* key) {
  const int v = c.get<int>(key);
  if (v <= 0 || v > (1 << 24)) fail(c, "key '" + std::string(key) + "' is " + std::to_string(v) + ", out of range");
  return v;
}

Activation activation(const HfConfig& c) {
  std::string act = c.get_or<std::string>("hidden_activation", "");
  if (act.empty()) act = c.get_or<std::string>("hidden_act", "silu");
  if (act == "silu" || act == "swish") return Activation::kSilu;
  if (act == "gelu_pytorch_tanh" || act == "gelu_new") return Activation::kGeluTanh;
  fail(c, "activation '" + act + "' is not supported (supported: silu, gelu_pytorch_tanh)");
}

// RoPE of one layer type: base, and the llama3 / linear scalings Forge knows.
void apply_rope(const HfConfig& c, const RopeParameters& r, ModelSpec& s, LayerSpec& l) {
  l.rope_base = static_cast<float>(r.theta.value_or(10000.0));
  if (!(l.rope_base > 0.0f)) fail(c, "rope_theta must be positive");
  if (r.rope_type == "default") return;
  if (r.rope_type == "linear") {
    s.rope_scaling = RopeScaling::kLinear;
    s.rope_scale = static_cast<float>(r.number("factor"));
    if (!(s.rope_scale > 0.0f)) fail(c, "rope factor must be positive");
    return;
  }
  if (r.rope_type == "llama3") {
    // Llama 3.1's frequency bands (transformers' _compute_llama3_parameters):
    // long wavelengths divided by `factor`, short ones kept, a smooth blend
    // between.
    const double factor = r.number("factor"), low = r.number("low_freq_factor"), high = r.number("high_freq_factor");
    const double orig = r.number("original_max_position_embeddings");
    if (!(factor > 0 && high > low && low > 0 && orig > 0)) fail(c, "llama3 rope parameters are inconsistent");
    const double low_wavelen = orig / low, high_wavelen = orig / high;
    s.rope_freq_factors.resize(s.rope_dims / 2);
    for (int i = 0; i < s.rope_dims / 2; ++i) {
      const double inv = std::pow(static_cast<double>(l.rope_base), -2.0 * i / s.rope_dims);
      const double wavelen = 2 * std::numbers::pi / inv;
      double divisor = 1.0;
      if (wavelen > low_wavelen) {
        divisor = factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (orig / wavelen - low) / (high - low);
        divisor = 1.0 / ((1 - smooth) / factor + smooth);
      }
      s.rope_freq_factors[i] = static_cast<float>(divisor);
    }
    return;
  }
  fail(c, "rope type '" + r.rope_type + "' (" + r.where + ") is not supported (supported: default, linear, llama3)");
}

// Per-layer sliding windows: config.json's layer_types when present, else the
// family's rule.
void apply_windows(const HfConfig& c, std::string_view arch, ModelSpec& s) {
  const int window = c.get_or<int>("sliding_window", 0);
  if (window < 0) fail(c, "key 'sliding_window' must not be negative");
  if (c.has("layer_types")) {
    const auto types = c.get<std::vector<std::string>>("layer_types");
    if (static_cast<int>(types.size()) != s.n_layers) {
      fail(c, "'layer_types' has " + std::to_string(types.size()) + " entries for " + std::to_string(s.n_layers) +
                  " layers");
    }
    for (int i = 0; i < s.n_layers; ++i) {
      if (types[i] == "sliding_attention") {
        if (window <= 0) fail(c, "layer " + std::to_string(i) + " is sliding_attention but 'sliding_window' is unset");
        s.layers[i].sliding_window = window;
      } else if (types[i] != "full_attention") {
        fail(c, "layer type '" + types[i] + "' is not supported (supported: full_attention, sliding_attention)");
      }
    }
    return;
  }
  if (window <= 0) return;
  for (int i = 0; i < s.n_layers; ++i) {
    bool slides = true;
    if (arch == "gemma2") slides = i % 2 == 0;
    if (arch == "gemma3") slides = (i + 1) % c.get_or<int>("sliding_window_pattern", 6) != 0;
    if (arch == "qwen2") slides = c.get_or<bool>("use_sliding_window", false);
    if (slides) s.layers[i].sliding_window = window;
  }
}

}  // namespace

bool is_hf_folder(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::exists(fs::path(path) / "config.json", ec);
}

ModelSpec spec_from_hf(const HfConfig& c, const SafetensorsSet& weights) {
  const std::string hf_class = c.architecture();
  std::string_view arch;
  for (const auto& f : kHfFamilies) {
    if (f.hf_class == hf_class) arch = f.arch;
  }
  if (arch.empty()) {
    std::string supported;
    for (const auto& f : kHfFamilies) supported += (supported.empty() ? "" : ", ") + std::string(f.hf_class);
    fail(c, "architecture '" + hf_class + "' is not supported (supported: " + supported + ")");
  }
  const bool gemma = arch.starts_with("gemma");
  const bool stablelm = arch == "stablelm";

  ModelSpec s;
  s.arch = std::string(arch);
  s.name = std::filesystem::path(c.path()).parent_path().filename().string();
  s.n_layers = positive(c, "num_hidden_layers");
  s.n_embd = positive(c, "hidden_size");
  s.n_head = positive(c, "num_attention_heads");
  s.n_head_kv = c.has("num_key_value_heads") ? positive(c, "num_key_value_heads") : s.n_head;
  if (s.n_head % s.n_head_kv != 0) fail(c, "num_attention_heads is not a multiple of num_key_value_heads");
  s.head_dim = c.has("head_dim") ? positive(c, "head_dim") : s.n_embd / s.n_head;
  s.head_dim_v = s.head_dim;
  s.n_ff = positive(c, "intermediate_size");
  s.n_vocab = positive(c, "vocab_size");
  s.n_ctx_train = positive(c, "max_position_embeddings");
  s.layers.resize(s.n_layers);

  s.norm = stablelm ? NormKind::kLayer : NormKind::kRms;
  s.norm_eps = static_cast<float>(c.get<double>(stablelm ? "layer_norm_eps" : "rms_norm_eps"));
  s.norm_weight_offset = gemma ? 1.0f : 0.0f;  // Gemma's RMSNorm multiplies by (1 + w)
  s.activation = activation(c);
  s.parallel_residual = stablelm && c.get_or<bool>("use_parallel_residual", false);
  s.rope_style = RopeStyle::kHalfSplit;
  s.attn_scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  if (gemma) {
    // transformers casts sqrt(hidden) to the activations' dtype; F32 here.
    s.embed_scale = std::sqrt(static_cast<float>(s.n_embd));
    if (c.has("query_pre_attn_scalar")) {
      s.attn_scale = static_cast<float>(1.0 / std::sqrt(c.get<double>("query_pre_attn_scalar")));
    }
    s.attn_softcap = static_cast<float>(c.get_or<double>("attn_logit_softcapping", 0.0));
    s.final_softcap = static_cast<float>(c.get_or<double>("final_logit_softcapping", 0.0));
  }

  // RoPE: one set of parameters, or one per layer type (Gemma 3).
  const RopeParameters r0 = c.rope(arch == "gemma3" ? "full_attention" : "");
  const double partial = r0.number_optional("partial_rotary_factor").value_or(1.0);
  s.rope_dims = static_cast<int>(std::lround(s.head_dim * partial));
  if (s.rope_dims <= 0 || s.rope_dims > s.head_dim || s.rope_dims % 2 != 0) {
    fail(c, "partial_rotary_factor " + std::to_string(partial) + " gives " + std::to_string(s.rope_dims) +
                " rotary dims of " + std::to_string(s.head_dim) + ", expected an even number");
  }
  apply_windows(c, arch, s);
  for (int i = 0; i < s.n_layers; ++i) {
    const bool local = arch == "gemma3" && s.layers[i].sliding_window > 0;
    apply_rope(c, local ? c.rope("sliding_attention") : r0, s, s.layers[i]);
  }

  HfBinder b(weights, c.path(), s);
  s.tok_embd = b.matrix("model.embed_tokens.weight", s.n_vocab, s.n_embd);
  s.output_norm = b.vector("model.norm.weight", s.n_embd);
  s.output_norm_bias = b.optional_vector("model.norm.bias", s.n_embd);
  s.output = b.optional_matrix("lm_head.weight", s.n_vocab, s.n_embd);
  s.tied_embeddings = !s.output.present();
  if (s.tied_embeddings) {
    if (c.has("tie_word_embeddings") && !c.get<bool>("tie_word_embeddings")) {
      b.fail("tensor 'lm_head.weight' is missing and " + c.path() + " says tie_word_embeddings is false");
    }
    s.output = s.tok_embd;
  }
  const int q_rows = s.n_head * s.head_dim, k_rows = s.n_head_kv * s.head_dim, v_rows = s.n_head_kv * s.head_dim_v;
  const bool qk_layernorm = stablelm && c.get_or<bool>("qk_layernorm", false);
  for (int i = 0; i < s.n_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    LayerSpec& l = s.layers[i];
    l.attn_norm = b.vector(p + "input_layernorm.weight", s.n_embd);
    l.attn_norm_bias = b.optional_vector(p + "input_layernorm.bias", s.n_embd);
    if (arch == "phi3") {
      WeightRef qkv = b.matrix(p + "self_attn.qkv_proj.weight", q_rows + k_rows + v_rows, s.n_embd);
      l.wq = row_view(qkv, 0, q_rows, qkv.name + "[q]");
      l.wk = row_view(qkv, q_rows, k_rows, qkv.name + "[k]");
      l.wv = row_view(qkv, q_rows + k_rows, v_rows, qkv.name + "[v]");
    } else {
      l.wq = b.matrix(p + "self_attn.q_proj.weight", q_rows, s.n_embd);
      l.wk = b.matrix(p + "self_attn.k_proj.weight", k_rows, s.n_embd);
      l.wv = b.matrix(p + "self_attn.v_proj.weight", v_rows, s.n_embd);
    }
    l.bq = b.optional_vector(p + "self_attn.q_proj.bias", q_rows);
    l.bk = b.optional_vector(p + "self_attn.k_proj.bias", k_rows);
    l.bv = b.optional_vector(p + "self_attn.v_proj.bias", v_rows);
    l.wo = b.matrix(p + "self_attn.o_proj.weight", s.n_embd, s.n_head * s.head_dim_v);
    if (arch == "gemma3") {
      l.q_norm = b.vector(p + "self_attn.q_norm.weight", s.head_dim);
      l.k_norm = b.vector(p + "self_attn.k_norm.weight", s.head_dim);
    }
    if (qk_layernorm) {
      std::vector<std::string> qn, kn;
      for (int h = 0; h < s.n_head; ++h)
        qn.push_back(p + "self_attn.q_layernorm.norms." + std::to_string(h) + ".weight");
      for (int h = 0; h < s.n_head_kv; ++h)
        kn.push_back(p + "self_attn.k_layernorm.norms." + std::to_string(h) + ".weight");
      l.q_norm = b.stacked_vectors(qn, s.head_dim, p + "self_attn.q_layernorm");
      l.k_norm = b.stacked_vectors(kn, s.head_dim, p + "self_attn.k_layernorm");
    }
    if (arch == "gemma2" || arch == "gemma3") {
      l.post_attn_norm = b.vector(p + "post_attention_layernorm.weight", s.n_embd);
      l.ffn_norm = b.vector(p + "pre_feedforward_layernorm.weight", s.n_embd);
      l.post_ffn_norm = b.vector(p + "post_feedforward_layernorm.weight", s.n_embd);
    } else if (!s.parallel_residual) {
      l.ffn_norm = b.vector(p + "post_attention_layernorm.weight", s.n_embd);
      l.ffn_norm_bias = b.optional_vector(p + "post_attention_layernorm.bias", s.n_embd);
    }
    if (arch == "phi3") {
      WeightRef gu = b.matrix(p + "mlp.gate_up_proj.weight", 2 * s.n_ff, s.n_embd);
      l.w_gate = row_view(gu, 0, s.n_ff, gu.name + "[gate]");
      l.w_up = row_view(gu, s.n_ff, s.n_ff, gu.name + "[up]");
    } else {
      l.w_gate = b.matrix(p + "mlp.gate_proj.weight", s.n_ff, s.n_embd);
      l.w_up = b.matrix(p + "mlp.up_proj.weight", s.n_ff, s.n_embd);
    }
    l.w_down = b.matrix(p + "mlp.down_proj.weight", s.n_embd, s.n_ff);
  }
  return s;
}

std::unique_ptr<HfModel> open_hf_model(const std::string& dir) {
  HfConfig config = HfConfig::open(dir);
  SafetensorsSet weights = SafetensorsSet::open(dir);
  auto m = std::unique_ptr<HfModel>(new HfModel{std::move(config), std::move(weights), {}});
  m->spec = spec_from_hf(m->config, m->weights);
  return m;
}

}  // namespace forge::model
