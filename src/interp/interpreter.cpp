#include "interp/interpreter.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/ops.h"
#include "quant/quant.h"

namespace forge::interp {

namespace kc = kernels::cpu;
using model::Logits;

Interpreter::Interpreter(const graph::Graph& graph, InterpreterOptions opts)
    : graph_(graph),
      spec_(*graph.spec),
      opts_(opts),
      isa_(kc::detect_isa()),
      pool_(opts.threads > 0 ? opts.threads : ThreadPool::default_threads()) {
  if (opts_.n_ctx <= 0) opts_.n_ctx = std::min(spec_.n_ctx_train, 4096);
  if (opts_.max_batch <= 0) opts_.max_batch = 512;
  info_.arch = spec_.arch;
  info_.name = spec_.name;
  info_.n_vocab = spec_.n_vocab;
  info_.n_ctx = opts_.n_ctx;
  info_.n_layers = spec_.n_layers;
  info_.weight_bytes_per_token = spec_.weight_bytes_per_token();

  for (const auto& b : graph_.buffers) {
    const size_t rows = (&b - graph_.buffers.data()) == graph_.logits ? 1 : opts_.max_batch;
    buffers_.emplace_back(rows * b.width);
  }
  const size_t k_w = static_cast<size_t>(spec_.n_head_kv) * spec_.head_dim;
  const size_t v_w = static_cast<size_t>(spec_.n_head_kv) * spec_.head_dim_v;
  if (opts_.n_seq <= 0) opts_.n_seq = 1;
  filled_.assign(opts_.n_seq, 0);
  max_written_.assign(opts_.n_seq, 0);
  // Where every layer slides, no key older than the widest window is ever
  // read again: the cache is a ring of window + batch - 1 rows (a batch
  // writes all its keys before attending), however long the context.
  int widest = 0;
  bool all_sliding = true;
  for (const auto& l : spec_.layers) {
    all_sliding &= l.sliding_window > 0;
    widest = std::max(widest, l.sliding_window);
  }
  kv_rows_ = opts_.n_ctx;
  if (all_sliding && widest + opts_.max_batch - 1 < opts_.n_ctx) {
    ring_window_ = widest;
    kv_rows_ = widest + opts_.max_batch - 1;
  }
  for (int i = 0; i < opts_.n_seq * spec_.n_layers; ++i) {
    if (opts_.kv_f32) {
      k32_.emplace_back(static_cast<size_t>(kv_rows_) * k_w);
      v32_.emplace_back(static_cast<size_t>(kv_rows_) * v_w);
    } else {
      k16_.emplace_back(static_cast<size_t>(kv_rows_) * k_w);
      v16_.emplace_back(static_cast<size_t>(kv_rows_) * v_w);
    }
  }
  for (int l = 0; l < spec_.n_layers; ++l) {
    inv_freq_.push_back(kc::ops::rope_inv_freq(
        spec_.rope_dims, spec_.layers[l].rope_base,
        spec_.rope_freq_factors.empty() ? nullptr : spec_.rope_freq_factors.data()));
  }
}

Interpreter::~Interpreter() = default;

void Interpreter::check_seq(int seq) const {
  if (seq < 0 || seq >= opts_.n_seq) {
    throw std::out_of_range("sequence " + std::to_string(seq) + " does not exist (this instance holds " +
                            std::to_string(opts_.n_seq) + ")");
  }
}

void Interpreter::truncate(int pos, int seq) {
  check_seq(seq);
  filled_[seq] = std::clamp(pos, 0, filled_[seq]);
  // A ring keeps the last kv_rows_ positions; the next token at `pos` needs
  // the window before it. If that was overwritten, start over.
  if (ring_window_ > 0 && pos - ring_window_ + 1 < max_written_[seq] - kv_rows_) filled_[seq] = 0;
}

std::span<const float> Interpreter::prefill(std::span<const int32_t> tokens, int pos, Logits logits, int seq) {
  check_seq(seq);
  if (tokens.empty()) throw std::invalid_argument("prefill: no tokens");
  if (pos < 0 || pos > filled_[seq]) {
    throw std::out_of_range("prefill at position " + std::to_string(pos) + " but the cache holds " +
                            std::to_string(filled_[seq]) + " positions");
  }
  if (pos + static_cast<int64_t>(tokens.size()) > opts_.n_ctx) {
    throw std::out_of_range("context full: " + std::to_string(pos + tokens.size()) +
                            " positions needed, the context holds " + std::to_string(opts_.n_ctx) + " (raise --ctx)");
  }
  for (int32_t t : tokens) {
    if (t < 0 || t >= spec_.n_vocab) {
      throw std::out_of_range("token id " + std::to_string(t) + " is outside the vocabulary (0.." +
                              std::to_string(spec_.n_vocab - 1) + ")");
    }
  }
  const int n_vocab = spec_.n_vocab;
  if (logits == Logits::kAll) all_logits_.resize(tokens.size() * n_vocab);
  for (size_t done = 0; done < tokens.size();) {
    const size_t n = std::min<size_t>(opts_.max_batch, tokens.size() - done);
    const bool last_batch = done + n == tokens.size();
    Logits want = logits == Logits::kAll ? Logits::kAll : (last_batch ? logits : Logits::kNone);
    pos_scratch_.resize(n);
    for (size_t i = 0; i < n; ++i) pos_scratch_[i] = pos + static_cast<int>(done + i);
    seq_scratch_.assign(n, seq);
    run_batch(tokens.subspan(done, n), pos_scratch_, seq_scratch_, want);
    if (want == Logits::kAll) {
      std::memcpy(all_logits_.data() + done * n_vocab, buf(graph_.logits), n * n_vocab * sizeof(float));
    }
    done += n;
  }
  filled_[seq] = pos + static_cast<int>(tokens.size());
  max_written_[seq] = std::max(max_written_[seq], filled_[seq]);
  if (logits == Logits::kAll) return all_logits_;
  if (logits == Logits::kLast) return {buf(graph_.logits), static_cast<size_t>(n_vocab)};
  return {};
}

std::span<const float> Interpreter::decode_batch(std::span<const model::BatchToken> batch) {
  if (batch.empty()) return {};
  if (static_cast<int>(batch.size()) > opts_.max_batch) throw std::invalid_argument("decode_batch: batch too large");
  std::vector<int32_t> tokens(batch.size());
  pos_scratch_.resize(batch.size());
  seq_scratch_.resize(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const model::BatchToken& b = batch[i];
    check_seq(b.seq);
    for (size_t j = 0; j < i; ++j) {
      if (batch[j].seq == b.seq) throw std::invalid_argument("decode_batch: sequence " + std::to_string(b.seq) + " twice");
    }
    if (b.pos != filled_[b.seq]) {
      throw std::out_of_range("decode at position " + std::to_string(b.pos) + " of sequence " + std::to_string(b.seq) +
                              " but its cache holds " + std::to_string(filled_[b.seq]) + " positions");
    }
    if (b.pos >= opts_.n_ctx) throw std::out_of_range("context full for sequence " + std::to_string(b.seq));
    if (b.token < 0 || b.token >= spec_.n_vocab) {
      throw std::out_of_range("token id " + std::to_string(b.token) + " is outside the vocabulary");
    }
    tokens[i] = b.token;
    pos_scratch_[i] = b.pos;
    seq_scratch_[i] = b.seq;
  }
  run_batch(tokens, pos_scratch_, seq_scratch_, Logits::kAll);
  for (const model::BatchToken& b : batch) {
    filled_[b.seq] = b.pos + 1;
    max_written_[b.seq] = std::max(max_written_[b.seq], filled_[b.seq]);
  }
  return {buf(graph_.logits), batch.size() * static_cast<size_t>(spec_.n_vocab)};
}

void Interpreter::run_batch(std::span<const int32_t> tokens, std::span<const int> pos, std::span<const int> seq,
                            Logits logits) {
  const int n = static_cast<int>(tokens.size());
  if (logits == Logits::kAll && buffers_[graph_.logits].size() < static_cast<size_t>(n) * spec_.n_vocab) {
    buffers_[graph_.logits].resize(static_cast<size_t>(n) * spec_.n_vocab);
  }
  // Tail ops (final norm, output head) run only on rows whose logits are
  // wanted; for the last row alone, that row of the hidden state moves to row 0.
  bool tail_started = false;
  for (const graph::Op& op : graph_.ops) {
    int r0 = 0, r1 = n;
    if (op.tail) {
      if (logits == Logits::kNone) break;
      if (logits == Logits::kLast) {
        if (!tail_started && n > 1) {
          const int w = width(graph_.hidden);
          std::memcpy(buf(graph_.hidden), buf(graph_.hidden) + static_cast<size_t>(n - 1) * w, w * sizeof(float));
        }
        r1 = 1;
      }
      tail_started = true;
    }
    std::visit(
        [&](const auto& p) {
          using P = std::decay_t<decltype(p)>;
          if constexpr (std::is_same_v<P, graph::EmbedOp>) run(p, tokens);
          else if constexpr (std::is_same_v<P, graph::NormOp> || std::is_same_v<P, graph::MatMulOp> ||
                             std::is_same_v<P, graph::SoftcapOp>) run(p, r0, r1);
          else if constexpr (std::is_same_v<P, graph::RopeOp>) run(p, pos);
          else if constexpr (std::is_same_v<P, graph::AttentionOp>) run(p, pos, seq);
          else run(p, n);
        },
        op.params);
  }
}

void Interpreter::run(const graph::EmbedOp& op, std::span<const int32_t> tokens) {
  const model::WeightRef& t = *op.table;
  kc::ops::embed(kc::RunLen{width(op.out)}, t.type, t.data, t.row_bytes, false, op.scale, tokens.data(),
                 static_cast<int>(tokens.size()), buf(op.out));
}

void Interpreter::run(const graph::NormOp& op, int r0, int r1) {
  const int w = width(op.in);
  // Per-head norms hold one weight row shared by every head, or one row per
  // head (stablelm's q/k LayerNorm).
  const bool row_per_group = w / op.group > 1 && op.weight->rows * op.weight->cols == w;
  kc::ops::norm(kc::RunLen{w}, kc::RunLen{op.group}, op.kind == model::NormKind::kLayer, row_per_group, buf(op.in),
                op.residual >= 0 ? buf(op.residual) : nullptr, buf(op.out),
                reinterpret_cast<const float*>(op.weight->data),
                op.bias ? reinterpret_cast<const float*>(op.bias->data) : nullptr, op.eps, op.offset, r0, r1);
}

void Interpreter::run(const graph::MatMulOp& op, int r0, int r1) {
  const int n_in = width(op.in);
  const int batch = r1 - r0;
  // Quantize the input rows once per activation format among the weights.
  struct Part {
    const model::WeightRef* w;
    size_t act_offset;
    size_t act_stride;
  };
  std::vector<Part> parts;
  size_t act_bytes = 0;
  for (const model::WeightRef* w : op.weights) {
    const GgmlType at = quant::vec_dot_type(w->type);
    bool found = false;
    for (const Part& p : parts) {
      if (quant::vec_dot_type(p.w->type) == at) {
        parts.push_back({w, p.act_offset, p.act_stride});
        found = true;
        break;
      }
    }
    if (!found) {
      const size_t stride = kc::act_row_size(w->type, n_in);
      parts.push_back({w, act_bytes, stride});
      act_bytes += stride * batch;
    }
  }
  if (acts_.size() < act_bytes) acts_.resize(act_bytes);
  std::vector<bool> quantized(parts.size(), false);
  for (size_t i = 0; i < parts.size(); ++i) {
    bool done = false;
    for (size_t j = 0; j < i; ++j) done |= parts[j].act_offset == parts[i].act_offset;
    if (done) continue;
    const Part p = parts[i];
    pool_.parallel_for(batch, [&](int64_t b) {
      kc::quantize_act(isa_, p.w->type, buf(op.in) + static_cast<size_t>(r0 + b) * n_in,
                       acts_.data() + p.act_offset + b * p.act_stride, n_in);
    });
  }
  // Split every weight's rows into chunks; all chunks of all weights form one
  // parallel loop.
  constexpr int64_t kRowsPerChunk = 16;
  std::vector<std::pair<int, int64_t>> chunks;  // (weight index, first row)
  for (size_t i = 0; i < parts.size(); ++i) {
    for (int64_t r = 0; r < parts[i].w->rows; r += kRowsPerChunk) chunks.push_back({static_cast<int>(i), r});
  }
  pool_.parallel_for(static_cast<int64_t>(chunks.size()), [&](int64_t c) {
    const auto [i, first] = chunks[c];
    const Part& p = parts[i];
    const int64_t rows = p.w->rows;
    const int64_t last = std::min(first + kRowsPerChunk, rows);
    float* y = buf(op.outs[i]) + static_cast<size_t>(r0) * rows;
    kc::matvec(isa_, p.w->type, n_in, p.w->data, p.w->row_bytes, first, last, acts_.data() + p.act_offset,
               p.act_stride, batch, y, rows);
  });
  for (size_t i = 0; i < op.biases.size(); ++i) {
    if (!op.biases[i]) continue;
    const float* bias = reinterpret_cast<const float*>(op.biases[i]->data);
    const int64_t rows = op.weights[i]->rows;
    for (int r = r0; r < r1; ++r) {
      float* y = buf(op.outs[i]) + static_cast<size_t>(r) * rows;
      for (int64_t j = 0; j < rows; ++j) y[j] += bias[j];
    }
  }
}

void Interpreter::run(const graph::RopeOp& op, std::span<const int> pos) {
  kc::ops::rope(kc::RunLen{spec_.head_dim}, kc::RunLen{spec_.rope_dims}, spec_.rope_style == model::RopeStyle::kAdjacent,
                buf(op.q), spec_.n_head, buf(op.k), spec_.n_head_kv, pos.data(), 0, static_cast<int>(pos.size()),
                inv_freq_[op.layer].data(), spec_.rope_scale);
}

void Interpreter::run(const graph::AttentionOp& op, std::span<const int> pos, std::span<const int> seq) {
  const int n = static_cast<int>(pos.size());
  const int hd = spec_.head_dim, hdv = spec_.head_dim_v;
  const int k_w = spec_.n_head_kv * hd, v_w = spec_.n_head_kv * hdv;
  const bool f32 = opts_.kv_f32;
  // Append this batch's keys and values to the cache.
  auto cache = [&](int t) { return static_cast<size_t>(seq[t]) * spec_.n_layers + op.layer; };
  for (int t = 0; t < n; ++t) {
    const size_t at = static_cast<size_t>(pos[t] % kv_rows_);
    const size_t c = cache(t);
    const float* k = buf(op.k) + static_cast<size_t>(t) * k_w;
    const float* v = buf(op.v) + static_cast<size_t>(t) * v_w;
    if (f32) {
      kc::ops::store_kv(k, v, k_w, v_w, false, &k32_[c][at * k_w], &v32_[c][at * v_w]);
    } else {
      kc::ops::store_kv(k, v, k_w, v_w, true, &k16_[c][at * k_w], &v16_[c][at * v_w]);
    }
  }
  const int group = spec_.n_head / spec_.n_head_kv;
  const int window = spec_.layers[op.layer].sliding_window;
  const float scale = spec_.attn_scale;
  const float cap = spec_.attn_softcap;
  // One task per token and KV head: the group's query heads read each cached key and value once.
  pool_.parallel_for(static_cast<int64_t>(n) * spec_.n_head_kv, [&](int64_t task) {
    const int t = static_cast<int>(task / spec_.n_head_kv);
    const int kvh = static_cast<int>(task % spec_.n_head_kv);
    const int h = kvh * group;
    const int p = pos[t];
    const size_t c = cache(static_cast<int>(t));
    kc::AttentionRow a;
    a.q = buf(op.q) + static_cast<size_t>(t) * width(op.q) + h * hd;
    a.n_q = group;
    a.f16 = !f32;
    a.k = f32 ? static_cast<const void*>(k32_[c].data() + kvh * hd) : static_cast<const void*>(k16_[c].data() + kvh * hd);
    a.v = f32 ? static_cast<const void*>(v32_[c].data() + kvh * hdv)
              : static_cast<const void*>(v16_[c].data() + kvh * hdv);
    a.k_stride = k_w;
    a.v_stride = v_w;
    a.head_dim = hd;
    a.head_dim_v = hdv;
    a.first = kc::attention_first(p, window);
    a.last = p;
    a.scale = scale;
    a.softcap = cap;
    a.out = buf(op.out) + static_cast<size_t>(t) * width(op.out) + h * hdv;
    a.ring = ring_window_ > 0 ? kv_rows_ : 0;
    kc::attend(isa_, a);
  });
}

void Interpreter::run(const graph::GluOp& op, int n) {
  kc::ops::glu(kc::RunLen{width(op.gate)}, op.act == model::Activation::kGeluTanh, buf(op.gate), buf(op.up), n);
}

void Interpreter::run(const graph::AddOp& op, int n) { kc::ops::add(kc::RunLen{width(op.dst)}, buf(op.dst), buf(op.src), n); }

void Interpreter::run(const graph::SoftcapOp& op, int r0, int r1) {
  kc::ops::softcap(kc::RunLen{width(op.buf)}, buf(op.buf), op.cap, r0, r1);
}

}  // namespace forge::interp
