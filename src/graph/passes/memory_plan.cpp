#include "graph/passes/memory_plan.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace forge::graph::passes {

namespace {

constexpr size_t kAlign = 64;  // a cache line; also what AVX-512 loads like
size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

}  // namespace

OpAccess op_access(const Op& op) {
  OpAccess a;
  std::visit(
      [&](const auto& p) {
        using P = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<P, EmbedOp>) {
          a.writes = {p.out};
        } else if constexpr (std::is_same_v<P, NormOp>) {
          a.reads = {p.in};
          if (p.residual >= 0) {
            a.reads.push_back(p.residual);
            a.writes.push_back(p.in);
          }
          a.writes.push_back(p.out);
        } else if constexpr (std::is_same_v<P, MatMulOp>) {
          a.reads = {p.in};
          a.writes = p.outs;
        } else if constexpr (std::is_same_v<P, RopeOp>) {
          a.reads = {p.q, p.k};
          a.writes = {p.q, p.k};
        } else if constexpr (std::is_same_v<P, AttentionOp>) {
          a.reads = {p.q, p.k, p.v};
          a.writes = {p.out};
        } else if constexpr (std::is_same_v<P, GluOp>) {
          a.reads = {p.gate, p.up};
          a.writes = {p.gate};
        } else if constexpr (std::is_same_v<P, AddOp>) {
          a.reads = {p.dst, p.src};
          a.writes = {p.dst};
        } else if constexpr (std::is_same_v<P, SoftcapOp>) {
          a.reads = {p.buf};
          a.writes = {p.buf};
        }
      },
      op.params);
  return a;
}

size_t MemoryPlan::offset(int op, int buffer) const {
  for (const LiveRange& r : ranges) {
    if (r.buffer == buffer && r.first_op <= op && op <= r.last_op) return r.offset;
  }
  throw std::logic_error("memory plan: buffer " + std::to_string(buffer) + " is not live at op " + std::to_string(op));
}

MemoryPlan plan_memory(const Graph& g, int max_batch) {
  MemoryPlan plan;
  plan.max_batch = max_batch;
  std::vector<int> open(g.buffers.size(), -1);  // index into ranges of the current value
  for (int i = 0; i < static_cast<int>(g.ops.size()); ++i) {
    const OpAccess a = op_access(g.ops[i]);
    for (int b : a.reads) {
      if (open[b] < 0) throw std::logic_error("memory plan: op '" + g.ops[i].name + "' reads an unwritten buffer");
      plan.ranges[open[b]].last_op = i;
    }
    for (int b : a.writes) {
      const bool also_read = std::find(a.reads.begin(), a.reads.end(), b) != a.reads.end();
      if (also_read) continue;  // an update: the value lives on
      const size_t bytes = align_up(static_cast<size_t>(max_batch) * g.buffers[b].width * sizeof(float));
      open[b] = static_cast<int>(plan.ranges.size());
      plan.ranges.push_back({b, i, i, 0, bytes});
    }
  }
  // The outputs of the graph stay live to the end (they are read after it).
  const int end = static_cast<int>(g.ops.size());
  for (int b : {g.hidden, g.logits}) {
    if (b >= 0 && open[b] >= 0) plan.ranges[open[b]].last_op = end;
  }
  // First fit in order of definition: the lowest offset not overlapping any
  // placed range that is live at the same time.
  std::vector<const LiveRange*> placed;
  for (LiveRange& r : plan.ranges) {
    std::vector<std::pair<size_t, size_t>> busy;
    for (const LiveRange* p : placed) {
      if (p->first_op <= r.last_op && r.first_op <= p->last_op) busy.push_back({p->offset, p->offset + p->bytes});
    }
    std::sort(busy.begin(), busy.end());
    size_t at = 0;
    for (auto [lo, hi] : busy) {
      if (at + r.bytes <= lo) break;
      at = std::max(at, hi);
    }
    r.offset = at;
    plan.arena_bytes = std::max(plan.arena_bytes, at + r.bytes);
    placed.push_back(&r);
  }
  for (const Buffer& b : g.buffers) plan.unshared_bytes += align_up(static_cast<size_t>(max_batch) * b.width * sizeof(float));
  return plan;
}

}  // namespace forge::graph::passes
