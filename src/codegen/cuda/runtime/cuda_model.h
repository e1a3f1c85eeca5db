// The host side of a compiled CUDA model: device checks, weights upload,
// the prefill loop (chunks of max_batch tokens) and the decode step captured
// once as a CUDA graph and replayed per token. A generated model.cu derives
// from CudaModel and supplies enqueue(): the step's kernel launches with
// every dimension a constant. Compiled by nvcc inside generated projects.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "codegen/cpu/runtime/weights_file.h"
#include "codegen/cuda/runtime/cuda_settings.h"
#include "codegen/cuda/runtime/memory_fit.h"
#include "kernels/cuda/attention_mma.cuh"
#include "kernels/cuda/forge_kernels.cuh"
#include "kernels/cuda/matvec.cuh"
#include "kernels/cuda/gemm.cuh"
#include "kernels/cuda/mmq.cuh"
#include "kernels/cuda/top_logits.cuh"
#include "model/forward.h"

namespace forge::cuda_rt {

class CudaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw CudaError(std::string(what) + ": " + cudaGetErrorString(e));
}

// Device 0, or a clear error when there is none.
inline cudaDeviceProp open_device() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess || n == 0) {
    throw CudaError(std::string("no CUDA GPU found (") + (e != cudaSuccess ? cudaGetErrorString(e) : "no devices") +
                    "); this program was compiled with forge compile --target cuda and needs an NVIDIA GPU");
  }
  cudaDeviceProp p{};
  check(cudaGetDeviceProperties(&p, 0), "cudaGetDeviceProperties");
  check(cudaSetDevice(0), "cudaSetDevice");
  return p;
}

struct DeviceFree {
  void operator()(void* p) const { cudaFree(p); }
};
struct HostFree {
  void operator()(void* p) const { cudaFreeHost(p); }
};
using DeviceBytes = std::unique_ptr<uint8_t, DeviceFree>;
using PinnedBytes = std::unique_ptr<uint8_t, HostFree>;

inline DeviceBytes device_alloc(size_t bytes, const char* what) {
  void* p = nullptr;
  check(cudaMalloc(&p, std::max<size_t>(bytes, 256)), what);
  check(cudaMemset(p, 0, std::max<size_t>(bytes, 256)), what);
  return DeviceBytes(static_cast<uint8_t*>(p));
}
inline PinnedBytes pinned_alloc(size_t bytes) {
  void* p = nullptr;
  check(cudaMallocHost(&p, std::max<size_t>(bytes, 256)), "cudaMallocHost");
  return PinnedBytes(static_cast<uint8_t*>(p));
}

// What the generated code states about its model.
struct Shape {
  int vocab = 0;
  int max_context = 0;
  int max_batch = 0;
  int hidden_width = 0;
  size_t arena_bytes = 0;
  size_t acts_bytes = 0;
  size_t kv_bytes = 0;  // all layers, keys and values
  size_t logits_offset = 0;
  size_t attn_smem = 0;  // dynamic shared memory of the attention kernel
  // Prefill GEMMs (kernels/cuda/gemm.cuh): dequantized weights a chunk holds
  // (0: no GEMM, max_batch is 1), activations converted to 16 bits.
  size_t gemm_weight_elems = 0;
  size_t gemm_x_elems = 0;
};

class CudaModel : public model::Forward {
 public:
  CudaModel(const Shape& s, const compiled::WeightsFile& weights, uint64_t weights_bytes, model::ModelInfo info)
      : s_(s), settings_(cuda_settings()), info_(std::move(info)) {
    const cudaDeviceProp prop = open_device();
    size_t free_b = 0, total_b = 0;
    check(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
    const size_t kv_bytes = s.kv_bytes * (settings_.kv_f32 ? 2 : 1);
    const bool use_gemm = settings_.gemm_enabled && s.gemm_weight_elems > 0;
    // Rounded up so that the scratch's parts stay 4096-byte aligned (gemm.cuh).
    const size_t gemm_elems = (s.gemm_weight_elems + 1023) / 1024 * 1024;
    const size_t gemm_bytes = use_gemm ? kernels::cuda::gemm_scratch_bytes(gemm_elems, s.gemm_x_elems) : 0;
    MemoryNeeds needs{weights_bytes, kv_bytes, s.arena_bytes + s.acts_bytes + gemm_bytes, s.max_context};
    const std::string err = memory_fit_error(needs, free_b, total_b);
    if (!err.empty()) throw CudaError(std::string(prop.name) + ": " + err);
    if (s.attn_smem > prop.sharedMemPerBlockOptin) {
      throw CudaError("--max-context " + std::to_string(s.max_context) + " needs " + std::to_string(s.attn_smem) +
                      " bytes of shared memory for attention (its scores and a tile of keys); " + prop.name + " allows " +
                      std::to_string(prop.sharedMemPerBlockOptin));
    }
    device_name_ = prop.name;
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    weights_ = device_alloc(weights_bytes, "cudaMalloc (weights)");
    check(cudaMemcpy(weights_.get(), weights.data(), weights_bytes, cudaMemcpyHostToDevice), "uploading weights");
    arena_ = device_alloc(s.arena_bytes, "cudaMalloc (activations)");
    acts_ = device_alloc(s.acts_bytes, "cudaMalloc (activations)");
    kv_ = device_alloc(kv_bytes, "cudaMalloc (KV cache)");
    params_ = device_alloc((2 + s.max_batch) * sizeof(int), "cudaMalloc");
    gen_tokens_ = device_alloc((s.max_context + 1) * sizeof(int), "cudaMalloc");
    argmax_scratch_ = device_alloc(sizeof(forge::kernels::cuda::ArgmaxScratch), "cudaMalloc");
    check(cudaMemset(argmax_scratch_.get(), 0, sizeof(forge::kernels::cuda::ArgmaxScratch)), "cudaMemset");
    host_params_ = pinned_alloc((2 + s.max_batch) * sizeof(int));
    host_logits_ = pinned_alloc(static_cast<size_t>(s.vocab) * sizeof(float));
    top_scratch_ = device_alloc(kernels::cuda::top_logits_scratch_bytes(s.vocab), "cudaMalloc");
    top_out_ = device_alloc(kTopOutBytes, "cudaMalloc");
    host_top_ = pinned_alloc(kTopOutBytes);
    if (use_gemm) {
      gemm_scratch_ = device_alloc(gemm_bytes, "cudaMalloc (prefill GEMM scratch)");
      if (cublasCreate(&gemm_.handle) != CUBLAS_STATUS_SUCCESS) throw CudaError("cublasCreate failed");
      gemm_.mode = settings_.gemm_mode;
      gemm_.scratch = gemm_scratch_.get();
      gemm_.weight_elems = gemm_elems;
      gemm_.x_elems = s.gemm_x_elems;
    }
  }
  ~CudaModel() override {
    if (gemm_.handle) cublasDestroy(gemm_.handle);
    if (graph_exec_) cudaGraphExecDestroy(graph_exec_);
    if (bench_exec_) cudaGraphExecDestroy(bench_exec_);
    if (bench_exec1_) cudaGraphExecDestroy(bench_exec1_);
    if (top_exec_) cudaGraphExecDestroy(top_exec_);
    if (stream_) cudaStreamDestroy(stream_);
  }
  CudaModel(const CudaModel&) = delete;
  CudaModel& operator=(const CudaModel&) = delete;

  const model::ModelInfo& info() const override { return info_; }
  const std::string& device_name() const { return device_name_; }
  int max_batch() const { return s_.max_batch; }

  std::span<const float> prefill(std::span<const int32_t> tokens, int pos, model::Logits logits = model::Logits::kLast,
                                 int seq = 0) override {
    validate(tokens, pos, seq);
    using model::Logits;
    if (logits == Logits::kAll) all_logits_.resize(tokens.size() * s_.vocab);
    for (size_t done = 0; done < tokens.size();) {
      const int n = static_cast<int>(
          std::min<size_t>(std::min(s_.max_batch, settings_.step_tokens), tokens.size() - done));
      const bool last = done + n == tokens.size();
      const Logits want = logits == Logits::kAll ? Logits::kAll : (last ? logits : Logits::kNone);
      int* hp = host_params();
      hp[0] = pos + static_cast<int>(done);
      std::memcpy(hp + 1, tokens.data() + done, n * sizeof(int));
      check(cudaMemcpyAsync(params_.get(), hp, (1 + n) * sizeof(int), cudaMemcpyHostToDevice, stream_), "params");
      enqueue_step(n, want);
      check(cudaGetLastError(), "kernel launch");
      if (want == Logits::kAll) {
        check(cudaMemcpyAsync(all_logits_.data() + done * s_.vocab, logits_dev(), n * s_.vocab * sizeof(float),
                              cudaMemcpyDeviceToHost, stream_),
              "logits");
      } else if (want == Logits::kLast) {
        check(cudaMemcpyAsync(host_logits_.get(), logits_dev(), s_.vocab * sizeof(float), cudaMemcpyDeviceToHost,
                              stream_),
              "logits");
      }
      check(cudaStreamSynchronize(stream_), "prefill step");
      done += n;
    }
    filled_ = pos + static_cast<int>(tokens.size());
    if (logits == Logits::kAll) return all_logits_;
    if (logits == Logits::kLast) return {reinterpret_cast<const float*>(host_logits_.get()), static_cast<size_t>(s_.vocab)};
    return {};
  }

  // One token through the captured decode graph: parameters in, logits out.
  std::span<const float> decode(int32_t token, int pos, int seq = 0) override {
    validate({&token, 1}, pos, seq);
    if (!graph_exec_) graph_exec_ = capture(true);
    replay_step(graph_exec_, token, pos);
    return {reinterpret_cast<const float*>(host_logits_.get()), static_cast<size_t>(s_.vocab)};
  }

  // One token through the decode graph; the k highest logits, selected on
  // the GPU (top_logits.cuh), and where asked, the row's softmax mass: 8
  // bytes a candidate cross PCIe, not the row. More than kTopMax (or
  // FORGE_CUDA_TOP_LOGITS=0): the base version, from all the logits.
  model::TopLogits decode_top(int32_t token, int pos, int k, bool mass, int seq = 0) override {
    namespace kc = forge::kernels::cuda;
    top_row_on_gpu_ = false;
    if (k < 1 || k > kc::kTopMax || !settings_.top_on_gpu) return Forward::decode_top(token, pos, k, mass, seq);
    validate({&token, 1}, pos, seq);
    k = std::min(k, s_.vocab);
    if (top_exec_ && (top_exec_k_ != k || top_exec_mass_ != mass)) {
      cudaGraphExecDestroy(top_exec_);
      top_exec_ = nullptr;
    }
    if (!top_exec_) {
      top_exec_ = capture(true, 1, k, mass);
      top_exec_k_ = k;
      top_exec_mass_ = mass;
    }
    replay_step(top_exec_, token, pos);
    top_row_on_gpu_ = true;
    static_assert(sizeof(kc::TopPair) == sizeof(model::TokenLogit) &&
                  offsetof(kc::TopPair, logit) == offsetof(model::TokenLogit, logit));
    top_.resize(k);
    std::memcpy(top_.data(), host_top_.get() + sizeof(double), k * sizeof(kc::TopPair));
    double m = NAN;
    if (mass) std::memcpy(&m, host_top_.get(), sizeof(double));
    return {top_, m};
  }
  // The last decode_top() step's logits, still on the GPU: copied now.
  std::span<const float> decode_top_row() override {
    if (!top_row_on_gpu_) return Forward::decode_top_row();  // the last decode_top() took the base version
    check(cudaMemcpy(host_logits_.get(), logits_dev(), s_.vocab * sizeof(float), cudaMemcpyDeviceToHost), "logits");
    return {reinterpret_cast<const float*>(host_logits_.get()), static_cast<size_t>(s_.vocab)};
  }

  void truncate(int pos, int seq = 0) override {
    check_seq(seq);
    filled_ = std::clamp(pos, 0, filled_);
  }

  // Greedy generation entirely on the GPU: after a prefill of `pos` tokens
  // ending in `token`, n decode steps each feeding its argmax to the next
  // (nothing read back until the end). Returns the seconds taken. A graph
  // launch replays FORGE_CUDA_GRAPH_STEPS steps (8): inside it the next
  // step's first kernel starts under the last one (PDL) instead of after a
  // graph boundary (~1.6 us idle). H100, tg128, 1 / 8 steps a launch (same
  // call, three calls): llama-3.2-1b Q8_0 1708 / 1718, Q4_0 1894 / 1912,
  // 3b Q8_0 580 / 581, smollm2-135m the same, smollm2-360m Q8_0 1984 /
  // 1967, Q4_0 1815 / 1807; 128 steps a launch were slower for every model.
  double decode_greedy_on_device(int32_t token, int pos, int n, std::vector<int32_t>* out_tokens) {
    if (pos + n > s_.max_context) throw std::out_of_range("context full");
    const int k = settings_.graph_steps;
    if (!bench_exec_) bench_exec_ = capture(false, k);
    if (n % k != 0 && !bench_exec1_) bench_exec1_ = capture(false, 1);
    int* hp = host_params();
    hp[0] = pos;
    hp[1] = token;
    check(cudaMemcpyAsync(params_.get(), hp, 2 * sizeof(int), cudaMemcpyHostToDevice, stream_), "params");
    check(cudaStreamSynchronize(stream_), "sync");
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n / k; ++i) check(cudaGraphLaunch(bench_exec_, stream_), "cudaGraphLaunch");
    for (int i = 0; i < n % k; ++i) check(cudaGraphLaunch(bench_exec1_, stream_), "cudaGraphLaunch");
    check(cudaStreamSynchronize(stream_), "decode steps");
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (out_tokens) {
      out_tokens->resize(n);
      check(cudaMemcpy(out_tokens->data(), gen_tokens_.get() + pos * sizeof(int), n * sizeof(int),
                       cudaMemcpyDeviceToHost),
            "tokens");
    }
    filled_ = pos + n;
    return secs;
  }

  // Times each op of one step of tokens.size() <= max_batch tokens at `pos`
  // launched without a graph (events between ops): name and milliseconds,
  // for the profiles in docs/cuda.md. The cache must hold `pos` positions.
  std::vector<std::pair<std::string, float>> profile_step(std::span<const int32_t> tokens, int pos) {
    validate(tokens, pos, 0);
    if (tokens.size() > static_cast<size_t>(s_.max_batch)) throw std::out_of_range("profile_step: more than max_batch tokens");
    const int n = static_cast<int>(tokens.size());
    int* hp = host_params();
    hp[0] = pos;
    std::memcpy(hp + 1, tokens.data(), n * sizeof(int));
    check(cudaMemcpyAsync(params_.get(), hp, (1 + n) * sizeof(int), cudaMemcpyHostToDevice, stream_), "params");
    profiling_ = true;
    marks_.clear();
    mark("start");
    enqueue_step(n, model::Logits::kLast);
    profiling_ = false;
    check(cudaStreamSynchronize(stream_), "profile step");
    std::vector<std::pair<std::string, float>> r;
    for (size_t i = 1; i < marks_.size(); ++i) {
      float ms = 0;
      cudaEventElapsedTime(&ms, marks_[i - 1].second, marks_[i].second);
      r.push_back({marks_[i].first, ms});
    }
    for (auto& m : marks_) cudaEventDestroy(m.second);
    marks_.clear();
    return r;
  }

 protected:
  // Launches one step of n tokens (params_ holds the position and tokens)
  // on stream_; the tail ops run on the rows `logits` asks for.
  virtual void enqueue(int n, model::Logits logits) = 0;

  // y = W x for n activation rows (generated code calls it for every
  // projection). Steps of at least min_rows tokens: Q8_0 / Q4_0 weights on the
  // int8 tensor cores (mmq.cuh), other types through cuBLAS on dequantized
  // weights (gemm.cuh); smaller steps and decode: the matrix-vector kernels.
  // accumulate: y += W x (the residual add after a projection; one-row steps only).
  // next: weights for the matrix-vector kernel to bring into L2 (kc::L2Prefetch).
  template <class B, int K>
  void matmul(const uint8_t* w, size_t row_bytes, int rows, float* y, const float* bias, const float* x,
              const float* xsum, int n, bool accumulate = false, const kernels::cuda::L2Prefetch& next = {}) {
    namespace kc = forge::kernels::cuda;
    if constexpr (kc::GemmTakes<B, K>::kValue) {
      if (gemm_.handle && n > 1 && n >= settings_.gemm_min_rows) {
        if constexpr (kc::MmqTakes<B>::kValue) {
          if (gemm_.mode == kc::GemmMode::kMmq) {
            kc::launch_mmq<B, K>(stream_, w, row_bytes, rows, levels_of<K>(x), scales_of<K>(x), n, y, bias);
            return;
          }
        }
        const cublasStatus_t st = kc::gemm_matmul<B, K>(gemm_, stream_, w, row_bytes, rows, x, xsum, n, y, bias);
        if (st != CUBLAS_STATUS_SUCCESS) {
          throw CudaError(std::string("cuBLAS GEMM (") + std::to_string(rows) + " x " + std::to_string(K) + ", " +
                          std::to_string(n) + " rows): " + cublasGetStatusString(st));
        }
        return;
      }
    }
    if (accumulate && n != 1) throw CudaError("internal: a residual add fused into a projection of several rows");
    const kc::MatvecParts<1> ps{{{w, row_bytes, rows, y, bias, accumulate}}, next};
    if constexpr (kc::IntDot<B>::kValue) {
      kc::launch_matvec_parts<B, K, 1>(stream_, ps, x, xsum, n, levels_of<K>(x), scales_of<K>(x));
    } else {
      kc::launch_matvec_parts<B, K, 1>(stream_, ps, x, xsum, n);
    }
  }

  // The int8 levels and scales of a quantized input region (Q8_0 / Q8_1:
  // the generated code's layout, cuda_codegen.cpp Emitter::q8_out): after
  // max_batch x K values and max_batch x K / 32 sums.
  template <int K>
  const int8_t* levels_of(const float* x) const {
    return reinterpret_cast<const int8_t*>(x + static_cast<size_t>(s_.max_batch) * (K + K / 32));
  }
  template <int K>
  const float* scales_of(const float* x) const {
    return x + static_cast<size_t>(s_.max_batch) * (K + K / 32 + K / 4);
  }

  // Several projections of one input with one weight type (q, k, v; gate,
  // up): one matrix-vector launch for all of them, one mmq launch, or one cuBLAS GEMM each.
  template <class B, int K, int N>
  void matmul_parts(const kernels::cuda::MatvecParts<N>& ps, const float* x, const float* xsum, int n) {
    namespace kc = forge::kernels::cuda;
    if (gemm_.handle && n > 1 && n >= settings_.gemm_min_rows && kc::GemmTakes<B, K>::kValue) {
      if constexpr (kc::MmqTakes<B>::kValue) {
        if (gemm_.mode == kc::GemmMode::kMmq) {
          kc::launch_mmq_parts<B, K, N>(stream_, ps, levels_of<K>(x), scales_of<K>(x), n);
          return;
        }
      }
      for (const auto& p : ps.p) matmul<B, K>(p.w, p.row_bytes, p.rows, p.y, p.bias, x, xsum, n);
      return;
    }
    if constexpr (kernels::cuda::IntDot<B>::kValue) {
      kernels::cuda::launch_matvec_parts<B, K, N>(stream_, ps, x, xsum, n, levels_of<K>(x), scales_of<K>(x));
    } else {
      kernels::cuda::launch_matvec_parts<B, K, N>(stream_, ps, x, xsum, n);
    }
  }

  // One step's launches; programmatic dependent launch only for steps below
  // prefill_min_rows() (launch.cuh PdlScope: it slows the prefill kernels down).
  void enqueue_step(int n, model::Logits logits) {
    const forge::kernels::cuda::PdlScope pdl(n < prefill_min_rows());
    enqueue(n, logits);
  }
  // Steps of at least this many tokens take the prefill kernels (GEMMs,
  // attention_prefill); FORGE_CUDA_GEMM_MIN_ROWS.
  int prefill_min_rows() const { return settings_.gemm_min_rows; }

  // Between ops when profiling (generated code calls it after each op).
  void mark(const char* name) {
    if (!profiling_) return;
    cudaEvent_t e;
    check(cudaEventCreate(&e), "cudaEventCreate");
    check(cudaEventRecord(e, stream_), "cudaEventRecord");
    marks_.push_back({name, e});
  }

  uint8_t* A(size_t offset) const { return arena_.get() + offset; }
  float* F(size_t offset) const { return reinterpret_cast<float*>(arena_.get() + offset); }
  float* acts() const { return reinterpret_cast<float*>(acts_.get()); }
  const uint8_t* W(uint64_t file_offset) const { return weights_.get() + file_offset; }
  const float* Wf(uint64_t file_offset) const { return reinterpret_cast<const float*>(W(file_offset)); }
  // Weights for a decode kernel to bring into L2 (kc::L2Prefetch): the first
  // FORGE_CUDA_PREFETCH_KB of them (12 MB), where they are at least 4 MB. A
  // projection of fewer bytes is bound by its latency, not by DRAM: there the
  // prefetch only queues before the step's own loads. H100, tg128 tok/s,
  // none / up to 16 MB of any size / up to 16 MB of at least 4 MB:
  // smollm2-135m Q8_0 2159 / 2118 / 2155, llama-3.2-1b Q8_0 1458 / 1501 / 1500;
  // with the weights read past L1 (ld128_once), caps of 8 / 12 / 16 MB: 1b
  // Q8_0 1632 / 1664 / 1633, 1b Q4_0 1852 / 1862 / 1849, 3b Q8_0 574 / 577 /
  // 572, 3b Q4_0 760 / 770 / 765, smollm2 the same (docs/cuda.md).
  kernels::cuda::L2Prefetch l2_prefetch(const compiled::TensorSlot& r) const {
    if (r.bytes < kernels::cuda::kL2PrefetchMinBytes) return {};
    return {W(r.offset), std::min<size_t>(r.bytes, settings_.prefetch_bytes) / 16 * 16};
  }
  // The KV cache: F16 (offsets as generated), or F32 (the same offsets doubled).
  __half* kv(size_t offset) const { return reinterpret_cast<__half*>(kv_.get() + offset); }
  float* kv32(size_t offset) const { return reinterpret_cast<float*>(kv_.get() + 2 * offset); }
  bool kv_f32() const { return settings_.kv_f32; }
  const int* params() const { return reinterpret_cast<const int*>(params_.get()); }
  int* params_mut() const { return reinterpret_cast<int*>(params_.get()); }
  float* logits_dev() const { return F(s_.logits_offset); }
  // The greedy next token of the decode graph (capture()): the generated
  // code hands it to the launch that computes the logits, if it can take it
  // (matvec.cuh matvec_split with ArgmaxNext); else capture() launches
  // argmax_next after the step. Outside capture(): none (params null).
  kernels::cuda::ArgmaxNext take_argmax() {
    if (!argmax_wanted_) return {};
    argmax_taken_ = true;
    return argmax_next();
  }
  cudaStream_t stream_ = nullptr;
  const Shape s_;
  // From the environment (cuda_settings.h): the prefill products, the prompt
  // step, and FORGE_CUDA_KV_F32=1 (keys and values in F32, as `forge logits`
  // keeps them: bench/cuda/gpu_check.sh compares logits that way).
  const CudaSettings settings_;

 private:
  int* host_params() { return reinterpret_cast<int*>(host_params_.get()); }
  void check_seq(int seq) const {
    if (seq != 0) throw std::out_of_range("sequence " + std::to_string(seq) + " does not exist (this program holds one)");
  }
  void validate(std::span<const int32_t> tokens, int pos, int seq) const {
    check_seq(seq);
    if (tokens.empty()) throw std::invalid_argument("prefill: no tokens");
    if (pos < 0 || pos > filled_) {
      throw std::out_of_range("prefill at position " + std::to_string(pos) + " but the cache holds " +
                              std::to_string(filled_) + " positions");
    }
    if (pos + static_cast<int64_t>(tokens.size()) > s_.max_context) {
      throw std::out_of_range("context full: " + std::to_string(pos + tokens.size()) +
                              " positions needed, the context holds " + std::to_string(s_.max_context) +
                              " (compiled with --max-context " + std::to_string(s_.max_context) + ")");
    }
    for (int32_t t : tokens) {
      if (t < 0 || t >= s_.vocab) {
        throw std::out_of_range("token id " + std::to_string(t) + " is outside the vocabulary (0.." +
                                std::to_string(s_.vocab - 1) + ")");
      }
    }
  }

  // One decode step through a graph captured with io (capture()): the
  // parameters it copies in, the launch, the wait for what it copies out.
  void replay_step(cudaGraphExec_t exec, int32_t token, int pos) {
    int* hp = host_params();
    hp[0] = pos;
    hp[1] = token;
    check(cudaGraphLaunch(exec, stream_), "cudaGraphLaunch");
    check(cudaStreamSynchronize(stream_), "decode step");
    filled_ = pos + 1;
  }

  kernels::cuda::ArgmaxNext argmax_next() const {
    return {params_mut(), reinterpret_cast<int*>(gen_tokens_.get()),
            reinterpret_cast<kernels::cuda::ArgmaxScratch*>(argmax_scratch_.get())};
  }

  // Captures decode steps. With `io`, the graph copies the parameters in
  // from pinned memory first and the logits out last (decode()), or (top >
  // 0) the `top` highest of them and (mass) their softmax mass
  // (decode_top(); kTopOutBytes: the mass, then the pairs); without, it
  // reads the parameters the previous replay's argmax left (on-device loop).
  cudaGraphExec_t capture(bool io, int steps = 1, int top = 0, bool mass = false) {
    namespace kc = forge::kernels::cuda;
    cudaGraph_t graph = nullptr;
    check(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
    if (io) {
      check(cudaMemcpyAsync(params_.get(), host_params(), 2 * sizeof(int), cudaMemcpyHostToDevice, stream_), "params");
    }
    for (int i = 0; i < steps; ++i) {
      argmax_wanted_ = true;
      argmax_taken_ = false;
      enqueue_step(1, model::Logits::kLast);
      argmax_wanted_ = false;
      if (!argmax_taken_) kc::launch_argmax_next(stream_, logits_dev(), s_.vocab, argmax_next());
    }
    if (io && top > 0) {
      auto* out = reinterpret_cast<kc::TopPair*>(top_out_.get() + sizeof(double));
      kc::launch_top_logits(stream_, logits_dev(), s_.vocab, top, out,
                            mass ? reinterpret_cast<double*>(top_out_.get()) : nullptr,
                            reinterpret_cast<unsigned long long*>(top_scratch_.get()));
      check(cudaMemcpyAsync(host_top_.get(), top_out_.get(), sizeof(double) + top * sizeof(kc::TopPair),
                            cudaMemcpyDeviceToHost, stream_),
            "top logits");
    } else if (io) {
      check(cudaMemcpyAsync(host_logits_.get(), logits_dev(), s_.vocab * sizeof(float), cudaMemcpyDeviceToHost,
                            stream_),
            "logits");
    }
    check(cudaStreamEndCapture(stream_, &graph), "cudaStreamEndCapture");
    cudaGraphExec_t exec = nullptr;
    check(cudaGraphInstantiate(&exec, graph, 0), "cudaGraphInstantiate");
    cudaGraphDestroy(graph);
    return exec;
  }

  model::ModelInfo info_;
  std::string device_name_;
  DeviceBytes weights_, arena_, acts_, kv_, params_, gen_tokens_, argmax_scratch_, gemm_scratch_, top_scratch_, top_out_;
  kernels::cuda::GemmContext gemm_;
  PinnedBytes host_params_, host_logits_, host_top_;
  static constexpr size_t kTopOutBytes = sizeof(double) + kernels::cuda::kTopMax * sizeof(kernels::cuda::TopPair);
  std::vector<float> all_logits_;
  int filled_ = 0;
  cudaGraphExec_t graph_exec_ = nullptr, bench_exec_ = nullptr, bench_exec1_ = nullptr, top_exec_ = nullptr;
  int top_exec_k_ = 0;  // the candidates top_exec_ selects, and whether it computes the mass
  bool top_exec_mass_ = false;
  bool top_row_on_gpu_ = false;  // the last decode_top() step's logits are (only) on the GPU
  bool profiling_ = false;
  bool argmax_wanted_ = false, argmax_taken_ = false;  // capture(): take_argmax()
  std::vector<std::pair<std::string, cudaEvent_t>> marks_;
};

}  // namespace forge::cuda_rt
