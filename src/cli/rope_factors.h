// Llama 3 RoPE frequency scaling as llama.cpp's converter stores it: one
// divisor per rotated pair in a `rope_freqs.weight` tensor (F32).
#pragma once

#include <vector>

namespace forge::cli {

struct Llama3RopeScaling {
  float factor = 8.0f;
  float low_freq_factor = 1.0f;
  float high_freq_factor = 4.0f;
  int original_context = 8192;
};

// head_dim / 2 factors for frequencies theta^(-2i/head_dim): 1 for short
// wavelengths, `factor` for long ones, a smooth blend in between (Meta's
// reference, as convert_hf_to_gguf.py computes it, in float32).
std::vector<float> llama3_rope_factors(float theta, int head_dim, const Llama3RopeScaling& s);

}  // namespace forge::cli
