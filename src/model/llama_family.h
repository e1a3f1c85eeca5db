// Architecture families, each a function that fills the spec from a GGUF.
// They share `bind_common` for what every decoder-only transformer has.
#pragma once

#include "model/gguf_binder.h"

namespace forge::model {

// Hyper-parameters and the tensors every supported family names the same way
// (token_embd, output_norm, output; blk.N.attn_norm, attn_q/k/v/output,
// ffn_norm, ffn_gate/up/down).
void bind_common(const GgufBinder& b, ModelSpec& spec);

// `llama` (Llama 1-3, SmolLM2, TinyLlama, stories, Mistral converted as llama).
void configure_llama(const GgufBinder& b, ModelSpec& spec);

}  // namespace forge::model
