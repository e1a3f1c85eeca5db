// The op graph of one model: a straight list of coarse ops (norm, fused
// matmul, rope, attention, GLU, residual add) over named activation buffers,
// built from a ModelSpec. The interpreter walks it; code generators print it.
// Every op carries a name ("blk.3.attn_qkv") so a bad number can be traced.
#pragma once

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "model/model_spec.h"

namespace forge::graph {

using model::WeightRef;

// An activation buffer: one row of `width` floats per token of the batch.
struct Buffer {
  std::string name;
  int width = 0;
};

// x[t] = table[token t] * scale
struct EmbedOp {
  const WeightRef* table;
  float scale;
  int out;
};
// out = norm(in) * (weight + offset) (+ bias), over groups of `group` values
// (the whole row, or one head for per-head q/k norms). With `residual` set
// (passes/fuse_residual_norm), in += residual first: the residual add and the
// norm that reads its result become one pass over the row.
struct NormOp {
  int in, out;
  const WeightRef* weight;
  const WeightRef* bias;  // may be null
  model::NormKind kind;
  float eps;
  float offset;
  int group;
  int residual = -1;  // buffer added into `in` first; -1: none
};
// outs[i] = in . weights[i]^T (+ biases[i]); several weights read the same
// input in one pass (fused Q/K/V, gate/up).
struct MatMulOp {
  int in;
  std::vector<const WeightRef*> weights;
  std::vector<const WeightRef*> biases;  // entries may be null
  std::vector<int> outs;
};
// Rotates q and k in place at each token's position.
struct RopeOp {
  int q, k;
  int layer;
};
// out = softmax(q.k * scale [softcapped], causal, windowed) . v, writing this
// batch's k and v into the layer's KV cache first.
struct AttentionOp {
  int q, k, v, out;
  int layer;
};
// gate = act(gate) * up
struct GluOp {
  int gate, up;
  model::Activation act;
};
// dst += src
struct AddOp {
  int dst, src;
};
// buf = cap * tanh(buf / cap)
struct SoftcapOp {
  int buf;
  float cap;
};

using OpParams = std::variant<EmbedOp, NormOp, MatMulOp, RopeOp, AttentionOp, GluOp, AddOp, SoftcapOp>;

struct Op {
  std::string name;
  // Tail ops turn the last hidden state into logits; they run only on the
  // rows whose logits are wanted.
  bool tail = false;
  OpParams params;
};

// A tensor a pass made (a norm weight with its offset folded in); the graph
// owns its bytes, so WeightRef::data stays valid while the graph lives.
struct OwnedWeight {
  WeightRef ref;
  std::vector<uint8_t> bytes;
};

struct Graph {
  const model::ModelSpec* spec = nullptr;
  std::vector<std::shared_ptr<const OwnedWeight>> owned;  // tensors made by passes
  std::vector<Buffer> buffers;
  std::vector<Op> ops;
  int hidden = -1;  // the residual stream the tail ops read
  int logits = -1;  // buffer holding the logits
};

// The forward pass of `spec` (which must outlive the graph), one op per
// projection, as the model states it.
Graph build_unfused_graph(const model::ModelSpec& spec);
// The same graph optimized (passes::optimize: fused projections, residual
// adds fused into norms, constants folded): what every executor runs.
Graph build_graph(const model::ModelSpec& spec);

}  // namespace forge::graph
