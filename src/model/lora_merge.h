// LoRA merged into a model's weights once, at load: W' = W + scale * B @ A,
// written into an owned copy of each adapted tensor (ModelSpec::owned) so the
// mapped file is never touched. Quantized base weights are dequantized row by
// row, summed and quantized back to their own type.
#pragma once

#include <string>
#include <vector>

#include "format/lora_adapter.h"
#include "model/model_spec.h"

namespace forge::model {

struct LoraMergeReport {
  int tensors = 0;                       // base tensors changed
  std::vector<std::string> requantized;  // of those, the quantized ones (rounded again)
};

// `user_scale` multiplies the adapter's own alpha / r (llama.cpp's
// --lora-scaled semantics). The adapter's names may be in either form (HF
// module paths or GGUF tensor names), whatever form the base came from; for
// llama GGUFs, whose converter permutes Q/K rows, the B of attn_q / attn_k is
// permuted to match when the forms differ. Throws ModelError naming the
// adapter and tensor for a target the model lacks or a shape that does not
// fit (an adapter for another model).
LoraMergeReport merge_lora(ModelSpec& spec, const LoraAdapter& adapter, double user_scale = 1.0);

}  // namespace forge::model
