// Options every model-running command shares (model, tokenizer, threads,
// context) and the sampling flags of run / chat, with their parsing.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "runtime/generate.h"
#include "runtime/loaded_model.h"
#include "runtime/sampler_params.h"

namespace forge::cli {

struct ModelOptions {
  std::string model;
  std::string tokenizer;
  int threads = 0;
  int ctx = 0;
  bool kv_f32 = false;
  std::vector<std::string> loras;        // --lora, repeatable
  std::vector<double> lora_scales;       // --lora-scale: one for all, or one per --lora
  std::vector<std::string> override_kv;  // --override-kv KEY=TYPE:VALUE, repeatable

  // Throws std::invalid_argument for a --lora-scale count that fits no reading.
  std::unique_ptr<runtime::LoadedModel> load() const;
  interp::InterpreterOptions interpreter_options() const;
};
void add_model_options(CLI::App* cmd, ModelOptions& o);

struct SamplingFlags {
  runtime::SamplingParams params;
  int64_t seed = -1;
  bool greedy = false;
  std::vector<std::string> logit_bias;  // "ID=BIAS"
  runtime::GenerateOptions gen;

  // Params with the flags applied and validated (std::invalid_argument).
  runtime::SamplingParams resolve() const;
};
void add_sampling_options(CLI::App* cmd, SamplingFlags& f);

}  // namespace forge::cli
