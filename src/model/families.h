// The GGUF architecture families beyond llama, one small file each. Each
// fills the spec with bind_common and then states how the family differs, as
// data in the spec (norm kind, RoPE style, activation, caps, windows).
#pragma once

#include "model/gguf_binder.h"

namespace forge::model {

void configure_qwen2(const GgufBinder& b, ModelSpec& spec);     // qwen2.cpp
void configure_phi3(const GgufBinder& b, ModelSpec& spec);      // phi3.cpp
void configure_gemma(const GgufBinder& b, ModelSpec& spec);     // gemma_family.cpp
void configure_gemma2(const GgufBinder& b, ModelSpec& spec);    // gemma_family.cpp
void configure_gemma3(const GgufBinder& b, ModelSpec& spec);    // gemma_family.cpp
void configure_stablelm(const GgufBinder& b, ModelSpec& spec);  // stablelm.cpp

}  // namespace forge::model
