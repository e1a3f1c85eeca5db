// Prefill attention on the tensor cores (mma.sync m16n8k16, f16 operands,
// f32 accumulators): FlashAttention's loop (Dao 2023) with the semantics of
// attention() / attention_prefill() in forge_kernels.cuh (causal, optional
// sliding window, scale, optional tanh softcap, GQA, keys and values read from
// the F16 or F32 cache at positions params[0] .. params[0] + n - 1).
//
// A block takes 16 * kQW consecutive tokens of one query head: kQW warps of 16
// rows, times kSplit warps a row group that take different keys of each tile
// (their softmax states are merged at the end: the longest rows' serial chain
// of tiles, which bounds the kernel's time, is kSplit times shorter). Key
// tiles are staged in shared memory as f16 (cp.async, two stages: the next
// tile's copy runs under this tile's products); scores S = Q K^T and sums
// O += P V are mma products, the softmax (running max and sum) is f32 in
// registers, as attention_prefill's.
//
// Accuracy (the logits are checked against the float32 interpreter, which
// today's kernels match to ~1e-7): f16 operands alone would cost ~1e-3. Every
// float operand a is split a = hi + lo, hi = half(a), lo = half(a - hi), and
// a.b = hi.b + lo.b (b exact in f16: the F16 cache), ~2^-22 relative. With the
// F32 cache the keys and values are split too: hi.bh + lo.bh + hi.bl. So that
// hi and lo stay normal f16 numbers (subnormals would lose the lo bits), each
// query row is scaled by a power of two (its largest |q| to [2^14, 2^15)) and
// the probabilities by 2^14; both scalings are exact and undone in f32.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/forge_kernels.cuh"

namespace forge::kernels::cuda {

// Head sizes the kernel handles (others take attention_prefill / attention):
// K tiles are read 32 dims at a time, V tiles 16, and registers hold a warp's
// 16 query rows and output rows of up to 128.
template <int HD, int HDV> struct PrefillMmaTakes {
  static constexpr bool kValue = HD % 32 == 0 && HD <= 128 && HDV % 16 == 0 && HDV <= 128;
};

// Block shape: 2 row groups (32 tokens) x 2 warps each (each half of a key
// tile). kernel_check on an H100, 512 tokens at position 0, microseconds for
// smollm2-135m / llama-3.2-1b heads: 2x2 23.0 / 27.0, 4x2 26.6 / 31.4,
// 4x1 33.3 / 35.9, 2x1 33.7 / 37.6 (attention_prefill 83.8 / 137.7).
constexpr int kAmRowWarps = 2;
constexpr int kAmSplit = 2;
// Key positions a staged tile: 64, or 32 for heads over 64 (shared memory and registers).
template <int HD, int HDV> struct AmKeys {
  static constexpr int kValue = HD > 64 || HDV > 64 ? 32 : 64;
};
constexpr float kAmProbScale = 16384.0f;  // 2^14: probabilities in (0, 2^14], normal f16 down to ~4e-9

namespace am {

__device__ __forceinline__ uint32_t pack(__half a, __half b) {  // a in the low 16 bits (the lower column)
  return static_cast<uint32_t>(__half_as_ushort(a)) | (static_cast<uint32_t>(__half_as_ushort(b)) << 16);
}
// (a, b) = hi + lo, as two f16x2 registers.
__device__ __forceinline__ void split2(float a, float b, uint32_t& hi, uint32_t& lo) {
  const __half ha = __float2half_rn(a), hb = __float2half_rn(b);
  hi = pack(ha, hb);
  lo = pack(__float2half_rn(a - __half2float(ha)), __float2half_rn(b - __half2float(hb)));
}
__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
// ldsm_x4 (forge_kernels.cuh), each matrix transposed.
__device__ __forceinline__ void ldsm_x4_t(uint32_t (&r)[4], const __half* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p))
               : "memory");
}

// Rows j0 .. j0 + kKeys - 1 of a KV head (W halves or floats wide, row stride
// kRow elements in the cache) into shared rows of stride kS halves; rows past
// `last` are zeros (never read: the cache there may hold anything, and a
// masked probability 0 times NaN would still be NaN). The F16 cache is copied
// asynchronously; the F32 one is split into hi (dst) and lo (dst_lo).
template <int W, int kRow, int kS, int kKeys, int kThreads>
__device__ __forceinline__ void stage(__half* dst, __half*, const __half* src, int j0, int last, int tid) {
  constexpr int kChunks = W / 8;
  for (int c = tid; c < kKeys * kChunks; c += kThreads) {
    const int j = c / kChunks, d = c % kChunks * 8, kp = j0 + j;
    const bool ok = kp <= last;
    cp_async<16>(dst + j * kS + d, src + static_cast<size_t>(ok ? kp : 0) * kRow + d, ok);
  }
}
template <int W, int kRow, int kS, int kKeys, int kThreads>
__device__ __forceinline__ void stage(__half* dst, __half* dst_lo, const float* src, int j0, int last, int tid) {
  constexpr int kChunks = W / 4;
  for (int c = tid; c < kKeys * kChunks; c += kThreads) {
    const int j = c / kChunks, d = c % kChunks * 4, kp = j0 + j;
    float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if (kp <= last) v = *reinterpret_cast<const float4*>(src + static_cast<size_t>(kp) * kRow + d);
    uint32_t h0, l0, h1, l1;
    split2(v.x, v.y, h0, l0);
    split2(v.z, v.w, h1, l1);
    *reinterpret_cast<uint2*>(dst + j * kS + d) = make_uint2(h0, h1);
    *reinterpret_cast<uint2*>(dst_lo + j * kS + d) = make_uint2(l0, l1);
  }
}

}  // namespace am

template <int HD, int HDV, int NH, int NKV, class KvT, int kQW, int kSplit>
__global__ void __launch_bounds__(kQW * kSplit * 32)
    attention_mma(const float* q, float* out, const KvT* k_cache, const KvT* v_cache, int window, float scale,
                  float cap, const int* params, int n) {
  pdl_wait();
  pdl_launch_dependents();
  static_assert(PrefillMmaTakes<HD, HDV>::kValue, "attention_mma: heads of 32s up to 128, value heads of 16s");
  constexpr bool kF32 = std::is_same_v<KvT, float>;
  static_assert(kSplit == 1 || kSplit == 2, "attention_mma: one or two warps a row group");
  constexpr int kThreads = kQW * kSplit * 32, kKeys = AmKeys<HD, HDV>::kValue, kWK = kKeys / kSplit;
  constexpr int kGroup = NH / NKV, kKW = NKV * HD, kVW = NKV * HDV;
  constexpr int kKs = HD + 8, kVs = HDV + 8;  // row strides (halves): 8 ldmatrix rows hit 8 different bank quads
  constexpr int kParts = kF32 ? 2 : 1;        // hi (and lo) copies of a tile
  constexpr int kStages = kF32 ? 1 : 2;       // the F32 path stages synchronously
  constexpr int kStageHalves = kParts * kKeys * (kKs + kVs);
  static_assert(kStages * kStageHalves * 2 <= 48 * 1024, "attention_mma: static shared memory");
  __shared__ alignas(16) __half sm[kStages * kStageHalves];

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, tg = lane % 4;
  const int h = blockIdx.x, kvh = h / kGroup;
  const int t0 = (gridDim.y - 1 - blockIdx.y) * 16 * kQW;  // the longest rows first
  const int pos0 = params[0];
  const int last = pos0 + min(n, t0 + 16 * kQW) - 1;  // the block's last key position
  const int first = window > 0 ? max(0, pos0 + t0 - window + 1) : 0;
  const int jbeg = first / kKeys * kKeys;
  const int tiles = (last - jbeg) / kKeys + 1;
  const KvT* kbase = k_cache + kvh * HD;
  const KvT* vbase = v_cache + kvh * HDV;
  auto stage_tile = [&](int buf, int j0) {
    __half* ks = sm + buf * kStageHalves;
    __half* vs = ks + kParts * kKeys * kKs;
    am::stage<HD, kKW, kKs, kKeys, kThreads>(ks, ks + kKeys * kKs, kbase, j0, last, tid);
    am::stage<HDV, kVW, kVs, kKeys, kThreads>(vs, vs + kKeys * kVs, vbase, j0, last, tid);
  };
  if constexpr (!kF32) {
    stage_tile(0, jbeg);
    cp_async_commit();
  }

  // This warp's rows: tokens tw + g and tw + g + 8 (the mma fragments' rows);
  // its keys: kWK of each tile from kw on.
  const int qw = warp % kQW, kw = warp / kQW * kWK;
  const int tw = t0 + 16 * qw;
  const bool warp_live = tw < n;
  const int pmin = pos0 + tw, pmax = pos0 + min(n, tw + 16) - 1;
  const bool all_live = tw + 16 <= n;
  int prow[2], srow[2];  // a row's last and first key position (prow -1: no row)
  float srow_scale[2];   // scale / 2^e, e the row's power-of-two scaling
  uint32_t qh[HD / 16][4], ql[HD / 16][4];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int t = tw + g + 8 * r;
    prow[r] = t < n ? pos0 + t : -1;
    srow[r] = t < n && window > 0 ? max(0, pos0 + t - window + 1) : 0;
  }
  {
    float2 qv[HD / 16][4];  // [chunk][a register]: rows g, g + 8, g, g + 8; dims 2tg (+8 for the last two)
    float amax[2] = {0.0f, 0.0f};
#pragma unroll
    for (int c = 0; c < HD / 16; ++c) {
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int r = i % 2, t = tw + g + 8 * r, d = 16 * c + 2 * tg + 8 * (i / 2);
        qv[c][i] = t < n ? *reinterpret_cast<const float2*>(q + (static_cast<size_t>(t) * NH + h) * HD + d)
                         : make_float2(0.0f, 0.0f);
        amax[r] = fmaxf(amax[r], fmaxf(fabsf(qv[c][i].x), fabsf(qv[c][i].y)));
      }
    }
    int e[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      amax[r] = fmaxf(amax[r], __shfl_xor_sync(0xffffffffu, amax[r], 1));
      amax[r] = fmaxf(amax[r], __shfl_xor_sync(0xffffffffu, amax[r], 2));
      int ex = 0;
      if (amax[r] > 0.0f) frexpf(amax[r], &ex);  // amax = m 2^ex, m in [0.5, 1)
      e[r] = amax[r] > 0.0f ? 15 - ex : 0;        // amax 2^e in [2^14, 2^15)
      srow_scale[r] = ldexpf(scale, -e[r]);
    }
#pragma unroll
    for (int c = 0; c < HD / 16; ++c) {
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int r = i % 2;
        am::split2(ldexpf(qv[c][i].x, e[r]), ldexpf(qv[c][i].y, e[r]), qh[c][i], ql[c][i]);
      }
    }
  }

  float o[HDV / 8][4];
#pragma unroll
  for (int i = 0; i < HDV / 8; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
  const int mi = lane / 8, mr = lane % 8;  // ldmatrix: this lane's matrix and row

  for (int it = 0; it < tiles; ++it) {
    const int j0 = jbeg + it * kKeys;
    if constexpr (kF32) {
      __syncthreads();  // the previous tile read
      stage_tile(0, j0);
      __syncthreads();
    } else {
      if (it + 1 < tiles) stage_tile((it + 1) % 2, j0 + kKeys);
      cp_async_commit();
      cp_async_wait<1>();  // this tile's copies done (the next tile's may fly)
      __syncthreads();
    }
    const __half* ks = sm + (kF32 ? 0 : it % 2) * kStageHalves + kw * kKs;  // this warp's keys
    const __half* vs = sm + (kF32 ? 0 : it % 2) * kStageHalves + kParts * kKeys * kKs + kw * kVs;
    const int jw = j0 + kw;  // this warp's first key position
    // Skip keys no row of this warp sees (causal, window).
    const bool skip = !warp_live || jw > pmax || (window > 0 && jw + kWK - 1 < max(0, pmin - window + 1));
    if (!skip) {
      const bool masked = !all_live || jw + kWK - 1 > pmin || (window > 0 && jw < max(0, pmax - window + 1));
      float s[kWK / 8][4];
#pragma unroll
      for (int i = 0; i < kWK / 8; ++i) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.0f;
#pragma unroll
      for (int nt = 0; nt < kWK / 8; ++nt) {
#pragma unroll
        for (int c2 = 0; c2 < HD / 32; ++c2) {
          const int off = (8 * nt + mr) * kKs + 32 * c2 + 8 * mi;
          uint32_t b[4];
          ldsm_x4(b, ks + off);
          am::mma(s[nt], qh[2 * c2], b[0], b[1]);
          am::mma(s[nt], ql[2 * c2], b[0], b[1]);
          am::mma(s[nt], qh[2 * c2 + 1], b[2], b[3]);
          am::mma(s[nt], ql[2 * c2 + 1], b[2], b[3]);
          if constexpr (kF32) {
            ldsm_x4(b, ks + kKeys * kKs + off);
            am::mma(s[nt], qh[2 * c2], b[0], b[1]);
            am::mma(s[nt], qh[2 * c2 + 1], b[2], b[3]);
          }
        }
      }
      float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
      for (int nt = 0; nt < kWK / 8; ++nt) {
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int r = i / 2, kp = jw + 8 * nt + 2 * tg + i % 2;
          float x = s[nt][i] * srow_scale[r];
          if (cap > 0.0f) x = cap * tanhf(x / cap);
          if (masked && !(kp <= prow[r] && kp >= srow[r])) x = -INFINITY;
          s[nt][i] = x;
          mx[r] = fmaxf(mx[r], x);
        }
      }
      float alpha[2], rs[2] = {0.0f, 0.0f};
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
        mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
        const float mn = fmaxf(m[r], mx[r]);
        alpha[r] = m[r] == -INFINITY ? 0.0f : expf(m[r] - mn);
        m[r] = mn;
      }
#pragma unroll
      for (int nt = 0; nt < kWK / 8; ++nt) {
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int r = i / 2;
          const float p = s[nt][i] == -INFINITY ? 0.0f : expf(s[nt][i] - m[r]);
          rs[r] += p;
          s[nt][i] = p * kAmProbScale;
        }
      }
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        rs[r] += __shfl_xor_sync(0xffffffffu, rs[r], 1);
        rs[r] += __shfl_xor_sync(0xffffffffu, rs[r], 2);
        l[r] = l[r] * alpha[r] + rs[r];
      }
#pragma unroll
      for (int i = 0; i < HDV / 8; ++i) {
        o[i][0] *= alpha[0];
        o[i][1] *= alpha[0];
        o[i][2] *= alpha[1];
        o[i][3] *= alpha[1];
      }
      // O += P V: the score accumulators of key tiles 2kc, 2kc + 1 are the A fragment of keys 16kc ..
#pragma unroll
      for (int kc = 0; kc < kWK / 16; ++kc) {
        uint32_t ph[4], pl[4];
        am::split2(s[2 * kc][0], s[2 * kc][1], ph[0], pl[0]);
        am::split2(s[2 * kc][2], s[2 * kc][3], ph[1], pl[1]);
        am::split2(s[2 * kc + 1][0], s[2 * kc + 1][1], ph[2], pl[2]);
        am::split2(s[2 * kc + 1][2], s[2 * kc + 1][3], ph[3], pl[3]);
#pragma unroll
        for (int nd = 0; nd < HDV / 16; ++nd) {
          const int off = (16 * kc + mr + 8 * (mi % 2)) * kVs + 16 * nd + 8 * (mi / 2);
          uint32_t b[4];
          am::ldsm_x4_t(b, vs + off);
          am::mma(o[2 * nd], ph, b[0], b[1]);
          am::mma(o[2 * nd], pl, b[0], b[1]);
          am::mma(o[2 * nd + 1], ph, b[2], b[3]);
          am::mma(o[2 * nd + 1], pl, b[2], b[3]);
          if constexpr (kF32) {
            am::ldsm_x4_t(b, vs + kKeys * kVs + off);
            am::mma(o[2 * nd], ph, b[0], b[1]);
            am::mma(o[2 * nd + 1], ph, b[2], b[3]);
          }
        }
      }
    }
    if constexpr (!kF32) __syncthreads();  // this buffer is the next-but-one tile's
  }

  if constexpr (kSplit == 2) {  // the second warp of a row group hands its state to the first
    constexpr int kVals = HDV / 2 + 4, kLanes = kQW * 32;  // o, m, l of a lane; stored value-major
    static_assert(kVals * kLanes * 4 <= kStages * kStageHalves * 2, "attention_mma: merge buffer");
    float* xs = reinterpret_cast<float*>(sm) + qw * 32 + lane;
    if constexpr (kF32) __syncthreads();  // the last tile read (the F16 loop ends with a barrier)
    if (kw != 0) {
#pragma unroll
      for (int i = 0; i < HDV / 8; ++i) {
#pragma unroll
        for (int e = 0; e < 4; ++e) xs[(4 * i + e) * kLanes] = o[i][e];
      }
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        xs[(HDV / 2 + r) * kLanes] = m[r];
        xs[(HDV / 2 + 2 + r) * kLanes] = l[r];
      }
    }
    __syncthreads();
    if (kw != 0) return;
    float a[2], b[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const float m2 = xs[(HDV / 2 + r) * kLanes], l2 = xs[(HDV / 2 + 2 + r) * kLanes];
      const float mn = fmaxf(m[r], m2);
      a[r] = m[r] == -INFINITY ? 0.0f : expf(m[r] - mn);
      b[r] = m2 == -INFINITY ? 0.0f : expf(m2 - mn);
      l[r] = l[r] * a[r] + l2 * b[r];
    }
#pragma unroll
    for (int i = 0; i < HDV / 8; ++i) {
#pragma unroll
      for (int e = 0; e < 4; ++e) o[i][e] = o[i][e] * a[e / 2] + xs[(4 * i + e) * kLanes] * b[e / 2];
    }
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int t = tw + g + 8 * r;
    if (t >= n) continue;
    const float inv = 1.0f / (l[r] * kAmProbScale);
    float* dst = out + (static_cast<size_t>(t) * NH + h) * HDV + 2 * tg;
#pragma unroll
    for (int i = 0; i < HDV / 8; ++i) {
      *reinterpret_cast<float2*>(dst + 8 * i) = make_float2(o[i][2 * r] * inv, o[i][2 * r + 1] * inv);
    }
  }
}

// kQW row groups of 16 tokens, kSplit warps each; kernel_check times other values.
template <int HD, int HDV, int NH, int NKV, class KvT, int kQW, int kSplit>
void launch_attention_mma_cfg(cudaStream_t s, const float* q, float* out, const KvT* k_cache, const KvT* v_cache,
                                int window, float scale, float cap, const int* params, int n) {
  constexpr int kRows = 16 * kQW;
  launch(attention_mma<HD, HDV, NH, NKV, KvT, kQW, kSplit>, dim3(NH, (n + kRows - 1) / kRows), dim3(kQW * kSplit * 32),
         0, s, q, out, k_cache, v_cache, window, scale, cap, params, n);
}

// out[t][h] = softmax over the visible keys of scale q.k (softcapped) times v,
// as attention_prefill<HD, HDV, NH, NKV, KvT> computes it, for n >= 1 tokens.
template <int HD, int HDV, int NH, int NKV, class KvT>
void launch_attention_mma(cudaStream_t s, const float* q, float* out, const KvT* k_cache, const KvT* v_cache,
                          int window, float scale, float cap, const int* params, int n) {
  launch_attention_mma_cfg<HD, HDV, NH, NKV, KvT, kAmRowWarps, kAmSplit>(s, q, out, k_cache, v_cache, window, scale,
                                                                          cap, params, n);
}

}  // namespace forge::kernels::cuda
