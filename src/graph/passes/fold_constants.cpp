#include <cstring>
#include <map>

#include "graph/passes/passes.h"

namespace forge::graph::passes {

namespace {

// A graph-owned F32 copy of `w` with f applied to every value.
template <class F>
const WeightRef* folded_copy(Graph& g, const WeightRef& w, const std::string& suffix, F f) {
  auto owned = std::make_shared<OwnedWeight>();
  owned->ref = w;
  owned->ref.name = w.name + suffix;
  const size_t count = static_cast<size_t>(w.rows) * w.cols;
  owned->bytes.resize(count * sizeof(float));
  std::vector<float> v(count);
  std::memcpy(v.data(), w.data, count * sizeof(float));
  for (float& x : v) x = f(x);
  std::memcpy(owned->bytes.data(), v.data(), owned->bytes.size());
  owned->ref.data = owned->bytes.data();
  g.owned.push_back(owned);
  return &owned->ref;
}

}  // namespace

Graph fold_norm_offsets(Graph g) {
  std::map<std::pair<const WeightRef*, float>, const WeightRef*> done;  // one copy per (weight, offset)
  for (Op& op : g.ops) {
    auto* n = std::get_if<NormOp>(&op.params);
    if (!n || n->offset == 0.0f || n->weight->type != GgmlType::F32) continue;
    const float off = n->offset;
    auto key = std::make_pair(n->weight, off);
    if (!done.count(key)) done[key] = folded_copy(g, *n->weight, "+offset", [off](float w) { return w + off; });
    n->weight = done[key];
    n->offset = 0.0f;
  }
  return g;
}

Graph fold_embed_scale(Graph g) {
  for (Op& op : g.ops) {
    auto* e = std::get_if<EmbedOp>(&op.params);
    if (!e || e->scale == 1.0f || e->table->type != GgmlType::F32) continue;
    const float s = e->scale;
    e->table = folded_copy(g, *e->table, "*scale", [s](float x) { return x * s; });
    e->scale = 1.0f;
  }
  return g;
}

Graph optimize(Graph g) {
  return fold_embed_scale(fold_norm_offsets(fuse_residual_norms(fuse_matmuls(std::move(g)))));
}

}  // namespace forge::graph::passes
