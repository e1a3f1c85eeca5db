#include "cli/synth_presets.h"

namespace forge::cli {

namespace {

// Values from each model's config.json on the Hugging Face hub.
const SynthPreset kPresets[] = {
    {"smollm2-135m", "llama", "SmolLM2 135M (random weights)", 576, 30, 9, 3, 64, 1536, 49152, 8192, 1e5f, 1e-5f,
     true, false, std::nullopt, VocabSource::kTokenizerJson, "tokenizers/smollm-135m/tokenizer.json", "smollm",
     "chat-templates/HuggingFaceTB-SmolLM2-135M-Instruct.jinja"},
    {"smollm2-360m", "llama", "SmolLM2 360M (random weights)", 960, 32, 15, 5, 64, 2560, 49152, 8192, 1e5f, 1e-5f,
     true, false, std::nullopt, VocabSource::kTokenizerJson, "tokenizers/smollm-135m/tokenizer.json", "smollm",
     "chat-templates/HuggingFaceTB-SmolLM2-135M-Instruct.jinja"},
    {"llama-3.2-1b", "llama", "Llama 3.2 1B (random weights)", 2048, 16, 32, 8, 64, 8192, 128256, 131072, 5e5f,
     1e-5f, true, false, Llama3RopeScaling{32.0f, 1.0f, 4.0f, 8192}, VocabSource::kGguf,
     "vocab/ggml-vocab-llama-bpe.gguf", "", "chat-templates/meta-llama-Llama-3.2-3B-Instruct.jinja"},
    {"llama-3.2-3b", "llama", "Llama 3.2 3B (random weights)", 3072, 28, 24, 8, 128, 8192, 128256, 131072, 5e5f,
     1e-5f, true, false, Llama3RopeScaling{32.0f, 1.0f, 4.0f, 8192}, VocabSource::kGguf,
     "vocab/ggml-vocab-llama-bpe.gguf", "", "chat-templates/meta-llama-Llama-3.2-3B-Instruct.jinja"},
    {"qwen2.5-0.5b", "qwen2", "Qwen2.5 0.5B (random weights)", 896, 24, 14, 2, 64, 4864, 151936, 32768, 1e6f, 1e-6f,
     true, true, std::nullopt, VocabSource::kGguf, "vocab/ggml-vocab-qwen2.gguf", "",
     "chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja"},
    {"tinyllama-1.1b", "llama", "TinyLlama 1.1B (random weights)", 2048, 22, 32, 4, 64, 5632, 32000, 2048, 1e4f,
     1e-5f, false, false, std::nullopt, VocabSource::kGguf, "vocab/ggml-vocab-llama-spm.gguf", "",
     "chat-templates/TinyLlama-TinyLlama-1.1B-Chat-v1.0.jinja"},
};

}  // namespace

const SynthPreset* find_synth_preset(std::string_view name) {
  for (const auto& p : kPresets) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string synth_preset_names() {
  std::string s;
  for (const auto& p : kPresets) s += (s.empty() ? "" : ", ") + std::string(p.name);
  return s;
}

}  // namespace forge::cli
