// Reference dot products of K-quant weight rows with Q8_K activations.
// Per super-block the integer part is exact: su = sum over 16-element groups
// of scale * sum(q * a), sm = sum of min * activation group sums (bsums). The
// float combination per block is the one the SIMD kernels use too, so their
// results are bit-identical to these.
#include "quant/fp16.h"
#include "quant/quant.h"

namespace forge::quant {
namespace {

// sum over 16-element groups g of sc[g] * sum(q[16g..] * a[16g..]).
int32_t grouped_dot(const int8_t* q, const int8_t* a, const int* sc) {
  int32_t su = 0;
  for (int g = 0; g < 16; ++g) {
    int32_t s = 0;
    for (int l = 0; l < 16; ++l) s += q[16 * g + l] * a[16 * g + l];
    su += sc[g] * s;
  }
  return su;
}

}  // namespace

float vec_dot(const BlockQ2_K* w, const BlockQ8_K* a, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    int8_t q[kQKK];
    int sc[16];
    int32_t sm = 0;
    for (int g = 0; g < 16; ++g) {
      sc[g] = w[i].scales[g] & 0xf;
      sm += (w[i].scales[g] >> 4) * a[i].bsums[g];
    }
    for (int e = 0; e < kQKK; ++e) {
      const int half = e / 128, j = (e % 128) / 32, l = e % 32;
      q[e] = static_cast<int8_t>((w[i].qs[32 * half + l] >> (2 * j)) & 3);
    }
    const int32_t su = grouped_dot(q, a[i].qs, sc);
    const float dd = fp16_to_fp32(w[i].d) * a[i].d, dm = fp16_to_fp32(w[i].dmin) * a[i].d;
    s += dd * static_cast<float>(su) - dm * static_cast<float>(sm);
  }
  return s;
}

float vec_dot(const BlockQ3_K* w, const BlockQ8_K* a, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    int8_t q[kQKK];
    int sc[16];
    for (int g = 0; g < 16; ++g) sc[g] = q3k_scale(g, w[i].scales);
    for (int e = 0; e < kQKK; ++e) {
      const int half = e / 128, j = (e % 128) / 32, l = e % 32;
      const int lo = (w[i].qs[32 * half + l] >> (2 * j)) & 3;
      const int hi = (w[i].hmask[l] >> (4 * half + j)) & 1;
      q[e] = static_cast<int8_t>(lo + 4 * hi - 4);
    }
    const int32_t su = grouped_dot(q, a[i].qs, sc);
    s += (fp16_to_fp32(w[i].d) * a[i].d) * static_cast<float>(su);
  }
  return s;
}

namespace {

// Shared by Q4_K and Q5_K: `q` holds the unsigned levels.
float dot_kx_block(const uint16_t d, const uint16_t dmin, const uint8_t* packed, const int8_t* q,
                   const BlockQ8_K& a) {
  int sc[16];
  int32_t sm = 0;
  for (int j = 0; j < 8; ++j) {
    uint8_t s, m;
    kquant_scale_min(j, packed, &s, &m);
    sc[2 * j] = sc[2 * j + 1] = s;
    sm += m * (a.bsums[2 * j] + a.bsums[2 * j + 1]);
  }
  const int32_t su = grouped_dot(q, a.qs, sc);
  const float dd = fp16_to_fp32(d) * a.d, dm = fp16_to_fp32(dmin) * a.d;
  return dd * static_cast<float>(su) - dm * static_cast<float>(sm);
}

}  // namespace

float vec_dot(const BlockQ4_K* w, const BlockQ8_K* a, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    int8_t q[kQKK];
    for (int e = 0; e < kQKK; ++e) {
      const int j = e / 64, l = e % 32;
      const uint8_t b = w[i].qs[32 * j + l];
      q[e] = static_cast<int8_t>((e % 64) < 32 ? (b & 0xf) : (b >> 4));
    }
    s += dot_kx_block(w[i].d, w[i].dmin, w[i].scales, q, a[i]);
  }
  return s;
}

float vec_dot(const BlockQ5_K* w, const BlockQ8_K* a, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    int8_t q[kQKK];
    for (int e = 0; e < kQKK; ++e) {
      const int j = e / 64, l = e % 32, sub = e / 32;
      const uint8_t b = w[i].qs[32 * j + l];
      const int lo = (e % 64) < 32 ? (b & 0xf) : (b >> 4);
      q[e] = static_cast<int8_t>(lo | (((w[i].qh[l] >> sub) & 1) << 4));
    }
    s += dot_kx_block(w[i].d, w[i].dmin, w[i].scales, q, a[i]);
  }
  return s;
}

float vec_dot(const BlockQ6_K* w, const BlockQ8_K* a, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    int8_t q[kQKK];
    int sc[16];
    for (int g = 0; g < 16; ++g) sc[g] = w[i].scales[g];
    for (int e = 0; e < kQKK; ++e) {
      const int half = e / 128, k = (e % 128) / 32, l = e % 32;
      const uint8_t lb = w[i].ql[64 * half + l + 32 * (k & 1)];
      const int lo = k < 2 ? (lb & 0xf) : (lb >> 4);
      const int hi = (w[i].qh[32 * half + l] >> (2 * k)) & 3;
      q[e] = static_cast<int8_t>((lo | (hi << 4)) - 32);
    }
    const int32_t su = grouped_dot(q, a[i].qs, sc);
    s += (fp16_to_fp32(w[i].d) * a[i].d) * static_cast<float>(su);
  }
  return s;
}

float vec_dot(const BlockQ8_K* w, const BlockQ8_K* a, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    int32_t su = 0;
    for (int e = 0; e < kQKK; ++e) su += w[i].qs[e] * a[i].qs[e];
    s += (w[i].d * a[i].d) * static_cast<float>(su);
  }
  return s;
}

}  // namespace forge::quant
