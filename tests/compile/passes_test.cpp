// Graph passes: each one on its own (what it changes, what it leaves), and
// the interpreter's logits over the unfused graph against the optimized one.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "format/gguf_file.h"
#include "graph/graph.h"
#include "graph/passes/fingerprint.h"
#include "graph/passes/memory_plan.h"
#include "graph/passes/passes.h"
#include "interp/interpreter.h"
#include "model/gguf_model.h"

namespace forge {
namespace {

using namespace graph;
const std::string kFixtures = std::string(FORGE_DATA_DIR) + "/fixtures/";

template <class T>
int count_ops(const Graph& g) {
  return static_cast<int>(std::count_if(g.ops.begin(), g.ops.end(), [](const Op& o) { return std::holds_alternative<T>(o.params); }));
}

const Op* find_op(const Graph& g, const std::string& name) {
  for (const Op& o : g.ops) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

struct Model {
  GgufFile file;
  model::ModelSpec spec;
  explicit Model(const std::string& path) : file(GgufFile::open(path)), spec(model::spec_from_gguf(file)) {}
};

TEST(Passes, FuseMatmulsJoinsQkvAndGateUp) {
  Model m(kFixtures + "llama/model-f32.gguf");
  Graph raw = build_unfused_graph(m.spec);
  ASSERT_NE(find_op(raw, "blk.0.attn_q"), nullptr);
  Graph g = passes::fuse_matmuls(build_unfused_graph(m.spec));
  const Op* qkv = find_op(g, "blk.0.attn_q+k+v");
  ASSERT_NE(qkv, nullptr);
  EXPECT_EQ(std::get<MatMulOp>(qkv->params).weights.size(), 3u);
  const Op* gu = find_op(g, "blk.0.ffn_gate+up");
  ASSERT_NE(gu, nullptr);
  EXPECT_EQ(std::get<MatMulOp>(gu->params).outs.size(), 2u);
  // Per layer: q, k, v, o, gate, up, down (7) become qkv, o, gate+up, down (4).
  EXPECT_EQ(count_ops<MatMulOp>(raw) - count_ops<MatMulOp>(g), 3 * m.spec.n_layers);
}

// Two weights whose dot products take different activation formats stay apart.
TEST(Passes, FuseMatmulsKeepsMixedActivationFormatsApart) {
  std::vector<float> data(64, 0.5f);
  model::WeightRef f32{"a", GgmlType::F32, 32, 2, 128, reinterpret_cast<const uint8_t*>(data.data())};
  model::WeightRef q8{"b", GgmlType::Q8_0, 32, 2, 34, reinterpret_cast<const uint8_t*>(data.data())};
  model::WeightRef q8b{"c", GgmlType::Q8_0, 32, 2, 34, reinterpret_cast<const uint8_t*>(data.data())};
  Graph g;
  g.buffers = {{"x", 32}, {"a", 2}, {"b", 2}, {"c", 2}};
  g.ops.push_back({"a", false, MatMulOp{0, {&f32}, {nullptr}, {1}}});
  g.ops.push_back({"b", false, MatMulOp{0, {&q8}, {nullptr}, {2}}});
  g.ops.push_back({"c", false, MatMulOp{0, {&q8b}, {nullptr}, {3}}});
  Graph f = passes::fuse_matmuls(g);
  ASSERT_EQ(f.ops.size(), 2u);
  EXPECT_EQ(f.ops[0].name, "a");
  EXPECT_EQ(f.ops[1].name, "b+c");
}

TEST(Passes, ResidualAddsFuseIntoTheFollowingNormOnly) {
  Model m(kFixtures + "llama/model-f32.gguf");
  Graph raw = build_unfused_graph(m.spec);
  Graph g = passes::fuse_residual_norms(build_unfused_graph(m.spec));
  // Each layer's attention residual joins ffn_norm; each ffn residual but the
  // last joins the next layer's attn_norm (the last one precedes a tail norm).
  EXPECT_EQ(count_ops<AddOp>(raw) - count_ops<AddOp>(g), 2 * m.spec.n_layers - 1);
  const Op* n = find_op(g, "blk.0.attn_residual+blk.0.ffn_norm");
  ASSERT_NE(n, nullptr);
  EXPECT_GE(std::get<NormOp>(n->params).residual, 0);
  const Op* out = find_op(g, "output_norm");
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(std::get<NormOp>(out->params).residual, -1);
}

TEST(Passes, FoldsNormOffsetAndF32EmbedScaleExactly) {
  std::vector<float> w = {0.25f, -1.5f, 3.0f, 0.1f}, table(8, 0.3f);
  model::WeightRef norm_w{"norm", GgmlType::F32, 4, 1, 16, reinterpret_cast<const uint8_t*>(w.data())};
  model::WeightRef embd{"embd", GgmlType::F32, 4, 2, 16, reinterpret_cast<const uint8_t*>(table.data())};
  Graph g;
  g.buffers = {{"x", 4}, {"y", 4}};
  g.ops.push_back({"embed", false, EmbedOp{&embd, 8.0f, 0}});
  g.ops.push_back({"norm", false, NormOp{0, 1, &norm_w, nullptr, model::NormKind::kRms, 1e-6f, 1.0f, 4, -1}});
  Graph f = passes::fold_embed_scale(passes::fold_norm_offsets(g));
  const auto& n = std::get<NormOp>(f.ops[1].params);
  EXPECT_EQ(n.offset, 0.0f);
  const float* folded = reinterpret_cast<const float*>(n.weight->data);
  for (int j = 0; j < 4; ++j) EXPECT_EQ(folded[j], w[j] + 1.0f);
  EXPECT_EQ(w[0], 0.25f);  // the model's weight is untouched
  const auto& e = std::get<EmbedOp>(f.ops[0].params);
  EXPECT_EQ(e.scale, 1.0f);
  EXPECT_EQ(reinterpret_cast<const float*>(e.table->data)[5], 0.3f * 8.0f);
  // A quantized table keeps its run-time scale.
  model::WeightRef q8{"q", GgmlType::Q8_0, 32, 2, 34, reinterpret_cast<const uint8_t*>(table.data())};
  std::get<EmbedOp>(g.ops[0].params).table = &q8;
  EXPECT_EQ(std::get<EmbedOp>(passes::fold_embed_scale(g).ops[0].params).scale, 8.0f);
}

// The interpreter over the optimized graph computes what it computes over
// the graph as built: fusion changes how ops are grouped, not the arithmetic.
TEST(Passes, OptimizedGraphKeepsTheInterpretersLogits) {
  for (const std::string file : {"llama/model-f32.gguf", "llama-k/model-Q4_K_M.gguf"}) {
    SCOPED_TRACE(file);
    Model m(kFixtures + file);
    Graph raw = build_unfused_graph(m.spec);
    Graph opt = passes::optimize(build_unfused_graph(m.spec));
    EXPECT_LT(opt.ops.size(), raw.ops.size());
    interp::InterpreterOptions o;
    o.n_ctx = 32;
    o.threads = 2;
    interp::Interpreter a(raw, o), b(opt, o);
    std::vector<int32_t> tokens = {1, 417, 465, 420, 198, 178, 371, 271};
    auto la = a.prefill(tokens, 0, model::Logits::kAll);
    std::vector<float> ra(la.begin(), la.end());
    auto lb = b.prefill(tokens, 0, model::Logits::kAll);
    ASSERT_EQ(ra.size(), lb.size());
    double worst = 0;
    for (size_t i = 0; i < ra.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(ra[i]) - lb[i]));
    EXPECT_LE(worst, 1e-6);
  }
}

TEST(MemoryPlan, LiveRangesNeverOverlapAndReuseMemory) {
  Model m(kFixtures + "llama/model-f32.gguf");
  Graph g = build_graph(m.spec);
  auto plan = passes::plan_memory(g, 16);
  EXPECT_LT(plan.arena_bytes, plan.unshared_bytes);
  for (size_t i = 0; i < plan.ranges.size(); ++i) {
    const auto& a = plan.ranges[i];
    EXPECT_EQ(a.offset % 64, 0u);
    EXPECT_LE(a.offset + a.bytes, plan.arena_bytes);
    for (size_t j = i + 1; j < plan.ranges.size(); ++j) {
      const auto& b = plan.ranges[j];
      const bool together = a.first_op <= b.last_op && b.first_op <= a.last_op;
      const bool shared = a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes;
      EXPECT_FALSE(together && shared) << g.buffers[a.buffer].name << " and " << g.buffers[b.buffer].name;
    }
  }
  // Every operand of every op has a place.
  for (int i = 0; i < static_cast<int>(g.ops.size()); ++i) {
    auto acc = passes::op_access(g.ops[i]);
    for (int b : acc.reads) EXPECT_NO_THROW(plan.offset(i, b));
    for (int b : acc.writes) EXPECT_NO_THROW(plan.offset(i, b));
  }
}

TEST(Fingerprint, DiffersAcrossModelsAndTypes) {
  Model a(kFixtures + "llama/model-f32.gguf"), b(kFixtures + "llama/model-f16.gguf"),
      c(kFixtures + "llama-k/model-f32.gguf");
  Graph ga = build_graph(a.spec), gb = build_graph(b.spec), gc = build_graph(c.spec);
  EXPECT_EQ(passes::graph_fingerprint(ga), passes::graph_fingerprint(build_graph(a.spec)));
  EXPECT_NE(passes::graph_fingerprint(ga), passes::graph_fingerprint(gb));
  EXPECT_NE(passes::graph_fingerprint(ga), passes::graph_fingerprint(gc));
}

}  // namespace
}  // namespace forge
