// Dot-product throughput per weight format and ISA: weight bytes per second
// on one thread, for a weight matrix that stays in L2 (256 KiB, re-read) and
// one streamed from DRAM (256 MiB, bigger than any last-level cache here).
// Decode shape: one activation row (batch 1). Not a test: no assertions.
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/kernels.h"
#include "quant/quant.h"

namespace {

using forge::GgmlType;
using forge::kernels::cpu::Isa;
namespace cpu = forge::kernels::cpu;
namespace quant = forge::quant;

constexpr int64_t kRowLen = 4096;
constexpr size_t kL2Bytes = 256 << 10;
constexpr size_t kDramBytes = size_t{256} << 20;

// A weight matrix of about `bytes`, made of real quantized Gaussian rows (a
// 1 MiB pattern repeated, so building it stays quick).
std::vector<uint8_t> make_weights(GgmlType t, size_t bytes, int64_t* rows) {
  const size_t row_bytes = quant::row_size(t, kRowLen);
  const int64_t pattern_rows = std::max<int64_t>(1, static_cast<int64_t>((1 << 20) / row_bytes));
  std::mt19937 rng(42);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  std::vector<float> x(kRowLen);
  std::vector<uint8_t> pattern(row_bytes * pattern_rows);
  for (int64_t r = 0; r < pattern_rows; ++r) {
    for (auto& v : x) v = dist(rng);
    quant::quantize_row(t, x.data(), pattern.data() + r * row_bytes, kRowLen);
  }
  *rows = std::max<int64_t>(1, static_cast<int64_t>(bytes / row_bytes));
  std::vector<uint8_t> w(row_bytes * *rows);
  for (size_t off = 0; off < w.size(); off += pattern.size()) {
    std::memcpy(w.data() + off, pattern.data(), std::min(pattern.size(), w.size() - off));
  }
  return w;
}

void bm_matvec(benchmark::State& state, GgmlType t, Isa isa, size_t bytes) {
  if (!cpu::isa_available(isa)) {
    state.SkipWithError("ISA not available on this CPU");
    return;
  }
  int64_t rows = 0;
  const std::vector<uint8_t> w = make_weights(t, bytes, &rows);
  std::vector<float> x(kRowLen), y(static_cast<size_t>(rows));
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (auto& v : x) v = dist(rng);
  std::vector<uint8_t> act(cpu::act_row_size(t, kRowLen));
  cpu::quantize_act(isa, t, x.data(), act.data(), kRowLen);
  const size_t row_bytes = quant::row_size(t, kRowLen);
  for (auto _ : state) {
    cpu::matvec(isa, t, kRowLen, w.data(), row_bytes, 0, rows, act.data(), act.size(), 1, y.data(), rows);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(w.size()));
}

void bm_quantize_act(benchmark::State& state, GgmlType t, Isa isa) {
  if (!cpu::isa_available(isa)) {
    state.SkipWithError("ISA not available on this CPU");
    return;
  }
  std::vector<float> x(kRowLen);
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (auto& v : x) v = dist(rng);
  std::vector<uint8_t> act(cpu::act_row_size(t, kRowLen));
  for (auto _ : state) {
    cpu::quantize_act(isa, t, x.data(), act.data(), kRowLen);
    benchmark::DoNotOptimize(act.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kRowLen * 4);
}

const GgmlType kTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1,
                           GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q8_1, GgmlType::Q2_K,
                           GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q8_K};

int register_all() {
  for (GgmlType t : kTypes) {
    const std::string name(forge::ggml_type_info(t).name);
    for (Isa isa : {Isa::kScalar, Isa::kAvx2}) {
      const std::string isa_s(cpu::isa_name(isa));
      benchmark::RegisterBenchmark(("dot/" + name + "/" + isa_s + "/L2").c_str(), bm_matvec, t, isa, kL2Bytes)
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("dot/" + name + "/" + isa_s + "/DRAM").c_str(), bm_matvec, t, isa, kDramBytes)
          ->Unit(benchmark::kMillisecond)
          ->MinTime(0.3);
    }
  }
  for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q4_K}) {
    const std::string act_name(forge::ggml_type_info(quant::vec_dot_type(t)).name);
    for (Isa isa : {Isa::kScalar, Isa::kAvx2}) {
      benchmark::RegisterBenchmark(("quantize_act/" + act_name + "/" + std::string(cpu::isa_name(isa))).c_str(),
                                   bm_quantize_act, t, isa);
    }
  }
  return 0;
}

const int kRegistered = register_all();

}  // namespace

BENCHMARK_MAIN();
