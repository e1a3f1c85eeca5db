// Rounding helpers shared by the reference quantizers (internal to src/quant).
#pragma once

#include <cmath>

namespace forge::quant::detail {

// Round to nearest, ties to even (ggml's `nearest_int`). Inputs are clamped
// first so that NaN or huge values from a bad file give a defined result.
inline int nearest_int(float x) {
  x = std::fmin(std::fmax(x, -1e9f), 1e9f);
  return static_cast<int>(std::nearbyint(x));
}

}  // namespace forge::quant::detail
