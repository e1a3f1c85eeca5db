// The shapes of known models for `forge synth`: hyper-parameters as their
// Hugging Face config.json files give them, and where their vocabulary can be
// found under the shared test data.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "cli/rope_factors.h"

namespace forge::cli {

enum class VocabSource {
  kGguf,           // a llama.cpp vocab-only GGUF: its tokenizer.* keys are copied
  kTokenizerJson,  // a Hugging Face tokenizer.json (byte-level BPE)
};

struct SynthPreset {
  std::string_view name;
  std::string_view arch;   // GGUF general.architecture
  std::string_view title;  // general.name
  int n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx;
  float rope_theta, norm_eps;
  bool tied;
  bool qkv_bias;
  std::optional<Llama3RopeScaling> llama3_rope;
  VocabSource vocab;
  std::string_view vocab_path;     // relative to the data folder
  std::string_view pre_tokenizer;  // tokenizer.ggml.pre for tokenizer.json vocabularies
  std::string_view chat_template;  // relative to the data folder; may be absent
};

const SynthPreset* find_synth_preset(std::string_view name);
std::string synth_preset_names();

}  // namespace forge::cli
