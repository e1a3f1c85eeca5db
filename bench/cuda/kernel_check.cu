// The kernels against the kernels they replace, at the real models'
// shapes (the fixtures of gpu_check.sh are 12 tokens of width 256-512, and a
// whole-model comparison of deep random models is chaotic: one activation
// level flipping moves the logits by 1e-2). On random inputs:
//   mmq (int8 tensor cores) vs matvec<8 rows> on the same quantized inputs,
//   and its 128- and 64-row tiles against each other, bit for bit;
//   norm_rows_held (a row in registers) vs norm_rows, bit for bit;
//   the decode matvec with __dp4a on int8 levels vs the float one;
//   the Q6_K decode matvec (rows staged in shared memory) vs the float one;
//   matvec_glu vs matvec_split and then glu, bit for bit;
//   matvec_split computing its norm or GLU input vs norm_rows / glu and then
//   matvec_split on their levels, bit for bit;
//   attention_prefill (16 queries a block, online softmax) vs attention;
//   the one-token attention with RoPE and the KV write fused (RopeKv) vs
//   rope_kv, then attention; argmax_next vs the host's first maximum;
//   top_logits vs the host's sort of all the logits (ids and logits exactly);
//   attention_mma (tensor cores, split f16 operands) vs attention, with the F16
//   and the F32 cache, windows and softcaps, queries of very different sizes.
// Prints one line per case and exits 1 if any relative RMS is over 1e-5; then
// TIMING lines (median of event-timed launches, or of graphs of 200 launches
// for the decode chains; printed, not asserted).
// `kernel_check attention` runs the attention cases and timings only,
// `kernel_check mmq` mmq's cases and timings only, `kernel_check chains` the
// decode chains' timings only.
// Build: nvcc -std=c++20 -O2 -arch=sm_90 -Isrc bench/cuda/kernel_check.cu
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/cuda/attention_mma.cuh"
#include "kernels/cuda/forge_kernels.cuh"
#include "kernels/cuda/matvec.cuh"
#include "kernels/cuda/mmq.cuh"
#include "kernels/cuda/top_logits.cuh"
#include "model/forward.h"

namespace kc = forge::kernels::cuda;
using namespace forge::quant;
using forge::GgmlType;

#define CHECK(x)                                                                      \
  do {                                                                                \
    cudaError_t e_ = (x);                                                             \
    if (e_ != cudaSuccess) {                                                          \
      std::fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, cudaGetErrorString(e_)); \
      std::exit(2);                                                                   \
    }                                                                                 \
  } while (0)

template <class T>
T* upload(const std::vector<T>& v) {
  T* p = nullptr;
  CHECK(cudaMalloc(&p, v.size() * sizeof(T)));
  CHECK(cudaMemcpy(p, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
  return p;
}
template <class T>
std::vector<T> download(const T* p, size_t n) {
  std::vector<T> v(n);
  CHECK(cudaMemcpy(v.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
  return v;
}
double rel_rms(const std::vector<float>& ref, const std::vector<float>& got) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    num += (double(ref[i]) - got[i]) * (double(ref[i]) - got[i]);
    den += double(ref[i]) * ref[i];
  }
  return std::sqrt(num / (den > 0 ? den : 1));
}

int failures = 0;
void report(const char* what, double err) {
  const bool ok = err < 1e-5 && std::isfinite(err);
  failures += !ok;
  std::printf("%-52s rel RMS %.2e  %s\n", what, err, ok ? "ok" : "FAIL");
}

// Random rows of type B (levels anywhere, scales 1e-3 .. 1e-2) in the split
// layout the CUDA kernels read (split_layout.h), split_row_stride bytes a row.
template <class B>
std::vector<uint8_t> random_rows(int rows, int k, std::mt19937& rng) {
  const GgmlType t = std::is_same_v<B, BlockQ8_0> ? GgmlType::Q8_0 : GgmlType::Q4_0;
  const size_t stride = kc::split_row_stride(t, k);
  std::vector<uint8_t> blocks((k / 32) * sizeof(B)), w(rows * stride);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(1e-3f, 1e-2f);
  for (int r = 0; r < rows; ++r) {
    for (size_t b = 0; b < blocks.size() / sizeof(B); ++b) {
      uint8_t* p = blocks.data() + b * sizeof(B);
      const __half d = __float2half(scale(rng));
      std::memcpy(p, &d, 2);
      for (size_t j = 2; j < sizeof(B); ++j) p[j] = static_cast<uint8_t>(byte(rng));
    }
    kc::split_row(t, k, blocks.data(), w.data() + r * stride);
  }
  return w;
}

// Random split rows and activations, the activations quantized (Q8_0 levels and scales).
template <class B, int K>
struct MmqInputs {
  int rows, n;
  uint8_t* w = nullptr;
  size_t row_bytes = 0;
  float *x = nullptr, *xq = nullptr, *da = nullptr;
  int8_t* qa = nullptr;
  MmqInputs(int rows_, int n_, std::mt19937& rng) : rows(rows_), n(n_) {
    const auto wh = random_rows<B>(rows, K, rng);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> xh(static_cast<size_t>(n) * K);
    for (float& v : xh) v = nd(rng);
    w = upload(wh);
    x = upload(xh);
    row_bytes = wh.size() / rows;
    CHECK(cudaMalloc(&xq, xh.size() * 4));
    CHECK(cudaMalloc(&qa, xh.size()));
    CHECK(cudaMalloc(&da, xh.size() / 32 * 4));
    const int blocks = n * (K / 32);
    kc::launch_fake_quant_q8_0(nullptr, x, kc::Q8Out{xq, nullptr, qa, da}, blocks);
    CHECK(cudaGetLastError());
  }
  ~MmqInputs() { cudaFree(w), cudaFree(x), cudaFree(xq), cudaFree(qa), cudaFree(da); }
  size_t outs() const { return static_cast<size_t>(n) * rows; }
  float* output() const {  // NaN: every output must be written
    float* y = nullptr;
    CHECK(cudaMalloc(&y, outs() * 4));
    CHECK(cudaMemset(y, 0xff, outs() * 4));
    return y;
  }
};

template <class B, int K>
void check_mmq(const char* name, int rows, int n, std::mt19937& rng) {
  const MmqInputs<B, K> in(rows, n, rng);
  float *y_ref = in.output(), *y = in.output();
  char what[96];
  if (n > 1) {  // prefill: mmq against matvec over 8 rows at a time
    kc::launch_matvec<B, K>(nullptr, in.w, in.row_bytes, rows, in.xq, nullptr, n, y_ref, nullptr);
    kc::launch_mmq<B, K>(nullptr, in.w, in.row_bytes, rows, in.qa, in.da, n, y, nullptr);
    std::snprintf(what, sizeof what, "mmq %s %d x %d, %d rows", name, rows, K, n);
  } else {  // decode: the __dp4a matvec against the float one
    kc::launch_matvec<B, K>(nullptr, in.w, in.row_bytes, rows, in.xq, nullptr, 1, y_ref, nullptr);
    kc::launch_matvec<B, K>(nullptr, in.w, in.row_bytes, rows, in.xq, nullptr, 1, y, nullptr, in.qa, in.da);
    std::snprintf(what, sizeof what, "matvec dp4a %s %d x %d", name, rows, K);
  }
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
  report(what, rel_rms(download(y_ref, in.outs()), download(y, in.outs())));
  cudaFree(y_ref), cudaFree(y);
}

// Median time (ms) of reps event-timed runs of launch (after a warm-up).
template <class F>
float median_ms(F&& launch, int reps) {
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  launch();
  CHECK(cudaGetLastError());
  std::vector<float> ms(reps);
  for (int i = 0; i < reps; ++i) {
    CHECK(cudaEventRecord(a));
    launch();
    CHECK(cudaEventRecord(b));
    CHECK(cudaEventSynchronize(b));
    CHECK(cudaEventElapsedTime(&ms[i], a, b));
  }
  CHECK(cudaGetLastError());
  cudaEventDestroy(a), cudaEventDestroy(b);
  std::sort(ms.begin(), ms.end());
  return ms[reps / 2];
}

// mmq's tiles of 128 and of 64 weight rows: the same block terms summed in
// the same order, so the same bits (checked); then each one's time and the
// one launch_mmq picks (TIMING).
template <class B, int K>
void time_mmq(const char* name, int rows, int n, std::mt19937& rng) {
  const MmqInputs<B, K> in(rows, n, rng);
  float *y128 = in.output(), *y64 = in.output();
  const kc::MatvecParts<1> p128{{{in.w, in.row_bytes, rows, y128, nullptr}}}, p64{{{in.w, in.row_bytes, rows, y64, nullptr}}};
  auto run128 = [&] { kc::launch_mmq_rows<B, K, 128, 1>(nullptr, p128, in.qa, in.da, n); };
  auto run64 = [&] { kc::launch_mmq_rows<B, K, 64, 1>(nullptr, p64, in.qa, in.da, n); };
  run128(), run64();
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
  const auto a = download(y128, in.outs()), b = download(y64, in.outs());
  const bool same = std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
  failures += !same;
  char what[96];
  std::snprintf(what, sizeof what, "mmq %s %d x %d, %d rows: 128- and 64-row tiles", name, rows, K, n);
  std::printf("%-52s %s\n", what, same ? "same bits  ok" : "differ  FAIL");
  const float t128 = median_ms(run128, 20), t64 = median_ms(run64, 20);
  const double ops = 2.0 * rows * K * n;
  std::printf("TIMING mmq %s %d x %d, %d tokens: 128-row tiles %.1f us (%.0f TOPS), 64-row %.1f us (%.0f TOPS); "
              "launch_mmq takes %d\n",
              name, rows, K, n, 1e3 * t128, ops / t128 / 1e9, 1e3 * t64, ops / t64 / 1e9,
              kc::mmq_small_tiles(p128.blocks(128) * ((n + 127) / 128), p128.blocks(64) * ((n + 127) / 128)) ? 64 : 128);
  cudaFree(y128), cudaFree(y64);
}

// The decode matvec of Q6_K rows (matvec_q6k: rows staged in shared
// memory with wide loads) against the plain float matvec on the same
// weights and input; then each one's time (TIMING).
template <int K>
void check_q6k(int rows, std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(1e-3f, 1e-2f);
  std::vector<uint8_t> w(static_cast<size_t>(rows) * (K / 256) * sizeof(BlockQ6_K));
  for (size_t b = 0; b < w.size() / sizeof(BlockQ6_K); ++b) {
    uint8_t* p = w.data() + b * sizeof(BlockQ6_K);
    for (size_t j = 0; j < 208; ++j) p[j] = static_cast<uint8_t>(byte(rng));
    const __half d = __float2half(scale(rng));
    std::memcpy(p + 208, &d, 2);
  }
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(K);
  for (float& v : x) v = nd(rng);
  uint8_t* dw = upload(w);
  float* dx = upload(x);
  float *y_ref = nullptr, *y = nullptr;
  CHECK(cudaMalloc(&y_ref, rows * 4));
  CHECK(cudaMalloc(&y, rows * 4));
  CHECK(cudaMemset(y, 0xff, rows * 4));  // NaN: every output must be written
  const size_t row_bytes = w.size() / rows;
  const kc::MatvecParts<1> ref{{{dw, row_bytes, rows, y_ref, nullptr}}}, got{{{dw, row_bytes, rows, y, nullptr}}};
  auto run_ref = [&] {
    kc::launch(kc::matvec<BlockQ6_K, K, 1, 1>, dim3(ref.blocks(kc::kMatvecWarps)), dim3(32 * kc::kMatvecWarps), 0,
               nullptr, ref, static_cast<const float*>(dx), static_cast<const float*>(nullptr), 1);
  };
  auto run = [&] { kc::launch_matvec_parts<BlockQ6_K, K, 1>(nullptr, got, dx, nullptr, 1); };
  run_ref();
  run();
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
  char what[96];
  std::snprintf(what, sizeof what, "matvec_q6k %d x %d", rows, K);
  report(what, rel_rms(download(y_ref, rows), download(y, rows)));
  const float t_ref = median_ms(run_ref, 21), t = median_ms(run, 21);
  std::printf("TIMING matvec Q6_K %d x %d (%.1f MB): matvec %.1f us (%.0f GB/s), matvec_q6k %.1f us (%.0f GB/s)\n",
              rows, K, w.size() / 1e6, 1e3 * t_ref, w.size() / (1e6 * t_ref), 1e3 * t, w.size() / (1e6 * t));
  cudaFree(dw), cudaFree(dx), cudaFree(y_ref), cudaFree(y);
}

// Kernels back to back as in the decode graph (programmatic dependent
// launch, captured once): microseconds a launch in a chain of `count`.
template <class F>
float chain_us(F&& launch_one, int count) {
  cudaStream_t s;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  cudaGraph_t g;
  CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  for (int i = 0; i < count; ++i) launch_one(s);
  CHECK(cudaStreamEndCapture(s, &g));
  cudaGraphExec_t e;
  CHECK(cudaGraphInstantiate(&e, g, 0));
  std::vector<float> ms(7);
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  CHECK(cudaGraphLaunch(e, s));
  for (float& m : ms) {
    CHECK(cudaEventRecord(a, s));
    CHECK(cudaGraphLaunch(e, s));
    CHECK(cudaEventRecord(b, s));
    CHECK(cudaEventSynchronize(b));
    CHECK(cudaEventElapsedTime(&m, a, b));
  }
  std::sort(ms.begin(), ms.end());
  cudaGraphExecDestroy(e), cudaGraphDestroy(g), cudaStreamDestroy(s), cudaEventDestroy(a), cudaEventDestroy(b);
  return 1e3f * ms[3] / count;
}

__global__ void empty_kernel() {
  kc::pdl_wait();
  kc::pdl_launch_dependents();
}

// A decode step's output projection and q/k/v projection with the norm
// (Q8_0, K wide, k and v of kv_rows), each in a chain of `count` (weights in L2).
template <int K>
void time_projection_chains(std::mt19937& rng, const char* name, int kv_rows, int count) {
  const int rows = K + 2 * kv_rows;
  const auto w = random_rows<BlockQ8_0>(rows, K, rng);
  uint8_t* dw = upload(w);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(K);
  for (float& v : x) v = nd(rng);
  float* dx = upload(x);
  float *y = nullptr, *da = nullptr;
  int8_t* qa = nullptr;
  CHECK(cudaMalloc(&y, rows * 4));
  CHECK(cudaMalloc(&qa, K));
  CHECK(cudaMalloc(&da, K / 32 * 4));
  kc::launch_fake_quant_q8_0(nullptr, dx, kc::Q8Out{y, nullptr, qa, da}, K / 32);
  const size_t rb = w.size() / rows;
  const kc::MatvecParts<1> o{{{dw, rb, K, y, nullptr}}};
  const kc::MatvecParts<3> qkv{
      {{dw, rb, K, y, nullptr}, {dw, rb, kv_rows, y + K, nullptr}, {dw, rb, kv_rows, y + K + kv_rows, nullptr}}};
  const float* ones = upload(std::vector<float>(K, 1.0f));
  const float t_o = chain_us(
      [&](cudaStream_t s) { kc::launch_matvec_split<BlockQ8_0, K, 1>(s, o, kc::LevelsInput{qa, da}); }, count);
  const float t_qkv = chain_us(
      [&](cudaStream_t s) {
        kc::launch_matvec_split<BlockQ8_0, K, 3>(s, qkv, kc::NormInput{dx, ones, nullptr, 1e-5f, 0.0f, false});
      },
      count);
  std::printf("TIMING chains of %d (us a launch): %s attn_output %.2f, q+k+v with the norm %.2f\n", count, name, t_o,
              t_qkv);
  cudaFree(dw), cudaFree(dx), cudaFree(y), cudaFree(qa), cudaFree(da), cudaFree(const_cast<float*>(ones));
}

// The floor of a decode step's launches, and the decode kernels of
// smollm2-135m and llama-3.2-1b one kind at a time, each in a chain of 200 (TIMING).
void time_chains(std::mt19937& rng) {
  constexpr int kN = 200;
  const float t_empty = chain_us([](cudaStream_t s) { kc::launch(empty_kernel, dim3(1), dim3(32), 0, s); }, kN);
  const float t_empty132 = chain_us([](cudaStream_t s) { kc::launch(empty_kernel, dim3(132), dim3(256), 0, s); }, kN);
  std::printf("TIMING chains of %d (us a launch): empty kernel %.2f (132 blocks %.2f)\n", kN, t_empty, t_empty132);
  time_projection_chains<576>(rng, "smollm2-135m", 192, kN);
  time_projection_chains<2048>(rng, "llama-3.2-1b", 512, kN);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  // The one-token attention of a smollm2-135m layer (9 / 3 heads of 64) at position 64, RoPE and KV write fused.
  constexpr int kCtx = 1024, kPos = 64;
  std::vector<__half> cache(static_cast<size_t>(kCtx) * 3 * 64);
  for (auto& v : cache) v = __float2half(nd(rng));
  __half *kc_ = upload(cache), *vc_ = upload(cache);
  std::vector<float> qv(9 * 64), inv(32);
  for (float& v : qv) v = nd(rng);
  for (int i = 0; i < 32; ++i) inv[i] = static_cast<float>(std::pow(10000.0, -2.0 * i / 64));
  float *dq = upload(qv), *dinv = upload(inv), *att_out = nullptr;
  CHECK(cudaMalloc(&att_out, 9 * 64 * 4));
  int* dp = upload(std::vector<int>{kPos, 0});
  kc::RopeKv rk;
  rk.k = dq;
  rk.v = dq + 3 * 64;
  rk.inv_freq = dinv;
  rk.rope_dims = 64;
  const size_t smem = kc::attention_smem_bytes<64>(kCtx);
  auto att = kc::attention<64, 64, 9, 3, __half>;
  CHECK(cudaFuncSetAttribute(att, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  const float t_att = chain_us(
      [&](cudaStream_t s) {
        kc::launch(att, dim3(9, 1), dim3(kc::kAttnThreads), smem, s, static_cast<const float*>(dq), att_out, kc_, vc_, 0,
                   0.125f, 0.0f, static_cast<const int*>(dp), kc::Q8Out{}, rk);
      },
      kN);
  std::printf("TIMING chains of %d (us a launch): smollm2-135m attention at %d %.2f\n", kN, kPos, t_att);
  cudaFree(kc_), cudaFree(vc_), cudaFree(dq), cudaFree(dinv), cudaFree(att_out), cudaFree(dp);
}

// The gate/up projection with the GLU and its quantization in its blocks
// (matvec_glu) against matvec_split and then the glu kernel: the same bits
// (GLU values, levels, scales); then both ways' time (TIMING).
template <class B, int K>
void check_glu(int rows, bool gelu, std::mt19937& rng) {
  const auto wg = random_rows<B>(rows, K, rng), wu = random_rows<B>(rows, K, rng);
  const size_t rb = wg.size() / rows;
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(K), nw(K);
  for (float& v : x) v = nd(rng);
  for (float& v : nw) v = 1.0f + 0.1f * nd(rng);
  uint8_t *dg = upload(wg), *du = upload(wu);
  float *dx = upload(x), *dn = upload(nw);
  std::vector<float*> f(6);  // gate and up products (reference), GLU values and scales: reference, test
  for (int i = 0; i < 4; ++i) CHECK(cudaMalloc(&f[i], rows * 4));
  CHECK(cudaMalloc(&f[4], rows / 32 * 4));
  CHECK(cudaMalloc(&f[5], rows / 32 * 4));
  CHECK(cudaMemset(f[3], 0xff, rows * 4));
  int8_t *lr = nullptr, *lt = nullptr;
  CHECK(cudaMalloc(&lr, rows));
  CHECK(cudaMalloc(&lt, rows));
  float *vr = nullptr, *vt = nullptr;
  CHECK(cudaMalloc(&vr, rows * 4));
  CHECK(cudaMalloc(&vt, rows * 4));
  const kc::NormInput in{dx, dn, nullptr, 1e-5f, 0.0f, false};
  const kc::MatvecParts<2> ps{{{dg, rb, rows, f[0], nullptr}, {du, rb, rows, f[1], nullptr}}};
  auto run_ref = [&] {
    kc::launch_matvec_split<B, K, 2>(nullptr, ps, in);
    kc::launch_glu(nullptr, f[0], f[1], static_cast<size_t>(rows), gelu, kc::Q8Out{vr, nullptr, lr, f[4]});
  };
  auto run = [&] { kc::launch_matvec_glu<B, K, 2>(nullptr, ps, in, kc::GluOut{f[3], gelu, kc::Q8Out{vt, nullptr, lt, f[5]}}); };
  run_ref();
  run();
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
  const auto y_ref = download(f[0], rows), y = download(f[3], rows);
  const auto l_ref = download(lr, rows), l = download(lt, rows);
  const auto s_ref = download(f[4], rows / 32), sc = download(f[5], rows / 32);
  const auto v_ref = download(vr, rows), v = download(vt, rows);
  const bool same = std::memcmp(y_ref.data(), y.data(), rows * 4) == 0 && l_ref == l &&
                    std::memcmp(s_ref.data(), sc.data(), rows / 32 * 4) == 0 &&
                    std::memcmp(v_ref.data(), v.data(), rows * 4) == 0;
  char what[96];
  std::snprintf(what, sizeof what, "matvec_glu %s %d x %d, %s: %s", std::is_same_v<B, BlockQ8_0> ? "Q8_0" : "Q4_0",
                rows, K, gelu ? "gelu" : "silu", same ? "same bits" : "DIFFERENT");
  report(what, same ? rel_rms(y_ref, y) : 1.0);
  const float t_ref = median_ms(run_ref, 21), t = median_ms(run, 21);
  std::printf("TIMING gate+up %d x %d with the GLU: matvec_split + glu %.1f us, matvec_glu %.1f us\n", rows, K,
              1e3 * t_ref, 1e3 * t);
  cudaFree(dg), cudaFree(du), cudaFree(dx), cudaFree(dn), cudaFree(lr), cudaFree(lt), cudaFree(vr), cudaFree(vt);
  for (float* p : f) cudaFree(p);
}

// The decode matvec computing its input itself (NormInput: an RMSNorm of the
// row; GluInput: a SiLU GLU) against norm_rows / glu writing the quantized
// input and matvec_split on those levels: the same bits, at widths where a
// thread holds several of the row's values (the fixtures' rows fit one).
template <class B, int K>
void check_fused_input(int rows, std::mt19937& rng) {
  const auto w = random_rows<B>(rows, K, rng);
  const size_t rb = w.size() / rows;
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(K), u(K), nw(K);
  for (float& v : x) v = nd(rng);
  for (float& v : u) v = nd(rng);
  for (float& v : nw) v = 1.0f + 0.1f * nd(rng);
  uint8_t* dw = upload(w);
  float *dx = upload(x), *dx2 = upload(x), *du = upload(u), *dn = upload(nw);
  float *vals = nullptr, *normed = nullptr, *scales = nullptr, *y_ref = nullptr, *y = nullptr;
  int8_t* levels = nullptr;
  CHECK(cudaMalloc(&vals, K * 4));
  CHECK(cudaMalloc(&normed, K * 4));
  CHECK(cudaMalloc(&scales, K / 32 * 4));
  CHECK(cudaMalloc(&levels, K));
  CHECK(cudaMalloc(&y_ref, rows * 4));
  CHECK(cudaMalloc(&y, rows * 4));
  const kc::Q8Out q{vals, nullptr, levels, scales};
  const kc::MatvecParts<1> ref{{{dw, rb, rows, y_ref, nullptr}}}, test{{{dw, rb, rows, y, nullptr}}};
  const char* type = std::is_same_v<B, BlockQ8_0> ? "Q8_0" : "Q4_0";
  for (const bool glu : {false, true}) {
    CHECK(cudaMemset(y, 0xff, rows * 4));
    if (glu) {  // glu writes act(gate) * up over the gate: a copy of it
      kc::launch_glu(nullptr, dx2, du, K, false, q);
      kc::launch_matvec_split<B, K, 1>(nullptr, test, kc::GluInput{dx, du, false});
    } else {
      kc::launch_norm_rows(nullptr, 1, dx, nullptr, normed, dn, nullptr, K, K, false, false, 1e-5f, 0.0f, q);
      kc::launch_matvec_split<B, K, 1>(nullptr, test, kc::NormInput{dx, dn, nullptr, 1e-5f, 0.0f, false});
    }
    kc::launch_matvec_split<B, K, 1>(nullptr, ref, kc::LevelsInput{levels, scales});
    CHECK(cudaGetLastError());
    CHECK(cudaDeviceSynchronize());
    const auto a = download(y_ref, rows), b = download(y, rows);
    const bool same = std::memcmp(a.data(), b.data(), rows * 4) == 0;
    char what[96];
    std::snprintf(what, sizeof what, "matvec_split %s %d x %d, %s computed in: %s", type, rows, K,
                  glu ? "GLU" : "norm", same ? "same bits" : "DIFFERENT");
    report(what, same ? rel_rms(a, b) : 1.0);
  }
  cudaFree(dw), cudaFree(dx), cudaFree(dx2), cudaFree(du), cudaFree(dn);
  cudaFree(vals), cudaFree(normed), cudaFree(scales), cudaFree(levels), cudaFree(y_ref), cudaFree(y);
}

// The first projection embedding its own token (EmbedInput: the table's
// row, times scale, normed) against the embed kernel, then matvec_split
// computing the norm of what it wrote: the same bits in y, and in the
// residual stream block 0 writes.
template <class B, class E, int K>
void check_embed_input(int rows, int vocab, float scale, std::mt19937& rng) {
  const auto w = random_rows<B>(rows, K, rng);
  const auto table = random_rows<E>(vocab, K, rng);
  const size_t rb = w.size() / rows, tb = table.size() / vocab;
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> nw(K);
  for (float& v : nw) v = 1.0f + 0.1f * nd(rng);
  const std::vector<int> params = {7, std::uniform_int_distribution<int>(0, vocab - 1)(rng)};
  uint8_t *dw = upload(w), *dt = upload(table);
  float* dn = upload(nw);
  int* dp = upload(params);
  float *x_ref = nullptr, *x = nullptr, *y_ref = nullptr, *y = nullptr;
  CHECK(cudaMalloc(&x_ref, K * 4));
  CHECK(cudaMalloc(&x, K * 4));
  CHECK(cudaMalloc(&y_ref, rows * 4));
  CHECK(cudaMalloc(&y, rows * 4));
  CHECK(cudaMemset(x, 0xff, K * 4));
  CHECK(cudaMemset(y, 0xff, rows * 4));
  kc::launch(kc::embed<E, K>, dim3(kc::blocks_for(K / 32, 64)), dim3(64), 0, nullptr, dt, tb, scale, dp, x_ref);
  kc::launch_matvec_split<B, K, 1>(nullptr, kc::MatvecParts<1>{{{dw, rb, rows, y_ref, nullptr}}},
                                   kc::NormInput{x_ref, dn, nullptr, 1e-5f, 0.0f, false});
  kc::launch_matvec_split<B, K, 1>(nullptr, kc::MatvecParts<1>{{{dw, rb, rows, y, nullptr}}},
                                   kc::EmbedInput<E>{dt, tb, scale, dp, x, {x, dn, nullptr, 1e-5f, 0.0f, false}});
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
  const auto a = download(y_ref, rows), b = download(y, rows), xa = download(x_ref, K), xb = download(x, K);
  const bool same = std::memcmp(a.data(), b.data(), rows * 4) == 0 && std::memcmp(xa.data(), xb.data(), K * 4) == 0;
  char what[120];
  std::snprintf(what, sizeof what, "matvec_split %s %d x %d, %s embedding x %g computed in: %s",
                std::is_same_v<B, BlockQ8_0> ? "Q8_0" : "Q4_0", rows, K, std::is_same_v<E, BlockQ8_0> ? "Q8_0" : "Q4_0",
                scale, same ? "same bits" : "DIFFERENT");
  report(what, same ? rel_rms(a, b) : 1.0);
  cudaFree(dw), cudaFree(dt), cudaFree(dn), cudaFree(dp), cudaFree(x_ref), cudaFree(x), cudaFree(y_ref), cudaFree(y);
}

// Where a greedy token goes (kc::ArgmaxNext): the position 3, room for the
// tokens, a zeroed ticket scratch. After the launch at position pos, took()
// says whether the token is `want`, recorded at pos, and the position moved
// on, and describes what it found.
struct ArgmaxTarget {
  int* params = upload(std::vector<int>{3, 0});
  int* tokens = nullptr;
  kc::ArgmaxScratch* scratch = nullptr;
  ArgmaxTarget() {
    CHECK(cudaMalloc(&tokens, 16 * sizeof(int)));
    CHECK(cudaMalloc(&scratch, sizeof(kc::ArgmaxScratch)));
    CHECK(cudaMemset(scratch, 0, sizeof(kc::ArgmaxScratch)));
  }
  ~ArgmaxTarget() { cudaFree(params), cudaFree(tokens), cudaFree(scratch); }
  kc::ArgmaxNext next() const { return {params, tokens, scratch}; }
  bool took(int pos, int want, char* found, size_t size) const {
    const auto p = download(params, 2);
    const auto t = download(tokens, 5);
    std::snprintf(found, size, "got %d (token %d, position %d)", p[1], t[pos], p[0]);
    return p[0] == pos + 1 && p[1] == want && t[pos] == want;
  }
};

// The output projection taking the argmax on the way (matvec_split with
// ArgmaxNext) against the first maximum of its outputs found on the host,
// with the largest output's row copied to an earlier row (two equal maxima:
// the first must win); twice (the ticket counter reset); the outputs the
// same bits as without the argmax.
template <class B, int K>
void check_argmax_fused(int rows, std::mt19937& rng) {
  auto w = random_rows<B>(rows, K, rng);
  const size_t rb = w.size() / rows;
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(K), nw(K, 1.0f);
  for (float& v : x) v = nd(rng);
  float *dx = upload(x), *dn = upload(nw), *y = nullptr;
  CHECK(cudaMalloc(&y, rows * 4));
  const kc::NormInput in{dx, dn, nullptr, 1e-5f, 0.0f, false};
  auto first_max = [](const std::vector<float>& v) {
    return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());  // the first of equal maxima
  };
  uint8_t* dw = upload(w);
  kc::launch_matvec_split<B, K, 1>(nullptr, kc::MatvecParts<1>{{{dw, rb, rows, y, nullptr}}}, in);
  CHECK(cudaDeviceSynchronize());
  const int top = first_max(download(y, rows));
  const int copy = top > 0 ? std::uniform_int_distribution<int>(0, top - 1)(rng) : rows - 1;
  std::memcpy(w.data() + copy * rb, w.data() + top * rb, rb);
  cudaFree(dw);
  dw = upload(w);
  kc::launch_matvec_split<B, K, 1>(nullptr, kc::MatvecParts<1>{{{dw, rb, rows, y, nullptr}}}, in);
  CHECK(cudaDeviceSynchronize());
  const auto plain = download(y, rows);
  const int want = first_max(plain);
  const ArgmaxTarget target;
  for (int pos = 3; pos < 5; ++pos) {
    CHECK(cudaMemset(y, 0xff, rows * 4));
    kc::launch_matvec_split<B, K, 1>(nullptr, kc::MatvecParts<1>{{{dw, rb, rows, y, nullptr}}}, in, target.next());
    CHECK(cudaGetLastError());
    char found[96];
    const bool took = target.took(pos, want, found, sizeof found);
    const bool same = download(y, rows) == plain;
    const bool ok = took && same && want == std::min(top, copy);
    failures += !ok;
    std::printf("matvec_split %s %d x %d with the argmax: want %d (rows %d and %d equal), %s, outputs %s  %s\n",
                std::is_same_v<B, BlockQ8_0> ? "Q8_0" : "Q4_0", rows, K, want, std::min(top, copy),
                std::max(top, copy), found, same ? "same bits" : "DIFFERENT", ok ? "ok" : "FAIL");
  }
  cudaFree(dw), cudaFree(dx), cudaFree(dn), cudaFree(y);
}

template <int HD, int NH, int NKV>
void check_attention(int n, int pos0, int window, std::mt19937& rng) {
  const int ctx = pos0 + n;
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> q(static_cast<size_t>(n) * NH * HD);
  for (float& v : q) v = nd(rng);
  std::vector<__half> kc_(static_cast<size_t>(ctx) * NKV * HD), vc_(kc_.size());
  for (auto& v : kc_) v = __float2half(nd(rng));
  for (auto& v : vc_) v = __float2half(nd(rng));
  const std::vector<int> params = {pos0};
  float* dq = upload(q);
  __half* dk = upload(kc_);
  __half* dv = upload(vc_);
  int* dp = upload(params);
  float *o_ref = nullptr, *o = nullptr;
  CHECK(cudaMalloc(&o_ref, q.size() * 4));
  CHECK(cudaMalloc(&o, q.size() * 4));
  CHECK(cudaMemset(o, 0xff, q.size() * 4));
  const float scale = 1.0f / std::sqrt(static_cast<float>(HD));
  auto ref = kc::attention<HD, HD, NH, NKV, __half>;
  CHECK(cudaFuncSetAttribute(ref, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kc::attention_smem_bytes<HD>(ctx))));
  ref<<<dim3(NH, n), kc::kAttnThreads, kc::attention_smem_bytes<HD>(ctx)>>>(dq, o_ref, dk, dv, window, scale, 0.0f, dp, kc::Q8Out{}, kc::RopeKv{});
  kc::attention_prefill<HD, HD, NH, NKV, __half>
      <<<dim3(NH, (n + kc::kPaQueries - 1) / kc::kPaQueries), kc::kPaThreads>>>(dq, o, dk, dv, window, scale, 0.0f,
                                                                                dp, n);
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
  char what[96];
  std::snprintf(what, sizeof what, "attention_prefill hd %d, %d/%d heads, %d at %d, window %d", HD, NH, NKV, n, pos0,
                window);
  report(what, rel_rms(download(o_ref, q.size()), download(o, q.size())));
  cudaFree(dq), cudaFree(dk), cudaFree(dv), cudaFree(dp), cudaFree(o_ref), cudaFree(o);
}

// The one-token attention with RoPE and the KV write fused in (RopeKv, keys
// and values of earlier positions copied before pdl_wait) against rope_kv
// and then attention on the cache, at a position past the copied tile and
// inside it, with and without a window: the same numbers.
template <int HD, int NH, int NKV, class KvT>
void check_decode_attention(int pos, int window, std::mt19937& rng) {
  const int ctx = pos + 1;
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> q(NH * HD), k(NKV * HD), v(NKV * HD), inv(HD / 2);
  for (float& x : q) x = nd(rng);
  for (float& x : k) x = nd(rng);
  for (float& x : v) x = nd(rng);
  for (int i = 0; i < HD / 2; ++i) inv[i] = static_cast<float>(std::pow(10000.0, -2.0 * i / HD));
  std::vector<KvT> kc_(static_cast<size_t>(ctx) * NKV * HD), vc_(kc_.size());
  for (auto& x : kc_) x = KvT(nd(rng));
  for (auto& x : vc_) x = KvT(nd(rng));
  const std::vector<int> params = {pos};
  float *dq = upload(q), *dk = upload(k), *dv = upload(v), *dinv = upload(inv);
  float* dq2 = upload(q);
  KvT *kc1 = upload(kc_), *vc1 = upload(vc_), *kc2 = upload(kc_), *vc2 = upload(vc_);
  int* dp = upload(params);
  float *o_ref = nullptr, *o = nullptr;
  CHECK(cudaMalloc(&o_ref, q.size() * 4));
  CHECK(cudaMalloc(&o, q.size() * 4));
  CHECK(cudaMemset(o, 0xff, q.size() * 4));
  const float scale = 1.0f / std::sqrt(static_cast<float>(HD));
  const size_t smem = kc::attention_smem_bytes<HD>(ctx);
  auto att = kc::attention<HD, HD, NH, NKV, KvT>;
  CHECK(cudaFuncSetAttribute(att, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  kc::rope_kv<KvT><<<1, kc::kRopeKvThreads>>>(
      dq, dk, dv, kc1, vc1, NH, NKV, HD, HD, HD, false, dinv, 1.0f, dp);
  att<<<dim3(NH, 1), kc::kAttnThreads, smem>>>(dq, o_ref, kc1, vc1, window, scale, 0.0f, dp, kc::Q8Out{}, kc::RopeKv{});
  kc::RopeKv rk;
  rk.k = upload(k);
  rk.v = upload(v);
  rk.inv_freq = dinv;
  rk.rope_dims = HD;
  att<<<dim3(NH, 1), kc::kAttnThreads, smem>>>(dq2, o, kc2, vc2, window, scale, 0.0f, dp, kc::Q8Out{}, rk);
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
  const auto want = download(o_ref, q.size()), got = download(o, q.size());
  const bool same = std::memcmp(want.data(), got.data(), want.size() * 4) == 0;
  char what[96];
  std::snprintf(what, sizeof what, "attention + RopeKv hd %d, %d/%d heads, at %d, window %d, kv %s%s", HD, NH, NKV,
                pos, window, std::is_same_v<KvT, float> ? "f32" : "f16", same ? " (same bits)" : "");
  report(what, rel_rms(want, got));
  for (void* ptr : {static_cast<void*>(dq), static_cast<void*>(dk), static_cast<void*>(dv), static_cast<void*>(dinv),
                    static_cast<void*>(dq2), static_cast<void*>(kc1), static_cast<void*>(vc1), static_cast<void*>(kc2),
                    static_cast<void*>(vc2), static_cast<void*>(dp), static_cast<void*>(o_ref), static_cast<void*>(o),
                    const_cast<void*>(static_cast<const void*>(rk.k)), const_cast<void*>(static_cast<const void*>(rk.v))}) {
    cudaFree(ptr);
  }
}

// argmax_next against the first maximum found on the host: random logits
// with the maximum repeated (the first must win), NaNs, and a pointer that
// is not 16-byte aligned (the scalar path).
void check_argmax(int n, int offset, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> logits(n + offset);
  for (float& v : logits) v = nd(rng);
  std::uniform_int_distribution<int> at(offset, n + offset - 1);
  const int a = at(rng), b = at(rng);
  logits[a] = logits[b] = 9.0f;  // two equal maxima
  logits[at(rng)] = std::nanf("");
  int want = -1;
  float best = -INFINITY;
  for (int i = 0; i < n; ++i) {
    if (logits[offset + i] > best) {  // NaN never is
      best = logits[offset + i];
      want = i;
    }
  }
  float* dl = upload(logits);
  const ArgmaxTarget target;
  // Twice: the second launch finds the ticket counter the first one reset.
  for (int pos = 3; pos < 5; ++pos) {
    kc::launch_argmax_next(nullptr, dl + offset, n, target.next());
    CHECK(cudaGetLastError());
    char found[96];
    const bool ok = target.took(pos, want, found, sizeof found);
    failures += !ok;
    std::printf("argmax_next %d logits at +%d: want %d, %s  %s\n", n, offset, want, found, ok ? "ok" : "FAIL");
  }
  cudaFree(dl);
}

// top_logits against a sort of every (logit, id) on the host, in
// model::top_first's order (NaN and +infinity first, then the higher logit,
// then the lower id), for two kinds of logits: on a coarse grid (many ties)
// with zeros of both signs and a share of -infinity, and normal ones (as a
// model's: few ties, the radix selection stops early); with nan_at >= 0 a
// NaN and an infinity among them. Twice each (the ticket reset), the second
// time with the softmax mass, against model::softmax_mass's sum in id order
// (within 1e-12: another order of double sums), then timed.
void check_top_logits(int n, int k, int nan_at, std::mt19937& rng) {
  std::uniform_int_distribution<int> level(-60, 60);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  std::vector<float> logits(n);
  float* dl = nullptr;
  kc::TopPair* dout = nullptr;
  unsigned long long* scratch = nullptr;
  CHECK(cudaMalloc(&dl, n * sizeof(float)));
  CHECK(cudaMalloc(&dout, kc::kTopMax * sizeof(kc::TopPair)));
  double* dmass = nullptr;
  CHECK(cudaMalloc(&dmass, sizeof(double)));
  CHECK(cudaMalloc(&scratch, kc::top_logits_scratch_bytes(n)));
  CHECK(cudaMemset(scratch, 0, kc::top_logits_scratch_bytes(n)));
  for (const bool rough : {true, false}) {
    for (float& v : logits) {
      if (!rough) {
        v = nd(rng);
        continue;
      }
      v = level(rng) / 16.0f;
      if (v == 0.0f && u(rng) < 0.5f) v = -0.0f;
      if (u(rng) < 0.05f) v = -INFINITY;
    }
    if (nan_at >= 0) {
      logits[nan_at] = std::nanf("");
      logits[n - 1 - nan_at] = INFINITY;
    }
    auto bad = [](float v) { return std::isnan(v) || v == INFINITY; };
    std::vector<int> order(n);
    for (int i = 0; i < n; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      const float x = logits[a], y = logits[b];
      if (bad(x) != bad(y)) return bad(x);
      if (!bad(x) && x != y) return x > y;
      return a < b;
    });
    const int m = std::min(k, n);
    CHECK(cudaMemcpy(dl, logits.data(), n * sizeof(float), cudaMemcpyHostToDevice));
    for (int round = 0; round < 2; ++round) {
      CHECK(cudaMemset(dout, 0xff, kc::kTopMax * sizeof(kc::TopPair)));
      CHECK(cudaMemset(dmass, 0xff, sizeof(double)));
      kc::launch_top_logits(nullptr, dl, n, k, dout, round == 1 ? dmass : nullptr, scratch);
      CHECK(cudaGetLastError());
      const std::vector<kc::TopPair> got = download(dout, m);
      int wrong = 0;
      for (int j = 0; j < m; ++j) {
        const float want = logits[order[j]];
        wrong += got[j].id != order[j] || std::memcmp(&got[j].logit, &want, 4) != 0;
      }
      failures += wrong != 0;
      std::printf("top_logits %d %s logits, k %d%s: %d of %d pairs differ from the host's sort  %s\n", n,
                  rough ? "rough" : "normal", k, nan_at >= 0 ? " (a NaN, an infinity)" : "", wrong, m,
                  wrong ? "FAIL" : "ok");
      if (round == 1 && nan_at < 0) {
        const double want = forge::model::softmax_mass(logits), got_mass = download(dmass, 1)[0];
        const double rel = std::abs(got_mass - want) / want;
        failures += !(rel <= 1e-12);
        std::printf("top_logits %d %s logits: softmax mass %.17g, host %.17g, relative difference %.2g  %s\n", n,
                    rough ? "rough" : "normal", got_mass, want, rel, rel <= 1e-12 ? "ok" : "FAIL");
      }
    }
    for (const bool with_mass : {false, true}) {
      const float us = 1e3f * median_ms(
                                  [&] {
                                    kc::launch_top_logits(nullptr, dl, n, k, dout, with_mass ? dmass : nullptr,
                                                          scratch);
                                  },
                                  50);
      std::printf("TIMING top_logits %d %s logits, k %d%s: %.1f us\n", n, rough ? "rough" : "normal", k,
                  with_mass ? ", with the mass" : "", us);
    }
  }
  cudaFree(dl);
  cudaFree(dout);
  cudaFree(dmass);
  cudaFree(scratch);
}

// attention_mma against attention on random queries whose rows differ in size
// by 10^3 (row norms 0.01 .. 10 times a unit normal's: diffuse and sharp
// softmaxes), keys and values of the cache type KvT.
// kQW x kSplit: the block shape (launch_attention_mma_cfg); 0 x 0 the default one.
template <int HD, int NH, int NKV, class KvT, int kQW = 0, int kSplit = 0>
void check_attention_mma(int n, int pos0, int window, float cap, std::mt19937& rng) {
  const int ctx = pos0 + n;
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_real_distribution<float> expo(-2.0f, 1.0f);
  std::vector<float> q(static_cast<size_t>(n) * NH * HD);
  for (size_t r = 0; r < q.size() / HD; ++r) {
    const float size = std::pow(10.0f, expo(rng));
    for (int d = 0; d < HD; ++d) q[r * HD + d] = size * nd(rng);
  }
  std::vector<KvT> kc_(static_cast<size_t>(ctx) * NKV * HD), vc_(kc_.size());
  for (auto& v : kc_) v = KvT(nd(rng));
  for (auto& v : vc_) v = KvT(nd(rng));
  const std::vector<int> params = {pos0};
  float* dq = upload(q);
  KvT* dk = upload(kc_);
  KvT* dv = upload(vc_);
  int* dp = upload(params);
  float *o_ref = nullptr, *o = nullptr;
  CHECK(cudaMalloc(&o_ref, q.size() * 4));
  CHECK(cudaMalloc(&o, q.size() * 4));
  CHECK(cudaMemset(o, 0xff, q.size() * 4));  // NaN: every output must be written
  const float scale = 1.0f / std::sqrt(static_cast<float>(HD));
  auto ref = kc::attention<HD, HD, NH, NKV, KvT>;
  CHECK(cudaFuncSetAttribute(ref, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kc::attention_smem_bytes<HD>(ctx))));
  ref<<<dim3(NH, n), kc::kAttnThreads, kc::attention_smem_bytes<HD>(ctx)>>>(dq, o_ref, dk, dv, window, scale, cap, dp, kc::Q8Out{}, kc::RopeKv{});
  CHECK(cudaGetLastError());
  if constexpr (kQW == 0) {
    kc::launch_attention_mma<HD, HD, NH, NKV, KvT>(nullptr, dq, o, dk, dv, window, scale, cap, dp, n);
  } else {
    kc::launch_attention_mma_cfg<HD, HD, NH, NKV, KvT, kQW, kSplit>(nullptr, dq, o, dk, dv, window, scale, cap, dp, n);
  }
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
  char what[96];
  std::snprintf(what, sizeof what, "attention_mma%s hd %d, %d/%d, %d at %d, win %d, cap %g, kv %s",
                kQW == 0 ? "" : kSplit == 1 ? " 4x1" : " 4x2", HD, NH, NKV, n, pos0, window, cap,
                std::is_same_v<KvT, float> ? "f32" : "f16");
  const auto want = download(o_ref, q.size()), got = download(o, q.size());
  const double err = rel_rms(want, got);
  report(what, err);
  if (!(err < 1e-5)) {  // where: the worst element, and how many are off or unwritten
    size_t worst = 0, off = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const double d = std::fabs(double(got[i]) - want[i]);
      off += !(d <= 1e-4 * (std::fabs(want[i]) + 1e-3));
      if (!(d <= std::fabs(double(got[worst]) - want[worst]))) worst = i;
    }
    std::printf("    worst: token %zu head %zu dim %zu: want %g got %g; %zu of %zu off\n", worst / (NH * HD),
                worst / HD % NH, worst % HD, want[worst], got[worst], off, got.size());
  }
  cudaFree(dq), cudaFree(dk), cudaFree(dv), cudaFree(dp), cudaFree(o_ref), cudaFree(o);
}

template <int HD, int NH, int NKV, class KvT>
void check_mma_shapes(int n, int pos0, int window, float cap, std::mt19937& rng) {
  check_attention_mma<HD, NH, NKV, KvT, 4, 1>(n, pos0, window, cap, rng);
  check_attention_mma<HD, NH, NKV, KvT, 4, 2>(n, pos0, window, cap, rng);
}

// norm_rows_held (a row in registers) against norm_rows on n rows of `width`
// with a residual and the quantized output: the same bits; then both times (TIMING).
template <int kPer>
void check_norm_held(int n, int width, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n) * width), r(x.size()), w(width);
  for (float& v : x) v = nd(rng);
  for (float& v : r) v = nd(rng);
  for (float& v : w) v = 1.0f + 0.1f * nd(rng);
  float *dr = upload(r), *dw = upload(w);
  float* xs[2] = {upload(x), upload(x)};
  float* ys[2] = {upload(x), upload(x)};
  float* vs[2] = {upload(x), upload(x)};
  float* ss[2] = {upload(x), upload(x)};
  int8_t* ls[2];
  for (auto& l : ls) CHECK(cudaMalloc(&l, x.size()));
  auto q = [&](int k) { return kc::Q8Out{vs[k], nullptr, ls[k], ss[k]}; };
  kc::norm_rows<<<n, kc::kNormThreads>>>(xs[0], dr, ys[0], dw, nullptr, width, width, false, false, 1e-5f, 0.0f, q(0));
  kc::norm_rows_held<kPer><<<n, kc::kNormThreads>>>(xs[1], dr, ys[1], dw, nullptr, width, false, 1e-5f, 0.0f, q(1));
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
  const size_t all = x.size();
  const bool same = download(xs[0], all) == download(xs[1], all) && download(ys[0], all) == download(ys[1], all) &&
                    download(vs[0], all) == download(vs[1], all) && download(ls[0], all) == download(ls[1], all) &&
                    download(ss[0], all / 32) == download(ss[1], all / 32);
  failures += !same;
  char what[96];
  std::snprintf(what, sizeof what, "norm_rows_held<%d> %d x %d = norm_rows", kPer, n, width);
  std::printf("%-52s %s\n", what, same ? "same bits  ok" : "differ  FAIL");
  const float t_old = median_ms(
      [&] {
        kc::norm_rows<<<n, kc::kNormThreads>>>(ys[0], dr, ys[0], dw, nullptr, width, width, false, false, 1e-5f, 0.0f,
                                               q(0));
      },
      21);
  const float t_new = median_ms(
      [&] {
        kc::norm_rows_held<kPer><<<n, kc::kNormThreads>>>(ys[1], dr, ys[1], dw, nullptr, width, false, 1e-5f, 0.0f, q(1));
      },
      21);
  std::printf("TIMING norm with residual and quantization, %d x %d: norm_rows %.1f us, norm_rows_held %.1f us\n", n,
              width, 1e3 * t_old, 1e3 * t_new);
  for (int k = 0; k < 2; ++k) cudaFree(xs[k]), cudaFree(ys[k]), cudaFree(vs[k]), cudaFree(ss[k]), cudaFree(ls[k]);
  cudaFree(dr), cudaFree(dw);
}

// One layer's rope_kv over n prompt tokens (F16 cache; TIMING).
template <int HD, int NH, int NKV>
void time_rope_kv(const char* model, int n) {
  std::vector<float> x(static_cast<size_t>(n) * (NH + 2 * NKV) * HD, 0.5f), inv(HD / 2, 1e-3f);
  const std::vector<int> params = {0};
  float* dx = upload(x);
  float* dinv = upload(inv);
  int* dp = upload(params);
  __half *kc_ = nullptr, *vc_ = nullptr;
  CHECK(cudaMalloc(&kc_, static_cast<size_t>(n) * NKV * HD * 2));
  CHECK(cudaMalloc(&vc_, static_cast<size_t>(n) * NKV * HD * 2));
  float *q = dx, *k = dx + static_cast<size_t>(n) * NH * HD, *v = k + static_cast<size_t>(n) * NKV * HD;
  const float t = median_ms(
      [&] {
        kc::rope_kv<__half><<<n, kc::kRopeKvThreads>>>(q, k, v, kc_, vc_, NH, NKV, HD, HD, HD, false, dinv, 1.0f, dp);
      },
      21);
  std::printf("TIMING %-14s rope_kv, %d tokens: %.1f us\n", model, n, 1e3 * t);
  cudaFree(dx), cudaFree(dinv), cudaFree(dp), cudaFree(kc_), cudaFree(vc_);
}

// One layer's prefill attention, n tokens at position 0, F16 cache:
// attention_prefill against attention_mma (the default block shape, then others).
template <int HD, int NH, int NKV>
void time_attention(const char* model, int n, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> q(static_cast<size_t>(n) * NH * HD);
  for (float& v : q) v = nd(rng);
  std::vector<__half> kc_(static_cast<size_t>(n) * NKV * HD), vc_(kc_.size());
  for (auto& v : kc_) v = __float2half(nd(rng));
  for (auto& v : vc_) v = __float2half(nd(rng));
  const std::vector<int> params = {0};
  float* dq = upload(q);
  __half* dk = upload(kc_);
  __half* dv = upload(vc_);
  int* dp = upload(params);
  float* o = nullptr;
  CHECK(cudaMalloc(&o, q.size() * 4));
  const float scale = 1.0f / std::sqrt(static_cast<float>(HD));
  constexpr int kReps = 21;
  const float t_old = median_ms(
      [&] {
        kc::attention_prefill<HD, HD, NH, NKV, __half>
            <<<dim3(NH, (n + kc::kPaQueries - 1) / kc::kPaQueries), kc::kPaThreads>>>(dq, o, dk, dv, 0, scale, 0.0f,
                                                                                      dp, n);
      },
      kReps);
  auto mma = [&](auto cfg) {
    constexpr int kQW = decltype(cfg)::first_type::value, kSplit = decltype(cfg)::second_type::value;
    return median_ms(
        [&] {
          kc::launch_attention_mma_cfg<HD, HD, NH, NKV, __half, kQW, kSplit>(nullptr, dq, o, dk, dv, 0, scale, 0.0f, dp,
                                                                            n);
        },
        kReps);
  };
  using I1 = std::integral_constant<int, 1>;
  using I2 = std::integral_constant<int, 2>;
  using I4 = std::integral_constant<int, 4>;
  using Def = std::pair<std::integral_constant<int, kc::kAmRowWarps>, std::integral_constant<int, kc::kAmSplit>>;
  const float t_def = mma(Def{});
  const float t41 = mma(std::pair<I4, I1>{}), t42 = mma(std::pair<I4, I2>{}), t22 = mma(std::pair<I2, I2>{});
  const float t21 = mma(std::pair<I2, I1>{}), t_def2 = mma(Def{});
  std::printf("TIMING %-14s hd %d, %d/%d heads, n %d: attention_prefill %.1f us, attention_mma %.1f us (again %.1f; "
              "4x1 %.1f, 4x2 %.1f, 2x2 %.1f, 2x1 %.1f)\n",
              model, HD, NH, NKV, n, 1e3 * t_old, 1e3 * t_def, 1e3 * t_def2, 1e3 * t41, 1e3 * t42, 1e3 * t22,
              1e3 * t21);
  cudaFree(dq), cudaFree(dk), cudaFree(dv), cudaFree(dp), cudaFree(o);
}

// mmq against matvec, its two tile heights against each other, and its times at the models' shapes.
void prefill_products(std::mt19937& rng) {
  check_mmq<BlockQ8_0, 2048>("Q8_0", 2048, 512, rng);  // llama-3.2-1b attn_q
  check_mmq<BlockQ4_0, 2048>("Q4_0", 8192, 512, rng);  // ffn_gate
  check_mmq<BlockQ8_0, 8192>("Q8_0", 2048, 300, rng);  // ffn_down, a partial token tile
  check_mmq<BlockQ4_0, 8192>("Q4_0", 2048, 77, rng);
  check_mmq<BlockQ8_0, 576>("Q8_0", 1536, 512, rng);   // smollm2-135m: K = 4.5 stages
  check_mmq<BlockQ4_0, 576>("Q4_0", 190, 33, rng);     // rows not a multiple of 64
  time_mmq<BlockQ8_0, 576>("Q8_0", 960, 512, rng);     // smollm2-135m attn_q+k+v
  time_mmq<BlockQ8_0, 576>("Q8_0", 1536, 512, rng);    // ffn_gate
  time_mmq<BlockQ8_0, 1536>("Q8_0", 576, 512, rng);    // ffn_down
  time_mmq<BlockQ8_0, 2048>("Q8_0", 3072, 512, rng);   // llama-3.2-1b attn_q+k+v
  time_mmq<BlockQ8_0, 2048>("Q8_0", 16384, 512, rng);  // llama-3.2-1b ffn_gate+up
  time_mmq<BlockQ8_0, 2048>("Q8_0", 2048, 512, rng);   // attn_output
  time_mmq<BlockQ8_0, 8192>("Q8_0", 2048, 512, rng);   // ffn_down
  time_mmq<BlockQ8_0, 3072>("Q8_0", 5120, 512, rng);   // llama-3.2-3b attn_q+k+v
  time_mmq<BlockQ8_0, 3072>("Q8_0", 3072, 512, rng);   // attn_output
  time_mmq<BlockQ8_0, 3072>("Q8_0", 16384, 512, rng);  // ffn_gate+up
  time_mmq<BlockQ8_0, 8192>("Q8_0", 3072, 512, rng);   // ffn_down
  time_mmq<BlockQ4_0, 3072>("Q4_0", 5120, 512, rng);
  time_mmq<BlockQ4_0, 3072>("Q4_0", 16384, 512, rng);
  time_mmq<BlockQ4_0, 8192>("Q4_0", 3072, 512, rng);
  time_mmq<BlockQ4_0, 576>("Q4_0", 190, 33, rng);      // partial tiles both ways
}

int main(int argc, char** argv) {
  const bool attention_only = argc > 1 && std::strcmp(argv[1], "attention") == 0;
  const bool mmq_only = argc > 1 && std::strcmp(argv[1], "mmq") == 0;
  const bool chains_only = argc > 1 && std::strcmp(argv[1], "chains") == 0;
  cudaDeviceProp prop{};
  CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s\n", prop.name);
  std::mt19937 rng(20261126);
  if (chains_only) {
    time_chains(rng);
    return 0;
  }
  if (mmq_only) {
    prefill_products(rng);
    std::printf("%s\n", failures ? "kernel_check: FAILURES" : "kernel_check: all ok");
    return failures ? 1 : 0;
  }
  if (!attention_only) {
    prefill_products(rng);
    check_mmq<BlockQ8_0, 2048>("Q8_0", 8192, 1, rng);    // decode
    check_mmq<BlockQ4_0, 2048>("Q4_0", 8192, 1, rng);
    check_mmq<BlockQ8_0, 8192>("Q8_0", 2048, 1, rng);
    check_mmq<BlockQ4_0, 8192>("Q4_0", 2048, 1, rng);
    check_mmq<BlockQ8_0, 576>("Q8_0", 1536, 1, rng);
    check_mmq<BlockQ4_0, 576>("Q4_0", 190, 1, rng);
    check_fused_input<BlockQ8_0, 576>(960, rng);    // smollm2-135m: 3 values a thread
    check_fused_input<BlockQ4_0, 960>(2560, rng);   // smollm2-360m: 4
    check_fused_input<BlockQ8_0, 1536>(576, rng);   // smollm2-135m's ffn_down: 6
    check_fused_input<BlockQ4_0, 2048>(3072, rng);  // llama-3.2-1b: 8
    check_fused_input<BlockQ8_0, 3072>(512, rng);   // llama-3.2-3b: 12
    check_glu<BlockQ8_0, 2048>(8192, false, rng);  // llama-3.2-1b
    check_glu<BlockQ4_0, 2048>(8192, false, rng);
    check_glu<BlockQ8_0, 960>(2560, true, rng);    // smollm2-360m's shapes, GELU
    check_glu<BlockQ4_0, 960>(2560, false, rng);
    check_glu<BlockQ8_0, 3072>(8192, false, rng);  // 3b's rows: no double buffering
    check_q6k<2048>(128256, rng);  // llama-3.2-1b Q4_0's output matrix (16-byte pieces)
    check_q6k<3072>(4000, rng);    // 3b's rows (8-byte pieces)
    check_q6k<8192>(2048, rng);    // ffn_down
    check_q6k<256>(77, rng);       // 2-byte pieces, fewer rows than a block's warps
  }
  check_argmax(49152, 0, rng);  // smollm2's vocabulary
  check_argmax(128256, 0, rng);  // llama 3's
  check_argmax(1001, 1, rng);    // not aligned, not a multiple of 4
  check_argmax((1 << 20) + 3, 0, rng);  // more slices than blocks
  check_top_logits(128256, 41, -1, rng);  // llama 3's vocabulary, the default top-k 40 (+ 1)
  check_top_logits(128256, 1, 77, rng);   // greedy, a NaN and an infinity
  check_top_logits(49152, 128, -1, rng);  // smollm2's, kTopMax
  check_top_logits(262144, 128, 5, rng);  // gemma 3's: more kept keys than one sort holds
  check_top_logits(100, 128, -1, rng);    // fewer logits than asked for
  if (!attention_only) {
    check_argmax_fused<BlockQ8_0, 576>(49152, rng);   // smollm2-135m's output
    check_argmax_fused<BlockQ4_0, 2048>(32000, rng);  // 1b's shape, a smaller vocabulary
    check_argmax_fused<BlockQ8_0, 2048>(100, rng);    // fewer rows than the grid's warps
    check_embed_input<BlockQ8_0, BlockQ8_0, 576>(960, 1000, 1.0f, rng);   // smollm2-135m's q/k/v
    check_embed_input<BlockQ4_0, BlockQ4_0, 2048>(3072, 500, 1.0f, rng);  // 1b's
    check_embed_input<BlockQ8_0, BlockQ4_0, 3072>(512, 300, 55.4f, rng);  // 3b's, scaled (Gemma)
  }
  check_decode_attention<64, 9, 3, __half>(5, 0, rng);      // smollm2-135m, inside the copied tile
  check_decode_attention<64, 9, 3, __half>(700, 0, rng);    // past it
  check_decode_attention<64, 32, 8, __half>(600, 100, rng);  // a window
  check_decode_attention<64, 32, 8, float>(300, 0, rng);     // F32 cache (a smaller tile)
  check_decode_attention<128, 24, 8, __half>(250, 0, rng);   // llama-3.2-3b
  check_decode_attention<128, 24, 8, float>(40, 30, rng);
  check_attention<64, 32, 8>(512, 0, 0, rng);           // llama-3.2-1b
  check_attention<64, 9, 3>(512, 0, 0, rng);            // smollm2-135m
  check_attention<64, 32, 8>(200, 300, 0, rng);         // a second prefill chunk
  check_attention<128, 24, 8>(333, 5, 0, rng);          // llama-3.2-3b
  check_attention<64, 32, 8>(512, 0, 100, rng);         // sliding window
  check_attention<128, 24, 8>(100, 450, 64, rng);
  check_attention_mma<64, 9, 3, __half>(512, 0, 0, 0.0f, rng);      // smollm2-135m
  check_attention_mma<64, 32, 8, __half>(512, 0, 0, 0.0f, rng);     // llama-3.2-1b
  check_attention_mma<128, 24, 8, __half>(333, 5, 0, 0.0f, rng);    // llama-3.2-3b (head 128)
  check_attention_mma<64, 9, 3, __half>(200, 37, 0, 0.0f, rng);     // n not a multiple of the tile
  check_attention_mma<64, 32, 8, __half>(512, 0, 100, 0.0f, rng);   // sliding window
  check_attention_mma<128, 24, 8, __half>(100, 450, 64, 0.0f, rng);
  check_attention_mma<64, 9, 3, __half>(300, 20, 0, 1.5f, rng);     // softcap (tanh matters)
  check_attention_mma<128, 16, 8, __half>(77, 3, 50, 2.0f, rng);
  check_attention_mma<64, 9, 3, float>(200, 37, 0, 0.0f, rng);      // F32 cache
  check_attention_mma<128, 24, 8, float>(150, 100, 60, 1.5f, rng);
  check_attention_mma<64, 32, 8, __half>(5, 1000, 0, 0.0f, rng);    // a few tokens late in the context
  check_attention_mma<64, 9, 3, __half>(1, 0, 0, 0.0f, rng);
  // Other block shapes TIMING shows: 4 row groups of one warp (4x1) and of two warps (4x2).
  check_mma_shapes<64, 9, 3, __half>(200, 37, 0, 0.0f, rng);
  check_mma_shapes<128, 24, 8, __half>(333, 5, 0, 0.0f, rng);
  check_mma_shapes<64, 32, 8, __half>(512, 0, 100, 0.0f, rng);
  check_mma_shapes<128, 24, 8, __half>(100, 450, 64, 0.0f, rng);
  check_mma_shapes<64, 9, 3, __half>(300, 20, 0, 1.5f, rng);
  check_mma_shapes<64, 9, 3, float>(200, 37, 0, 0.0f, rng);
  check_mma_shapes<128, 24, 8, float>(150, 100, 60, 1.5f, rng);
  check_mma_shapes<64, 32, 8, __half>(5, 1000, 0, 0.0f, rng);
  time_chains(rng);
  time_attention<64, 9, 3>("smollm2-135m", 512, rng);
  time_attention<64, 32, 8>("llama-3.2-1b", 512, rng);
  time_attention<128, 24, 8>("llama-3.2-3b", 512, rng);
  check_norm_held<12>(512, 3072, rng);  // llama-3.2-3b
  check_norm_held<8>(512, 2048, rng);   // llama-3.2-1b
  check_norm_held<4>(512, 576, rng);    // smollm2-135m
  check_norm_held<4>(1, 960, rng);      // smollm2-360m, one token
  time_rope_kv<64, 32, 8>("llama-3.2-1b", 512);
  time_rope_kv<128, 24, 8>("llama-3.2-3b", 512);
  std::printf("%s\n", failures ? "kernel_check: FAILURES" : "kernel_check: all ok");
  return failures ? 1 : 0;
}
