// ModelSpec from a Hugging Face folder: config.json plus model.safetensors
// (or shards listed by model.safetensors.index.json) in F32, F16 or BF16,
// mapped onto the same spec the GGUF families fill. Hugging Face stores Q/K
// rows unpermuted, so RoPE is half-split for every architecture, and Gemma's
// norms apply (1 + w), which becomes norm_weight_offset 1.
#pragma once

#include <memory>
#include <string>

#include "format/hf_config.h"
#include "format/safetensors_set.h"
#include "model/model_spec.h"

namespace forge::model {

// Throws ModelError (unsupported architecture or feature, a config.json that
// contradicts the weights) or FormatError (malformed files), naming the file
// and the key or tensor. WeightRefs point into `weights` (and spec.owned).
ModelSpec spec_from_hf(const HfConfig& config, const SafetensorsSet& weights);

// A folder opened: its config, its mapped weights and the spec over them.
struct HfModel {
  HfConfig config;
  SafetensorsSet weights;
  ModelSpec spec;
};
std::unique_ptr<HfModel> open_hf_model(const std::string& dir);

// True when `path` is a folder holding config.json.
bool is_hf_folder(const std::string& path);

}  // namespace forge::model
