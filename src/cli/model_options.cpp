#include "cli/model_options.h"

#include <cmath>
#include <stdexcept>

namespace forge::cli {

void add_model_options(CLI::App* cmd, ModelOptions& o) {
  cmd->add_option("-m,--model", o.model, "Model: a .gguf file, or a Hugging Face folder (config.json + *.safetensors)")
      ->required();
  cmd->add_option("--tokenizer", o.tokenizer,
                  "tokenizer.json, or a folder holding one (default: the vocabulary inside the GGUF)");
  cmd->add_option("-t,--threads", o.threads, "Threads (default: physical cores)")->check(CLI::Range(0, 1024));
  cmd->add_option("-c,--ctx", o.ctx, "Context length in tokens (default: the model's, at most 4096)")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_flag("--kv-f32", o.kv_f32, "Keep the KV cache in F32 (default F16)");
  cmd->add_option("--lora", o.loras, "LoRA adapter (PEFT folder or GGUF) merged into the weights at load; repeatable");
  cmd->add_option("--lora-scale", o.lora_scales,
                  "Scale of the adapters (times alpha/r): one for all, or one per --lora in order (default 1)");
  cmd->add_option("--override-kv", o.override_kv,
                  "KEY=TYPE:VALUE replacing GGUF metadata (TYPE int, float, bool or str), e.g. "
                  "llama.attention.sliding_window=int:4096; repeatable");
}

std::unique_ptr<runtime::LoadedModel> ModelOptions::load() const {
  if (!lora_scales.empty() && loras.empty()) throw std::invalid_argument("--lora-scale given without --lora");
  if (lora_scales.size() > 1 && lora_scales.size() != loras.size()) {
    throw std::invalid_argument("--lora-scale given " + std::to_string(lora_scales.size()) + " times for " +
                                std::to_string(loras.size()) + " --lora adapters (give one, or one per adapter)");
  }
  runtime::LoadOptions lo{model, tokenizer, {}, override_kv};
  for (size_t i = 0; i < loras.size(); ++i) {
    const double scale = lora_scales.empty() ? 1.0 : lora_scales[lora_scales.size() == 1 ? 0 : i];
    lo.loras.push_back({loras[i], scale});
  }
  return runtime::LoadedModel::load(lo);
}

interp::InterpreterOptions ModelOptions::interpreter_options() const {
  interp::InterpreterOptions o;
  o.n_ctx = ctx;
  o.threads = threads;
  o.kv_f32 = kv_f32;
  return o;
}

void add_sampling_options(CLI::App* cmd, SamplingFlags& f) {
  auto& p = f.params;
  cmd->add_option("-n,--max-tokens", f.gen.max_tokens, "Tokens to generate at most (-1: until the context is full)")
      ->capture_default_str();
  cmd->add_option("--temp", p.temperature, "Temperature; 0 is greedy")->capture_default_str();
  cmd->add_flag("--greedy", f.greedy, "Greedy decoding (same as --temp 0)");
  cmd->add_option("--top-k", p.top_k, "Keep the k most likely tokens (0: off)")->capture_default_str();
  cmd->add_option("--top-p", p.top_p, "Nucleus sampling mass (1: off)")->capture_default_str();
  cmd->add_option("--min-p", p.min_p, "Drop tokens below this fraction of the best one's probability (0: off)")
      ->capture_default_str();
  cmd->add_option("--typical-p", p.typical_p, "Locally typical sampling mass (1: off)")->capture_default_str();
  cmd->add_option("--repeat-penalty", p.repeat_penalty, "Penalty for repeated tokens (1: off)")->capture_default_str();
  cmd->add_option("--repeat-last-n", p.penalty_last_n, "Window of recent tokens the penalties look at (-1: all)")
      ->capture_default_str();
  cmd->add_option("--frequency-penalty", p.frequency_penalty, "OpenAI frequency penalty")->capture_default_str();
  cmd->add_option("--presence-penalty", p.presence_penalty, "OpenAI presence penalty")->capture_default_str();
  cmd->add_option("--seed", f.seed, "Random seed; the same seed gives the same text (default: random)");
  cmd->add_option("--logit-bias", f.logit_bias, "TOKEN_ID=BIAS added to a token's logit (-inf bans it); repeatable");
  cmd->add_option("--stop", f.gen.stop, "Stop when this text appears (repeatable)");
  cmd->add_flag("--ignore-eos", f.gen.ignore_eos, "Keep generating past end-of-generation tokens");
}

runtime::SamplingParams SamplingFlags::resolve() const {
  runtime::SamplingParams p = params;
  if (greedy) p.temperature = 0.0f;
  if (seed >= 0) p.seed = static_cast<uint64_t>(seed);
  for (const std::string& lb : logit_bias) {
    const size_t eq = lb.find('=');
    if (eq == std::string::npos) throw std::invalid_argument("--logit-bias '" + lb + "': expected TOKEN_ID=BIAS");
    try {
      size_t used = 0;
      const int id = std::stoi(lb.substr(0, eq), &used);
      if (used != eq) throw std::invalid_argument("id");
      const std::string b = lb.substr(eq + 1);
      const float bias = (b == "-inf" || b == "-infinity") ? -INFINITY : std::stof(b);
      p.logit_bias[id] = bias;
    } catch (const std::logic_error&) {
      throw std::invalid_argument("--logit-bias '" + lb + "': expected TOKEN_ID=BIAS");
    }
  }
  p.validate();
  return p;
}

}  // namespace forge::cli
