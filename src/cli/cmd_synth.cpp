// `forge synth --preset NAME --type T -o out.gguf`: a GGUF with random weights
// in the real shape of a known model, written with llama.cpp's metadata
// conventions (as convert_hf_to_gguf.py names keys and tensors), so that
// benchmarks run at real sizes without downloading a model.
//
// Weights: N(0, 1/fan_in) for matrices (fan_in = row length), 1 for norm
// weights, N(0, 0.02) for biases. Each row has its own random stream seeded
// from (seed, tensor, row), so the output depends on the seed only, not on
// the thread count. Rows are made in F32 and quantized at once; one tensor is
// in memory at a time.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "cli/commands.h"
#include "cli/progress_bar.h"
#include "cli/quant_mix.h"
#include "cli/row_converter.h"
#include "cli/synth_presets.h"
#include "cli/synth_vocab.h"
#include "format/gguf_writer.h"
#include "interp/thread_pool.h"

namespace forge::cli {

namespace {

struct SynthOptions {
  std::string preset;
  std::string type;
  std::string output;
  uint64_t seed = 42;
  int layers = 0;
  int threads = 0;
  std::string data_dir;
  std::string vocab = "auto";
};

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// xoshiro256+ (Blackman and Vigna), seeded through splitmix64 as its authors advise.
class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed) {
    for (auto& x : s_) x = splitmix64(seed);
  }
  // Uniform in [-1, 1) from the top 24 bits (a float's precision).
  float symmetric() { return static_cast<float>(static_cast<int64_t>(next() >> 40) - (1 << 23)) * 0x1.0p-23f; }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t next() {
    const uint64_t r = s_[0] + s_[3];
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return r;
  }
  uint64_t s_[4];
};

// Normal values by Marsaglia's polar method (Box-Muller without the sine and
// cosine): a point uniform in the unit disc gives two independent normals.
// Float arithmetic: a 1B model needs over a billion of them.
void fill_normal(float* dst, int64_t n, float std_dev, uint64_t seed) {
  Xoshiro256 rng(seed);
  for (int64_t i = 0; i < n; i += 2) {
    float u, v, s;
    do {
      u = rng.symmetric();
      v = rng.symmetric();
      s = u * u + v * v;
    } while (s >= 1.0f || s == 0.0f);
    const float m = std_dev * std::sqrt(-2.0f * std::log(s) / s);
    dst[i] = u * m;
    if (i + 1 < n) dst[i + 1] = v * m;
  }
}

struct SynthTensor {
  std::string name;
  std::vector<int64_t> dims;
  float std_dev = 0;          // > 0: random normal
  std::vector<float> values;  // else: these values (1-D), or all ones if empty
};

std::vector<SynthTensor> model_tensors(const SynthPreset& p, int n_layer) {
  const int64_t e = p.n_embd, q = int64_t(p.n_head) * p.head_dim, kv = int64_t(p.n_head_kv) * p.head_dim;
  const int64_t ff = p.n_ff, v = p.n_vocab;
  auto matrix = [](std::string name, int64_t cols, int64_t rows) {
    return SynthTensor{std::move(name), {cols, rows}, 1.0f / std::sqrt(static_cast<float>(cols)), {}};
  };
  auto ones = [](std::string name, int64_t n) { return SynthTensor{std::move(name), {n}, 0.0f, {}}; };
  auto bias = [](std::string name, int64_t n) { return SynthTensor{std::move(name), {n}, 0.02f, {}}; };

  std::vector<SynthTensor> ts;
  ts.push_back(matrix("token_embd.weight", e, v));
  if (p.llama3_rope) {
    auto f = llama3_rope_factors(p.rope_theta, p.head_dim, *p.llama3_rope);
    ts.push_back(SynthTensor{"rope_freqs.weight", {static_cast<int64_t>(f.size())}, 0.0f, f});
  }
  for (int i = 0; i < n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    ts.push_back(ones(b + "attn_norm.weight", e));
    ts.push_back(matrix(b + "attn_q.weight", e, q));
    if (p.qkv_bias) ts.push_back(bias(b + "attn_q.bias", q));
    ts.push_back(matrix(b + "attn_k.weight", e, kv));
    if (p.qkv_bias) ts.push_back(bias(b + "attn_k.bias", kv));
    ts.push_back(matrix(b + "attn_v.weight", e, kv));
    if (p.qkv_bias) ts.push_back(bias(b + "attn_v.bias", kv));
    ts.push_back(matrix(b + "attn_output.weight", q, e));
    ts.push_back(ones(b + "ffn_norm.weight", e));
    ts.push_back(matrix(b + "ffn_gate.weight", e, ff));
    ts.push_back(matrix(b + "ffn_up.weight", e, ff));
    ts.push_back(matrix(b + "ffn_down.weight", ff, e));
  }
  ts.push_back(ones("output_norm.weight", e));
  if (!p.tied) ts.push_back(matrix("output.weight", e, v));
  return ts;
}

void write_hparams(GgufWriter& w, const SynthPreset& p, int n_layer) {
  const std::string a = std::string(p.arch) + ".";
  w.set_u32(a + "block_count", static_cast<uint32_t>(n_layer));
  w.set_u32(a + "context_length", static_cast<uint32_t>(p.n_ctx));
  w.set_u32(a + "embedding_length", static_cast<uint32_t>(p.n_embd));
  w.set_u32(a + "feed_forward_length", static_cast<uint32_t>(p.n_ff));
  w.set_u32(a + "attention.head_count", static_cast<uint32_t>(p.n_head));
  w.set_u32(a + "attention.head_count_kv", static_cast<uint32_t>(p.n_head_kv));
  w.set_f32(a + "rope.freq_base", p.rope_theta);
  w.set_f32(a + "attention.layer_norm_rms_epsilon", p.norm_eps);
  if (p.head_dim * p.n_head != p.n_embd) {
    // The converter writes the head size only where it is not hidden / heads.
    w.set_u32(a + "attention.key_length", static_cast<uint32_t>(p.head_dim));
    w.set_u32(a + "attention.value_length", static_cast<uint32_t>(p.head_dim));
  }
  w.set_u32(a + "vocab_size", static_cast<uint32_t>(p.n_vocab));
  w.set_u32(a + "rope.dimension_count", static_cast<uint32_t>(p.head_dim));
}

void run_synth(const SynthOptions& o) {
  const SynthPreset* p = find_synth_preset(o.preset);
  if (!p) throw std::invalid_argument("unknown preset '" + o.preset + "'; presets: " + synth_preset_names());
  const auto mix = find_quant_mix(o.type);
  if (!mix) throw std::invalid_argument("unknown type '" + o.type + "'; valid types: " + quant_mix_names());
  const int n_layer = o.layers > 0 ? o.layers : p->n_layer;
  if (n_layer > p->n_layer) {
    throw std::invalid_argument("--layers " + std::to_string(o.layers) + ": " + std::string(p->name) + " has " +
                                std::to_string(p->n_layer));
  }
  std::string data_dir = o.data_dir;
  if (data_dir.empty()) {
    if (const char* env = std::getenv("FORGE_DATA_DIR")) data_dir = env;
  }
  bool real_vocab = o.vocab == "real" || (o.vocab == "auto" && !data_dir.empty());
  if (o.vocab != "auto" && o.vocab != "real" && o.vocab != "generated") {
    throw std::invalid_argument("--vocab must be auto, real or generated");
  }
  if (o.vocab == "real" && data_dir.empty()) {
    throw std::invalid_argument("--vocab real needs --data DIR (or FORGE_DATA_DIR): the shared data folder");
  }

  GgufWriter w;
  w.set_string("general.architecture", std::string(p->arch));
  w.set_string("general.type", "model");
  std::string title(p->title);
  if (n_layer != p->n_layer) title += ", " + std::to_string(n_layer) + " layers";
  w.set_string("general.name", title);
  write_hparams(w, *p, n_layer);
  w.set_u32("general.file_type", mix->file_type);
  w.set_u32("general.quantization_version", 2);
  const std::string vocab_note = real_vocab ? write_real_vocab(w, *p, data_dir) : write_generated_vocab(w, p->n_vocab);

  auto tensors = std::make_shared<std::vector<SynthTensor>>(model_tensors(*p, n_layer));
  std::vector<std::string> names;
  for (const auto& t : *tensors) names.push_back(t.name);
  QuantPlanner planner(*mix, false, n_layer, p->n_head / p->n_head_kv, names);
  auto pool = std::make_shared<interp::ThreadPool>(o.threads > 0 ? o.threads : interp::ThreadPool::default_threads());

  uint64_t total = 0;
  std::vector<std::pair<GgmlType, uint64_t>> plan;
  auto progress = std::make_shared<ProgressBar>(static_cast<int>(tensors->size()), 0);
  for (const auto& t : *tensors) {
    const QuantPlanner::Choice c = planner.choose(t.name, t.dims, GgmlType::F32);
    if (!c.fallback.empty()) progress->note("warning: " + t.name + ": " + c.fallback);
    int64_t rows = 1;
    for (size_t d = 1; d < t.dims.size(); ++d) rows *= t.dims[d];
    const uint64_t bytes = ggml_row_size(ggml_type_info(c.type), t.dims[0]) * static_cast<uint64_t>(rows);
    plan.emplace_back(c.type, bytes);
    total += bytes;
  }
  progress = std::make_shared<ProgressBar>(static_cast<int>(tensors->size()), total);

  for (size_t i = 0; i < tensors->size(); ++i) {
    const SynthTensor& t = (*tensors)[i];
    const auto [type, bytes] = plan[i];
    const uint64_t tensor_seed = o.seed * 0x9E3779B97F4A7C15ull + (i + 1) * 0xD1B54A32D192ED03ull;
    std::string detail = t.name + " " + std::string(ggml_type_info(type).name) + " " +
                         format_bytes(static_cast<double>(bytes));
    w.add_tensor(t.name, type, t.dims, [&t, type, bytes, i, tensor_seed, pool, progress, detail](std::span<uint8_t> out) {
      int64_t rows = 1;
      for (size_t d = 1; d < t.dims.size(); ++d) rows *= t.dims[d];
      const int64_t n = t.dims[0];
      convert_rows(*pool, type, n, rows, [&](int64_t r, float* dst) {
        if (t.std_dev > 0) {
          fill_normal(dst, n, t.std_dev, tensor_seed ^ (static_cast<uint64_t>(r) * 0xA24BAED4963EE407ull));
        } else if (!t.values.empty()) {
          std::copy(t.values.begin(), t.values.end(), dst);
        } else {
          std::fill(dst, dst + n, 1.0f);
        }
      }, out);
      progress->item_done(static_cast<int>(i), bytes, detail);
    });
  }
  w.write(o.output);
  progress->finish();
  std::fprintf(stderr, "%s: %s, %d layers, %s, %s; vocabulary: %s\n", o.output.c_str(), std::string(p->name).c_str(),
               n_layer, std::string(mix->name).c_str(), format_bytes(static_cast<double>(total)).c_str(),
               vocab_note.c_str());
}

}  // namespace

void add_synth_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<SynthOptions>();
  CLI::App* cmd = app.add_subcommand("synth", "Write a GGUF with random weights in the shape of a known model");
  cmd->footer(
      "Presets: " + synth_preset_names() +
      "\nTypes: " + quant_mix_names() +
      "\n\n"
      "The vocabulary is the model family's real one, read from the shared data folder (--data, or the\n"
      "FORGE_DATA_DIR environment variable), or with --vocab generated a byte-level BPE vocabulary of the\n"
      "right size whose tokens mean nothing. The weights are random, so the text is noise; the sizes,\n"
      "shapes and speed are real.\n\n"
      "Examples:\n"
      "  forge synth --preset llama-3.2-1b --type Q4_0 -o llama-1b-q4_0.gguf --data shared/data\n"
      "  forge synth --preset smollm2-135m --type Q8_0 -o tiny.gguf --layers 2 --vocab generated");
  cmd->add_option("--preset", o->preset, "Model shape")->required();
  cmd->add_option("--type", o->type, "Weight type or llama.cpp mix (as forge quantize)")->required();
  cmd->add_option("-o,--output", o->output, "File to write (.gguf)")->required();
  cmd->add_option("--seed", o->seed, "Random seed")->capture_default_str();
  cmd->add_option("--layers", o->layers, "Fewer layers than the preset has (for quick tests)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("-t,--threads", o->threads, "Threads (default: physical cores)")->check(CLI::Range(0, 1024));
  cmd->add_option("--data", o->data_dir, "The shared data folder holding vocabularies (default: $FORGE_DATA_DIR)");
  cmd->add_option("--vocab", o->vocab, "auto (real when a data folder is known), real, or generated")
      ->capture_default_str();
  cmd->callback([o, &exit_code] {
    run_synth(*o);
    exit_code = 0;
  });
}

}  // namespace forge::cli
