#include "graph/passes/passes.h"

namespace forge::graph::passes {

Graph fuse_residual_norms(Graph g) {
  std::vector<Op> out;
  out.reserve(g.ops.size());
  for (size_t i = 0; i < g.ops.size(); ++i) {
    Op& op = g.ops[i];
    const auto* add = std::get_if<AddOp>(&op.params);
    if (add && i + 1 < g.ops.size() && !op.tail && !g.ops[i + 1].tail) {
      auto* norm = std::get_if<NormOp>(&g.ops[i + 1].params);
      // The norm must read the sum, write elsewhere (x stays the residual
      // stream), and not already carry a residual.
      if (norm && norm->in == add->dst && norm->out != add->dst && norm->residual < 0 && add->src != norm->out) {
        norm->residual = add->src;
        g.ops[i + 1].name = op.name + "+" + g.ops[i + 1].name;
        continue;  // the add is now part of the norm
      }
    }
    out.push_back(std::move(op));
  }
  g.ops = std::move(out);
  return g;
}

}  // namespace forge::graph::passes
