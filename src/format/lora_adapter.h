// LoRA adapters, read but not applied: a list of (base weight, A, B, scale),
// each A and B a view into the adapter file. Merging (W += scale * B @ A) is
// the model layer's job.
//
// Two forms:
//  - a PEFT folder: adapter_config.json (r, lora_alpha, target_modules,
//    use_rslora, fan_in_fan_out, base_model_name_or_path) and
//    adapter_model.safetensors with tensors named
//    "base_model.model.<module path>.lora_A.weight" / ".lora_B.weight";
//  - a GGUF adapter as llama.cpp's convert_lora_to_gguf.py writes it:
//    general.type "adapter", adapter.type "lora", adapter.lora.alpha, tensors
//    "<base tensor>.lora_a" / ".lora_b" (e.g. blk.0.attn_q.weight.lora_a).
//    For arch llama, the converter permutes the rows of attn_q / attn_k B the
//    way it permutes the base Q/K weights, so such a B matches the GGUF base,
//    not the HF one.
//
// Scale: PEFT uses lora_alpha / r, or lora_alpha / sqrt(r) with use_rslora
// (Kalajdzievski 2023, "A Rank Stabilization Scaling Factor for Fine-Tuning
// with LoRA"). GGUF: adapter.lora.alpha / rank, as llama.cpp computes it; an
// alpha of 0 or none means scale 1 (llama.cpp's rule).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "format/format_error.h"
#include "format/ggml_types.h"
#include "format/gguf_file.h"
#include "format/safetensors_file.h"

namespace forge {

// A row-major matrix view: `rows` rows of `cols` elements of `type`.
struct LoraMatrix {
  std::string name;  // the tensor's name in the adapter file
  GgmlType type = GgmlType::F32;
  int64_t rows = 0, cols = 0;
  std::span<const uint8_t> data;
};

struct LoraPair {
  // The base weight this pair changes, named as the adapter's form names
  // weights: "model.layers.0.self_attn.q_proj.weight" (PEFT, HF names) or
  // "blk.0.attn_q.weight" (GGUF names).
  std::string target;
  std::string module;  // "q_proj" / "attn_q"
  int layer = -1;      // from "layers.N." / "blk.N.", -1 outside the layers (lm_head, output)
  int64_t rank = 0;
  double scale = 1.0;
  LoraMatrix a;  // [rank, in]
  LoraMatrix b;  // [out, rank]: delta W [out, in] = scale * B @ A
};

enum class LoraFormat { Peft, Gguf };

class LoraAdapter {
 public:
  // A PEFT folder (or its adapter_config.json), or a .gguf file.
  static LoraAdapter open(const std::string& path);
  static LoraAdapter open_peft(const std::string& dir);
  static LoraAdapter open_gguf(const std::string& path);

  LoraAdapter(LoraAdapter&&) noexcept;
  LoraAdapter& operator=(LoraAdapter&&) noexcept;
  ~LoraAdapter();

  LoraFormat format() const { return format_; }
  const std::string& path() const { return path_; }  // the folder or the .gguf
  // PEFT: r. GGUF: the rank of every pair when they agree, else none.
  std::optional<int64_t> rank() const { return rank_; }
  double alpha() const { return alpha_; }
  bool use_rslora() const { return use_rslora_; }
  // PEFT's flag for base weights stored [in, out] (GPT-2 Conv1D); A and B keep
  // their shapes, the delta is transposed. Always false for GGUF.
  bool fan_in_fan_out() const { return fan_in_fan_out_; }
  // PEFT base_model_name_or_path; GGUF general.architecture ("llama").
  const std::string& base_model() const { return base_model_; }
  // PEFT target_modules as written (empty when given as a pattern); GGUF:
  // the modules its tensors adapt, in order of first appearance.
  const std::vector<std::string>& target_modules() const { return target_modules_; }

  const std::vector<LoraPair>& pairs() const { return pairs_; }
  const LoraPair* find(std::string_view target) const;

 private:
  LoraAdapter() = default;
  friend class PeftAdapterReader;
  friend class GgufAdapterReader;

  LoraFormat format_ = LoraFormat::Peft;
  std::string path_;
  std::optional<int64_t> rank_;
  double alpha_ = 0;
  bool use_rslora_ = false;
  bool fan_in_fan_out_ = false;
  std::string base_model_;
  std::vector<std::string> target_modules_;
  std::vector<LoraPair> pairs_;
  std::unique_ptr<SafetensorsFile> safetensors_;  // owns the mapping the views point into
  std::unique_ptr<GgufFile> gguf_;
};

// Module names LoRA may target: the linear layers of the architectures Forge
// maps, in HF spelling and in GGUF spelling. Anything else is refused by name.
bool is_known_hf_lora_module(std::string_view module);
bool is_known_gguf_lora_module(std::string_view module);
std::string known_hf_lora_modules();  // "q_proj, k_proj, ..." for messages
std::string known_gguf_lora_modules();

}  // namespace forge
