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

// A scaled value about to become an int8 level, kept in [-127, 127] (NaN -> 0).
// For ordinary input this never changes anything; it makes subnormal or
// infinite scales (1/d overflowing) give defined, ISA-independent levels.
inline float clamp_q8(float v) {
  if (!(v == v)) return 0.0f;
  return std::fmin(std::fmax(v, -127.0f), 127.0f);
}

}  // namespace forge::quant::detail
