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
  int n_seq = 1;         // independent sequences (KV caches) decoded together by decode_batch
};

class Interpreter : public model::Forward {
 public:
  Interpreter(const graph::Graph& graph, InterpreterOptions opts);
  ~Interpreter() override;

  const model::ModelInfo& info() const override { return info_; }
  int max_sequences() const override { return opts_.n_seq; }
  std::span<const float> prefill(std::span<const int32_t> tokens, int pos, model::Logits logits = model::Logits::kLast,
                                 int seq = 0) override;
  std::span<const float> decode_batch(std::span<const model::BatchToken> batch) override;
  void truncate(int pos, int seq = 0) override;
  int cached(int seq = 0) const override { return filled_.at(seq); }
  // Rows of KV cache per sequence and layer: n_ctx, or a ring of
  // window + max_batch - 1 rows where every layer slides.
  int kv_rows() const { return kv_rows_; }

  kernels::cpu::Isa isa() const { return isa_; }
  int threads() const { return pool_.size(); }

 private:
  // One step over at most max_batch tokens; token i is at position pos[i] of
  // sequence seq[i].
  void run_batch(std::span<const int32_t> tokens, std::span<const int> pos, std::span<const int> seq,
                 model::Logits logits);
  void check_seq(int seq) const;
  float* buf(int id) { return buffers_[id].data(); }
  int width(int id) const { return graph_.buffers[id].width; }

  void run(const graph::EmbedOp& op, std::span<const int32_t> tokens);
  void run(const graph::NormOp& op, int r0, int r1);
  void run(const graph::MatMulOp& op, int r0, int r1);
  void run(const graph::RopeOp& op, std::span<const int> pos);
  void run(const graph::AttentionOp& op, std::span<const int> pos, std::span<const int> seq);
  void run(const graph::GluOp& op, int n);
  void run(const graph::AddOp& op, int n);
  void run(const graph::SoftcapOp& op, int r0, int r1);

  const graph::Graph& graph_;
  const model::ModelSpec& spec_;
  InterpreterOptions opts_;
  model::ModelInfo info_;
  kernels::cpu::Isa isa_;
  ThreadPool pool_;
  std::vector<int> filled_;       // per sequence: cache positions holding valid entries
  std::vector<int> max_written_;  // per sequence: highest position + 1 ever written (ring bookkeeping)
  int kv_rows_ = 0;
  int ring_window_ = 0;  // > 0: the cache is a ring (position p at row p % kv_rows_)

  std::vector<std::vector<float>> buffers_;  // [max_batch * width] each
  std::vector<uint8_t> acts_;                // quantized matmul inputs
  // KV cache per sequence and layer, [seq * n_layers + layer]:
  // [n_ctx][n_head_kv * head_dim], F16 bits or F32.
  std::vector<std::vector<uint16_t>> k16_, v16_;
  std::vector<std::vector<float>> k32_, v32_;
  std::vector<int> pos_scratch_, seq_scratch_;
  std::vector<std::vector<float>> inv_freq_;  // per layer, rope_dims / 2
  std::vector<float> all_logits_;
};

}  // namespace forge::interp
