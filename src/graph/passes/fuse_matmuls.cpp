#include "quant/quant.h"
#include "graph/passes/passes.h"

namespace forge::graph::passes {

namespace {

GgmlType act_type(const MatMulOp& m) { return quant::vec_dot_type(m.weights.front()->type); }

bool writes(const MatMulOp& m, int buffer) {
  for (int o : m.outs) {
    if (o == buffer) return true;
  }
  return false;
}

// "blk.0.attn_q" + "blk.0.attn_k" -> "blk.0.attn_q+k": the common prefix once.
std::string joined_name(const std::string& a, const std::string& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  while (n > 0 && a[n - 1] != '_' && a[n - 1] != '.') --n;  // whole words only
  return a + "+" + b.substr(n);
}

}  // namespace

Graph fuse_matmuls(Graph g) {
  std::vector<Op> out;
  out.reserve(g.ops.size());
  for (Op& op : g.ops) {
    auto* m = std::get_if<MatMulOp>(&op.params);
    if (m && !out.empty() && out.back().tail == op.tail) {
      auto* prev = std::get_if<MatMulOp>(&out.back().params);
      // Same input, not written by the previous op, same activation format.
      if (prev && prev->in == m->in && !writes(*prev, m->in) && act_type(*prev) == act_type(*m)) {
        prev->weights.insert(prev->weights.end(), m->weights.begin(), m->weights.end());
        prev->biases.insert(prev->biases.end(), m->biases.begin(), m->biases.end());
        prev->outs.insert(prev->outs.end(), m->outs.begin(), m->outs.end());
        out.back().name = joined_name(out.back().name, op.name);
        continue;
      }
    }
    out.push_back(std::move(op));
  }
  g.ops = std::move(out);
  return g;
}

}  // namespace forge::graph::passes
