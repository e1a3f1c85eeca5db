#include "graph/passes/fingerprint.h"

#include <cstring>
#include <string_view>

namespace forge::graph::passes {

namespace {

// FNV-1a, 64-bit (Fowler, Noll, Vo): offset basis and prime from its spec.
class Hasher {
 public:
  void bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; ++i) h_ = (h_ ^ b[i]) * 0x100000001b3ull;
  }
  void str(std::string_view s) {
    num(static_cast<int64_t>(s.size()));
    bytes(s.data(), s.size());
  }
  void num(int64_t v) { bytes(&v, sizeof v); }
  void real(float f) { bytes(&f, sizeof f); }
  void weight(const WeightRef* w) {
    if (!w) return num(-1);
    str(w->name);
    num(static_cast<int64_t>(w->type));
    num(w->rows);
    num(w->cols);
  }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 0xcbf29ce484222325ull;
};

}  // namespace

uint64_t graph_fingerprint(const Graph& g) {
  Hasher h;
  const model::ModelSpec& s = *g.spec;
  h.str(s.arch);
  for (int v : {s.n_layers, s.n_embd, s.n_head, s.n_head_kv, s.head_dim, s.head_dim_v, s.n_ff, s.n_vocab, s.rope_dims,
                static_cast<int>(s.rope_style)}) {
    h.num(v);
  }
  for (float f : {s.attn_scale, s.attn_softcap, s.rope_scale}) h.real(f);
  for (float f : s.rope_freq_factors) h.real(f);
  for (const auto& l : s.layers) {
    h.real(l.rope_base);
    h.num(l.sliding_window);
  }
  for (const Buffer& b : g.buffers) {
    h.str(b.name);
    h.num(b.width);
  }
  for (const Op& op : g.ops) {
    h.str(op.name);
    h.num(op.tail);
    h.num(static_cast<int64_t>(op.params.index()));
    std::visit(
        [&](const auto& p) {
          using P = std::decay_t<decltype(p)>;
          if constexpr (std::is_same_v<P, EmbedOp>) {
            h.weight(p.table);
            h.real(p.scale);
            h.num(p.out);
          } else if constexpr (std::is_same_v<P, NormOp>) {
            for (int v : {p.in, p.out, p.group, p.residual, static_cast<int>(p.kind)}) h.num(v);
            h.weight(p.weight);
            h.weight(p.bias);
            h.real(p.eps);
            h.real(p.offset);
          } else if constexpr (std::is_same_v<P, MatMulOp>) {
            h.num(p.in);
            for (size_t i = 0; i < p.weights.size(); ++i) {
              h.weight(p.weights[i]);
              h.weight(p.biases[i]);
              h.num(p.outs[i]);
            }
          } else if constexpr (std::is_same_v<P, RopeOp>) {
            for (int v : {p.q, p.k, p.layer}) h.num(v);
          } else if constexpr (std::is_same_v<P, AttentionOp>) {
            for (int v : {p.q, p.k, p.v, p.out, p.layer}) h.num(v);
          } else if constexpr (std::is_same_v<P, GluOp>) {
            for (int v : {p.gate, p.up, static_cast<int>(p.act)}) h.num(v);
          } else if constexpr (std::is_same_v<P, AddOp>) {
            for (int v : {p.dst, p.src}) h.num(v);
          } else if constexpr (std::is_same_v<P, SoftcapOp>) {
            h.num(p.buf);
            h.real(p.cap);
          }
        },
        op.params);
  }
  return h.value();
}

}  // namespace forge::graph::passes
