#include "kernels/cpu/attention.h"

#include <cmath>
#include <vector>

#include "kernels/cpu/avx2/avx2_entry.h"
#include "quant/fp16.h"

namespace forge::kernels::cpu {

namespace {

float load(const void* base, bool f16, size_t i) {
  return f16 ? quant::fp16_to_fp32(static_cast<const uint16_t*>(base)[i]) : static_cast<const float*>(base)[i];
}

void attend_scalar_one(const AttentionRow& a) {
  float max_s = -INFINITY;
  for (int j = a.first; j <= a.last; ++j) {
    float s = 0.0f;
    const size_t kb = static_cast<size_t>(a.ring ? j % a.ring : j) * a.k_stride;
    for (int d = 0; d < a.head_dim; ++d) s += a.q[d] * load(a.k, a.f16, kb + d);
    s *= a.scale;
    if (a.softcap > 0.0f) s = a.softcap * std::tanh(s / a.softcap);
    a.scores[j - a.first] = s;
    max_s = std::max(max_s, s);
  }
  double sum = 0.0;
  for (int j = 0; j <= a.last - a.first; ++j) {
    a.scores[j] = std::exp(a.scores[j] - max_s);
    sum += a.scores[j];
  }
  const float inv_sum = static_cast<float>(1.0 / sum);
  for (int d = 0; d < a.head_dim_v; ++d) a.out[d] = 0.0f;
  for (int j = a.first; j <= a.last; ++j) {
    const float w = a.scores[j - a.first] * inv_sum;
    const size_t vb = static_cast<size_t>(a.ring ? j % a.ring : j) * a.v_stride;
    for (int d = 0; d < a.head_dim_v; ++d) a.out[d] += w * load(a.v, a.f16, vb + d);
  }
}

void attend_scalar(const AttentionRow& group) {
  for (int i = 0; i < group.n_q; ++i) {
    AttentionRow a = group;
    a.q = group.q + static_cast<size_t>(i) * group.head_dim;
    a.out = group.out + static_cast<size_t>(i) * group.head_dim_v;
    a.n_q = 1;
    attend_scalar_one(a);
  }
}

}  // namespace

void attend(Isa isa, const AttentionRow& row) {
  AttentionRow a = row;
  thread_local std::vector<float> scratch;
  if (!a.scores) {
    const size_t need = static_cast<size_t>(a.n_q) * (a.last - a.first + 1);
    if (scratch.size() < need) scratch.resize(need);
    a.scores = scratch.data();
  }
#ifdef FORGE_KERNELS_AVX2
  if (isa == Isa::kAvx2 && a.head_dim % 8 == 0 && a.head_dim_v % 8 == 0) return avx2::attend(a);
#endif
  (void)isa;
  attend_scalar(a);
}

}  // namespace forge::kernels::cpu
