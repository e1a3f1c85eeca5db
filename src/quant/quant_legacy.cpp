// The 32-element formats Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1: the reference
// algorithms of ggml's `quantize_row_*_ref` (rescaled so the extreme value
// lands on the end of the integer range, rounded with roundf / +0.5).
#include <cmath>
#include <cstring>

#include "quant/fp16.h"
#include "quant/quant.h"
#include "quant/rounding.h"

namespace forge::quant {
namespace {

uint32_t load_qh(const uint8_t qh[4]) {
  uint32_t v;
  std::memcpy(&v, qh, 4);
  return v;  // little-endian host assumed throughout (x86-64, AArch64)
}

// The value of largest magnitude (its sign kept) and that magnitude.
void abs_max(const float* x, int n, float* vmax, float* amax) {
  *vmax = 0;
  *amax = 0;
  for (int j = 0; j < n; ++j) {
    if (*amax < std::fabs(x[j])) {
      *amax = std::fabs(x[j]);
      *vmax = x[j];
    }
  }
}

void min_max(const float* x, int n, float* lo, float* hi) {
  *lo = INFINITY;
  *hi = -INFINITY;
  for (int j = 0; j < n; ++j) {
    if (x[j] < *lo) *lo = x[j];
    if (x[j] > *hi) *hi = x[j];
  }
}

// Float to a small unsigned int the way ggml's references write it: (int8_t)
// truncation of a non-negative value. Clamped first so NaN stays defined.
int trunc_to_int(float v, int hi) {
  if (!(v > 0)) return 0;
  if (v > static_cast<float>(hi)) return hi;
  return static_cast<int>(v);
}

}  // namespace

// ---- Q4_0: x = d * (q - 8), d = vmax / -8 --------------------------------------
void dequantize_row(const BlockQ4_0* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK32; ++i, y += kQK32) {
    const float d = fp16_to_fp32(x[i].d);
    for (int j = 0; j < 16; ++j) {
      y[j] = static_cast<float>((x[i].qs[j] & 0xf) - 8) * d;
      y[j + 16] = static_cast<float>((x[i].qs[j] >> 4) - 8) * d;
    }
  }
}
void quantize_row(const float* x, BlockQ4_0* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK32; ++i, x += kQK32) {
    float vmax, amax;
    abs_max(x, 32, &vmax, &amax);
    const float d = vmax / -8;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    for (int j = 0; j < 16; ++j) {
      const int q0 = trunc_to_int(x[j] * id + 8.5f, 15);
      const int q1 = trunc_to_int(x[j + 16] * id + 8.5f, 15);
      y[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}
float vec_dot(const BlockQ4_0* w, const BlockQ8_0* a, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n / kQK32; ++i) {
    int sumi = 0;
    for (int j = 0; j < 16; ++j) {
      sumi += ((w[i].qs[j] & 0xf) - 8) * a[i].qs[j] + ((w[i].qs[j] >> 4) - 8) * a[i].qs[j + 16];
    }
    s += fp16_to_fp32(w[i].d) * fp16_to_fp32(a[i].d) * static_cast<float>(sumi);
  }
  return s;
}

// ---- Q4_1: x = d * q + m, m = min, d = (max - min) / 15 -------------------------
void dequantize_row(const BlockQ4_1* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK32; ++i, y += kQK32) {
    const float d = fp16_to_fp32(x[i].d), m = fp16_to_fp32(x[i].m);
    for (int j = 0; j < 16; ++j) {
      y[j] = static_cast<float>(x[i].qs[j] & 0xf) * d + m;
      y[j + 16] = static_cast<float>(x[i].qs[j] >> 4) * d + m;
    }
  }
}
void quantize_row(const float* x, BlockQ4_1* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK32; ++i, x += kQK32) {
    float lo, hi;
    min_max(x, 32, &lo, &hi);
    const float d = (hi - lo) / 15;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    y[i].m = fp32_to_fp16(lo);
    for (int j = 0; j < 16; ++j) {
      const int q0 = trunc_to_int((x[j] - lo) * id + 0.5f, 15);
      const int q1 = trunc_to_int((x[j + 16] - lo) * id + 0.5f, 15);
      y[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}
float vec_dot(const BlockQ4_1* w, const BlockQ8_1* a, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n / kQK32; ++i) {
    int sumi = 0;
    for (int j = 0; j < 16; ++j) sumi += (w[i].qs[j] & 0xf) * a[i].qs[j] + (w[i].qs[j] >> 4) * a[i].qs[j + 16];
    s += fp16_to_fp32(w[i].d) * fp16_to_fp32(a[i].d) * static_cast<float>(sumi) +
         fp16_to_fp32(w[i].m) * fp16_to_fp32(a[i].s);
  }
  return s;
}

// ---- Q5_0: x = d * (q - 16), d = vmax / -16 -------------------------------------
void dequantize_row(const BlockQ5_0* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK32; ++i, y += kQK32) {
    const float d = fp16_to_fp32(x[i].d);
    const uint32_t qh = load_qh(x[i].qh);
    for (int j = 0; j < 16; ++j) {
      const int q0 = (x[i].qs[j] & 0xf) | static_cast<int>(((qh >> j) & 1u) << 4);
      const int q1 = (x[i].qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
      y[j] = static_cast<float>(q0 - 16) * d;
      y[j + 16] = static_cast<float>(q1 - 16) * d;
    }
  }
}
void quantize_row(const float* x, BlockQ5_0* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK32; ++i, x += kQK32) {
    float vmax, amax;
    abs_max(x, 32, &vmax, &amax);
    const float d = vmax / -16;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      const int q0 = trunc_to_int(x[j] * id + 16.5f, 31);
      const int q1 = trunc_to_int(x[j + 16] * id + 16.5f, 31);
      y[i].qs[j] = static_cast<uint8_t>((q0 & 0xf) | ((q1 & 0xf) << 4));
      qh |= static_cast<uint32_t>(q0 >> 4) << j;
      qh |= static_cast<uint32_t>(q1 >> 4) << (j + 16);
    }
    std::memcpy(y[i].qh, &qh, 4);
  }
}
float vec_dot(const BlockQ5_0* w, const BlockQ8_0* a, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n / kQK32; ++i) {
    const uint32_t qh = load_qh(w[i].qh);
    int sumi = 0;
    for (int j = 0; j < 16; ++j) {
      const int q0 = ((w[i].qs[j] & 0xf) | static_cast<int>(((qh >> j) & 1u) << 4)) - 16;
      const int q1 = ((w[i].qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4)) - 16;
      sumi += q0 * a[i].qs[j] + q1 * a[i].qs[j + 16];
    }
    s += fp16_to_fp32(w[i].d) * fp16_to_fp32(a[i].d) * static_cast<float>(sumi);
  }
  return s;
}

// ---- Q5_1: x = d * q + m ---------------------------------------------------------
void dequantize_row(const BlockQ5_1* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK32; ++i, y += kQK32) {
    const float d = fp16_to_fp32(x[i].d), m = fp16_to_fp32(x[i].m);
    const uint32_t qh = load_qh(x[i].qh);
    for (int j = 0; j < 16; ++j) {
      const int q0 = (x[i].qs[j] & 0xf) | static_cast<int>(((qh >> j) & 1u) << 4);
      const int q1 = (x[i].qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
      y[j] = static_cast<float>(q0) * d + m;
      y[j + 16] = static_cast<float>(q1) * d + m;
    }
  }
}
void quantize_row(const float* x, BlockQ5_1* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK32; ++i, x += kQK32) {
    float lo, hi;
    min_max(x, 32, &lo, &hi);
    const float d = (hi - lo) / 31;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    y[i].m = fp32_to_fp16(lo);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      const int q0 = trunc_to_int((x[j] - lo) * id + 0.5f, 31);
      const int q1 = trunc_to_int((x[j + 16] - lo) * id + 0.5f, 31);
      y[i].qs[j] = static_cast<uint8_t>((q0 & 0xf) | ((q1 & 0xf) << 4));
      qh |= static_cast<uint32_t>(q0 >> 4) << j;
      qh |= static_cast<uint32_t>(q1 >> 4) << (j + 16);
    }
    std::memcpy(y[i].qh, &qh, 4);
  }
}
float vec_dot(const BlockQ5_1* w, const BlockQ8_1* a, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n / kQK32; ++i) {
    const uint32_t qh = load_qh(w[i].qh);
    int sumi = 0;
    for (int j = 0; j < 16; ++j) {
      const int q0 = (w[i].qs[j] & 0xf) | static_cast<int>(((qh >> j) & 1u) << 4);
      const int q1 = (w[i].qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
      sumi += q0 * a[i].qs[j] + q1 * a[i].qs[j + 16];
    }
    s += fp16_to_fp32(w[i].d) * fp16_to_fp32(a[i].d) * static_cast<float>(sumi) +
         fp16_to_fp32(w[i].m) * fp16_to_fp32(a[i].s);
  }
  return s;
}

// ---- Q8_0 / Q8_1: x = d * q, d = amax / 127, q = roundf(x / d) ----------------
void dequantize_row(const BlockQ8_0* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK32; ++i, y += kQK32) {
    const float d = fp16_to_fp32(x[i].d);
    for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(x[i].qs[j]) * d;
  }
}
void quantize_row(const float* x, BlockQ8_0* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK32; ++i, x += kQK32) {
    float vmax, amax;
    abs_max(x, 32, &vmax, &amax);
    const float d = amax / 127;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    for (int j = 0; j < 32; ++j) y[i].qs[j] = static_cast<int8_t>(std::roundf(detail::clamp_q8(x[j] * id)));
  }
}
float vec_dot(const BlockQ8_0* w, const BlockQ8_0* a, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n / kQK32; ++i) {
    int sumi = 0;
    for (int j = 0; j < 32; ++j) sumi += w[i].qs[j] * a[i].qs[j];
    s += fp16_to_fp32(w[i].d) * fp16_to_fp32(a[i].d) * static_cast<float>(sumi);
  }
  return s;
}

void dequantize_row(const BlockQ8_1* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK32; ++i, y += kQK32) {
    const float d = fp16_to_fp32(x[i].d);
    for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(x[i].qs[j]) * d;
  }
}
void quantize_row(const float* x, BlockQ8_1* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK32; ++i, x += kQK32) {
    float vmax, amax;
    abs_max(x, 32, &vmax, &amax);
    const float d = amax / 127;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      y[i].qs[j] = static_cast<int8_t>(std::roundf(detail::clamp_q8(x[j] * id)));
      sum += y[i].qs[j];
    }
    y[i].s = fp32_to_fp16(static_cast<float>(sum) * d);
  }
}
float vec_dot(const BlockQ8_1* w, const BlockQ8_0* a, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n / kQK32; ++i) {
    int sumi = 0;
    for (int j = 0; j < 32; ++j) sumi += w[i].qs[j] * a[i].qs[j];
    s += fp16_to_fp32(w[i].d) * fp16_to_fp32(a[i].d) * static_cast<float>(sumi);
  }
  return s;
}

}  // namespace forge::quant
