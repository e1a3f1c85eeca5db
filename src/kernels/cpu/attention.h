// Attention of query heads that share one KV head, over a span of cached keys and values:
//   s_j = scale * q.k_j (then softcap: cap * tanh(s_j / cap)),
//   out = sum_j softmax(s)_j v_j,  j in [first, last].
// Keys and values are F32 or F16 (the KV cache's type). The scalar path is
// the reference; the AVX2 path converts F16 with F16C and sums in 8 lanes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/kernels.h"

namespace forge::kernels::cpu {

struct AttentionRow {
  const float* q;     // head_dim, for each of n_q heads (head i at q + i * head_dim)
  const void* k;      // position j's key at k + j * kv_stride elements
  const void* v;      // position j's value at v + j * kv_stride_v elements
  bool f16;           // keys and values are F16 bits, else F32
  size_t k_stride;    // elements between consecutive positions' keys
  size_t v_stride;
  int head_dim;
  int head_dim_v;
  int first;          // first visible position
  int last;           // last visible position (inclusive)
  float scale;
  float softcap;      // 0: none
  float* out;         // head_dim_v for each head (head i at out + i * head_dim_v)
  float* scores = nullptr;  // scratch of at least n_q * (last - first + 1); null: a per-thread buffer
  int ring = 0;       // > 0: position j is stored at row j % ring (a sliding-window ring)
  int n_q = 1;        // query heads of this KV head (GQA group): each key and value is read once for all
};

void attend(Isa isa, const AttentionRow& a);

// The first position a query at `pos` sees: 0, or the start of its sliding
// window (key k is visible when 0 <= pos - k < window).
inline int attention_first(int pos, int window) { return window > 0 && pos - window + 1 > 0 ? pos - window + 1 : 0; }

}  // namespace forge::kernels::cpu
