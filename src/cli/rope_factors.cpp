#include "cli/rope_factors.h"

#include <cmath>
#include <numbers>

namespace forge::cli {

std::vector<float> llama3_rope_factors(float theta, int head_dim, const Llama3RopeScaling& s) {
  const float low_wavelen = static_cast<float>(s.original_context) / s.low_freq_factor;
  const float high_wavelen = static_cast<float>(s.original_context) / s.high_freq_factor;
  std::vector<float> out;
  for (int i = 0; i < head_dim; i += 2) {
    const float freq = 1.0f / std::pow(theta, static_cast<float>(i) / static_cast<float>(head_dim));
    const float wavelen = static_cast<float>(2.0 * std::numbers::pi) / freq;
    if (wavelen < high_wavelen) {
      out.push_back(1.0f);
    } else if (wavelen > low_wavelen) {
      out.push_back(s.factor);
    } else {
      const float smooth = (static_cast<float>(s.original_context) / wavelen - s.low_freq_factor) /
                           (s.high_freq_factor - s.low_freq_factor);
      out.push_back(1.0f / ((1.0f - smooth) / s.factor + smooth));
    }
  }
  return out;
}

}  // namespace forge::cli
