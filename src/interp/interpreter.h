// The interpreter: walks a model's op graph with the CPU kernels. It is the
// reference every compiled target is checked against, so it reads top to
// bottom like the math: each op is one short function.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "graph/graph.h"
#include "interp/thread_pool.h"
#include "kernels/cpu/kernels.h"
#include "model/forward.h"

namespace forge::interp {

struct InterpreterOptions {
  int n_ctx = 0;         // positions of KV cache; 0: the model's training context, at most 4096
  int threads = 0;       // 0: physical cores
  bool kv_f32 = false;   // KV cache in F32 instead of F16
  int max_batch = 512;   // tokens per prefill step (longer prompts run in steps)
};

class Interpreter : public model::Forward {
 public:
  Interpreter(const graph::Graph& graph, InterpreterOptions opts);
  ~Interpreter() override;

  const model::ModelInfo& info() const override { return info_; }
  std::span<const float> prefill(std::span<const int32_t> tokens, int pos,
                                 model::Logits logits = model::Logits::kLast) override;
  void truncate(int pos) override;

  kernels::cpu::Isa isa() const { return isa_; }
  int threads() const { return pool_.size(); }

 private:
  // One batch of at most max_batch tokens.
  void run_batch(std::span<const int32_t> tokens, int pos, model::Logits logits);
  float* buf(int id) { return buffers_[id].data(); }
  int width(int id) const { return graph_.buffers[id].width; }

  void run(const graph::EmbedOp& op, std::span<const int32_t> tokens);
  void run(const graph::NormOp& op, int r0, int r1);
  void run(const graph::MatMulOp& op, int r0, int r1);
  void run(const graph::RopeOp& op, int n, int pos);
  void run(const graph::AttentionOp& op, int n, int pos);
  void run(const graph::GluOp& op, int n);
  void run(const graph::AddOp& op, int n);
  void run(const graph::SoftcapOp& op, int r0, int r1);

  const graph::Graph& graph_;
  const model::ModelSpec& spec_;
  InterpreterOptions opts_;
  model::ModelInfo info_;
  kernels::cpu::Isa isa_;
  ThreadPool pool_;
  int filled_ = 0;  // cache positions holding valid entries

  std::vector<std::vector<float>> buffers_;  // [max_batch * width] each
  std::vector<uint8_t> acts_;                // quantized matmul inputs
  // KV cache per layer: [n_ctx][n_head_kv * head_dim], F16 bits or F32.
  std::vector<std::vector<uint16_t>> k16_, v16_;
  std::vector<std::vector<float>> k32_, v32_;
  std::vector<std::vector<float>> inv_freq_;  // per layer, rope_dims / 2
  std::vector<float> all_logits_;
};

}  // namespace forge::interp
