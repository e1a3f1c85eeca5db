#include "graph/graph.h"

#include "graph/passes/passes.h"

namespace forge::graph {

namespace {

class Builder {
 public:
  explicit Builder(const model::ModelSpec& s) : s_(s) { g_.spec = &s; }

  int buffer(const std::string& name, int width) {
    g_.buffers.push_back({name, width});
    return static_cast<int>(g_.buffers.size()) - 1;
  }
  void op(std::string name, OpParams p, bool tail = false) { g_.ops.push_back({std::move(name), tail, std::move(p)}); }
  NormOp norm(int in, int out, const WeightRef& w, const WeightRef* bias, int group = 0) const {
    return NormOp{in,         out, &w, bias && bias->present() ? bias : nullptr, s_.norm, s_.norm_eps,
                  s_.norm_weight_offset, group ? group : g_.buffers[in].width, -1};
  }
  static const WeightRef* opt(const WeightRef& w) { return w.present() ? &w : nullptr; }

  Graph build() {
    const int q_w = s_.n_head * s_.head_dim;
    const int k_w = s_.n_head_kv * s_.head_dim;
    const int v_w = s_.n_head_kv * s_.head_dim_v;
    const int att_w = s_.n_head * s_.head_dim_v;
    const int x = buffer("x", s_.n_embd);
    const int xn = buffer("xn", s_.n_embd);
    const int q = buffer("q", q_w);
    const int k = buffer("k", k_w);
    const int v = buffer("v", v_w);
    const int att = buffer("att", att_w);
    const int o = buffer("o", s_.n_embd);
    const int gate = buffer("gate", s_.n_ff);
    const int up = buffer("up", s_.n_ff);
    const int f = buffer("ffn_out", s_.n_embd);
    g_.logits = buffer("logits", s_.n_vocab);
    g_.hidden = x;

    op("token_embd", EmbedOp{&s_.tok_embd, s_.embed_scale, x});
    for (int il = 0; il < s_.n_layers; ++il) {
      const model::LayerSpec& l = s_.layers[il];
      const std::string p = "blk." + std::to_string(il) + ".";
      op(p + "attn_norm", norm(x, xn, l.attn_norm, &l.attn_norm_bias));
      // One op per projection; passes::fuse_matmuls joins those that read the same input.
      op(p + "attn_q", MatMulOp{xn, {&l.wq}, {opt(l.bq)}, {q}});
      op(p + "attn_k", MatMulOp{xn, {&l.wk}, {opt(l.bk)}, {k}});
      op(p + "attn_v", MatMulOp{xn, {&l.wv}, {opt(l.bv)}, {v}});
      if (l.q_norm.present()) op(p + "attn_q_norm", norm(q, q, l.q_norm, nullptr, s_.head_dim));
      if (l.k_norm.present()) op(p + "attn_k_norm", norm(k, k, l.k_norm, nullptr, s_.head_dim));
      op(p + "rope", RopeOp{q, k, il});
      op(p + "attention", AttentionOp{q, k, v, att, il});
      op(p + "attn_output", MatMulOp{att, {&l.wo}, {nullptr}, {o}});
      if (l.post_attn_norm.present()) op(p + "post_attention_norm", norm(o, o, l.post_attn_norm, nullptr));
      if (!s_.parallel_residual) {
        op(p + "attn_residual", AddOp{x, o});
        op(p + "ffn_norm", norm(x, xn, l.ffn_norm, &l.ffn_norm_bias));
      }
      op(p + "ffn_gate", MatMulOp{xn, {&l.w_gate}, {nullptr}, {gate}});
      op(p + "ffn_up", MatMulOp{xn, {&l.w_up}, {nullptr}, {up}});
      op(p + "ffn_act", GluOp{gate, up, s_.activation});
      op(p + "ffn_down", MatMulOp{gate, {&l.w_down}, {nullptr}, {f}});
      if (l.post_ffn_norm.present()) op(p + "post_ffw_norm", norm(f, f, l.post_ffn_norm, nullptr));
      if (s_.parallel_residual) op(p + "attn_residual", AddOp{x, o});
      op(p + "ffn_residual", AddOp{x, f});
    }
    op("output_norm", norm(x, xn, s_.output_norm, &s_.output_norm_bias), true);
    op("output", MatMulOp{xn, {&s_.output}, {nullptr}, {g_.logits}}, true);
    if (s_.final_softcap > 0) op("final_softcap", SoftcapOp{g_.logits, s_.final_softcap}, true);
    return std::move(g_);
  }

 private:
  const model::ModelSpec& s_;
  Graph g_;
};

}  // namespace

Graph build_unfused_graph(const model::ModelSpec& spec) { return Builder(spec).build(); }

Graph build_graph(const model::ModelSpec& spec) { return passes::optimize(build_unfused_graph(spec)); }

}  // namespace forge::graph
