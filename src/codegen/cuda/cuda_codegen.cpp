#include "codegen/cuda/cuda_codegen.h"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>

#include "codegen/cpu/cpu_codegen.h"
#include "codegen/cpu/source_text.h"
#include "codegen/cpu/weights_export.h"
#include "graph/passes/memory_plan.h"
#include "kernels/cuda/split_layout.h"
#include "quant/quant.h"

#ifndef FORGE_SOURCE_DIR_PATH
#error "FORGE_SOURCE_DIR_PATH must be defined (src/codegen/cuda/CMakeLists.txt)"
#endif

namespace forge::codegen::cuda {

namespace fs = std::filesystem;
using cpu::escaped;
using cpu::first_tail_op;
using cpu::flt;
using cpu::hex64;
using cpu::layer_of;
using cpu::model_constants;
using cpu::write_file;
using graph::Graph;
using graph::Op;

namespace {

// The block type whose dequant_unit the CUDA kernels have (forge_kernels.cuh).
std::string block_type(GgmlType t, const std::string& tensor) {
  switch (t) {
    case GgmlType::F32: return "BlockF32";
    case GgmlType::F16: return "BlockF16";
    case GgmlType::BF16: return "BlockBF16";
    case GgmlType::Q4_0: return "BlockQ4_0";
    case GgmlType::Q4_1: return "BlockQ4_1";
    case GgmlType::Q5_0: return "BlockQ5_0";
    case GgmlType::Q5_1: return "BlockQ5_1";
    case GgmlType::Q8_0: return "BlockQ8_0";
    case GgmlType::Q4_K: return "BlockQ4_K";
    case GgmlType::Q5_K: return "BlockQ5_K";
    case GgmlType::Q6_K: return "BlockQ6_K";
    default:
      throw CodegenError("'" + tensor + "' is " + std::string(ggml_type_info(t).name) +
                         ": the CUDA target has no kernel for it (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, "
                         "Q5_K, Q6_K); re-quantize with forge quantize");
  }
}

constexpr int kThreads = 256;  // elementwise kernels
// Decode fusions (Emitter::decode_fusion) recompute a norm or GLU in every
// block of the projection that reads it: worth a launch up to about these
// widths. Measured on an H100 (tg128): norms fused up to 3072 values made
// llama-3.2-3b Q4_0 9% faster (Q8_0 3%); a GLU of 2560 values in each block
// of ffn_down (GluInput) made smollm2-360m 10% slower than matvec_glu (the GLU
// in the gate/up blocks), one of 8192 llama-3.2-1b 20% slower than a launch.
constexpr int kDecodeNormMaxWidth = 3072;
constexpr int kDecodeGluMaxWidth = 2048;
// FORGE_CUDA_FUSE_WIDTH=N in forge compile's environment: fuse norms and
// GLUs up to N values instead (for measuring: bench/cuda/gpu_check.sh fuse).
std::optional<int> fuse_width_override() {
  const char* e = std::getenv("FORGE_CUDA_FUSE_WIDTH");
  if (e == nullptr || *e == 0) return std::nullopt;
  char* end = nullptr;
  const long v = std::strtol(e, &end, 10);
  if (*end != 0 || v < 0 || v > (1 << 20)) throw CodegenError(std::string("FORGE_CUDA_FUSE_WIDTH=") + e + ": expected a width");
  return static_cast<int>(v);
}
// Prefill GEMMs dequantize at most this many weights at a time (128 MB as F32;
// kernels/cuda/gemm.cuh): large matrices go through in row chunks.
constexpr size_t kGemmChunkElems = size_t{32} << 20;

class Emitter {
 public:
  Emitter(const Graph& g, const CudaOptions& o)
      : g_(g),
        s_(*g.spec),
        o_(o),
        plan_(graph::passes::plan_memory(g, o.max_batch)),
        layout_(cpu::weight_layout(g, cpu::WeightPacking::kCudaSplit)),
        fuse_norm_width_(fuse_width_override().value_or(kDecodeNormMaxWidth)),
        fuse_glu_width_(fuse_width_override().value_or(kDecodeGluMaxWidth)) {}

  std::string model_cu();
  std::string model_h() const;

 private:
  std::string F(int op, int buffer) const { return "F(" + std::to_string(plan_.offset(op, buffer)) + ")"; }
  std::string W(const model::WeightRef* w) const {
    return "W(" + std::to_string(layout_.slots[layout_.index(*w)].offset) + ")";
  }
  std::string Wf(const model::WeightRef* w) const {
    if (!w) return "nullptr";
    if (w->type != GgmlType::F32) throw CodegenError("'" + w->name + "': norm weights and biases must be F32");
    return "Wf(" + std::to_string(layout_.slots[layout_.index(*w)].offset) + ")";
  }
  // Bytes from one row of w to the next in weights.bin (split rows are padded).
  uint64_t row_stride(const model::WeightRef& w) const { return layout_.row_stride[layout_.index(w)]; }
  int width(int b) const { return g_.buffers[b].width; }
  void op(int i, const Op& op, const std::string& rows);
  // acc_into: the buffer the product is added to (a residual add done by the
  // projection; one weight), else the op's own outputs.
  void matmul(int i, const graph::MatMulOp& m, const std::string& rows, const std::string& acc_into = "");
  // Decode-step fusions (docs/cuda.md): the ops from i on emitted with a
  // branch for one-row steps; returns how many ops that covered (0: none).
  int decode_fusion(int i, const std::string& rows);
  // "kc::NormInput{...}" when projection m (op i + 1) can compute norm op i
  // itself (NormInput: the whole row, nothing else reads it), else "".
  std::string norm_input(int i, const graph::NormOp& nm, const graph::MatMulOp& m) const;
  // The last op that reads the value `buffer` holds at op i (its live range).
  int last_reader(int i, int buffer) const;
  // The GLU op i + 1 when matvec_glu can do it in projection op i's blocks
  // (one-token steps): it takes op i's two outputs (gate, up), which nothing
  // else reads, is wider than GluInput takes, and feeds only op i + 2, a
  // projection of Q8_0 levels. nullptr otherwise.
  const graph::GluOp* glu_after(int i) const;
  // m's weights as one launch of split rows (all Q8_0 or all Q4_0): "B, K, N" and the parts, else "".
  // acc_into >= 0: the one output is added to that buffer instead (MatvecPart::accumulate).
  std::string split_launch_args(int i, const graph::MatMulOp& m, int acc_into);
  // L2 prefetch across the decode step's projections (docs/cuda.md): the
  // weights of one launch, numbered in the order the step reads them (the
  // one-row branch and the else branch of a fusion read them in the same
  // order), and "pf(k)", the generated code's range of the weights read next
  // (kDecodeReads[k + 1]), for that launch to bring into L2.
  std::string prefetch_after(const std::vector<const model::WeightRef*>& ws);
  // For a launch between two projections (attention): the weights read after the next projection's.
  std::string prefetch_beyond_next() const { return "pf(" + std::to_string(decode_reads_.size()) + ")"; }
  // The buffer that op i, a projection with one output, has its output added
  // to by op i + 1 (a norm's residual or an AddOp) and read by nothing else; -1 if none.
  int residual_target(int i) const;
  // An acts region of k-wide rows quantized to Q8_0 / Q8_1 (kc::Q8Out) at
  // float offset off: max_batch x k values, max_batch x k / 32 block sums
  // (Q8_1), max_batch x k int8 levels, max_batch x k / 32 scales. The runtime
  // finds the levels and scales from the values' address the same way
  // (cuda_model.h levels_of / scales_of).
  size_t q8_region_floats(int k) const {
    return static_cast<size_t>(o_.max_batch) * (k + k / 32 + k / 4 + k / 32);
  }
  std::string q8_out(size_t off, int k, GgmlType at) const {
    const size_t b = static_cast<size_t>(o_.max_batch);
    const std::string base = "acts() + " + std::to_string(off);
    return "kc::Q8Out{" + base + ", " + (at == GgmlType::Q8_1 ? base + " + " + std::to_string(b * k) : "nullptr") +
           ", reinterpret_cast<int8_t*>(" + base + " + " + std::to_string(b * (k + k / 32)) + "), " + base + " + " +
           std::to_string(b * (k + k / 32 + k / 4)) + "}";
  }
  // "kb, vb": F16 byte offsets of a layer's keys and values in the KV cache.
  std::string kv_offsets(int layer) const {
    const size_t kb = kv_layer_bytes() * layer;
    const size_t vb = kb + static_cast<size_t>(o_.max_context) * s_.n_head_kv * s_.head_dim * 2;
    return std::to_string(kb) + ", " + std::to_string(vb);
  }
  size_t kv_layer_bytes() const {
    return static_cast<size_t>(o_.max_context) * s_.n_head_kv * (s_.head_dim + s_.head_dim_v) * 2;
  }

  const Graph& g_;
  const model::ModelSpec& s_;
  const CudaOptions& o_;
  graph::passes::MemoryPlan plan_;
  cpu::WeightLayout layout_;
  const int fuse_norm_width_;  // decode fusions of norms up to this width (kDecodeNormMaxWidth)
  const int fuse_glu_width_;   // and of GLUs into the down projection (kDecodeGluMaxWidth)
  size_t acts_bytes_ = 256;
  // Fusions with the op before: op index whose first input format the
  // producer (norm, GLU) already quantized; op index whose KV write rope did.
  int quantized_input_op_ = -1;
  int kv_written_op_ = -1;
  // Op index whose residual add (norm residual or AddOp) the projection
  // before it did for one-row steps (matmul's acc_into).
  int residual_folded_op_ = -1;
  std::optional<GgmlType> fused_quant_target(int i, int buffer) const;
  // kc::Q8Out for op i writing `buffer` quantized for op i + 1 (in groups of
  // `group` values), or "kc::Q8Out{}" where op i + 1 does not take it.
  std::string fused_quant_args(int i, int buffer, int group);
  size_t gemm_weight_elems_ = 0;  // largest dequantized chunk a prefill GEMM needs
  size_t gemm_x_elems_ = 0;
  std::vector<compiled::TensorSlot> decode_reads_;  // prefetch_after's ranges, in reading order
  std::map<uint64_t, size_t> decode_read_index_;    // by the first weight's offset
  std::ostringstream body_;
};

void Emitter::matmul(int i, const graph::MatMulOp& m, const std::string& rows, const std::string& acc_into) {
  const int k = width(m.in);
  // Each activation format among the weights (quant::vec_dot_type) gets the
  // input quantized once, as the interpreter does, into its own acts region.
  std::vector<GgmlType> act_types;
  std::vector<size_t> act_offsets;
  // A region: q8_out's layout (max_batch rows of k values, sums, levels, scales).
  const size_t sums_at = static_cast<size_t>(o_.max_batch) * k;
  const size_t region = q8_region_floats(k) * sizeof(float);
  std::vector<std::string> xs, xsums;  // each weight's input (and Q8_1 sums)
  for (size_t j = 0; j < m.weights.size(); ++j) {
    const model::WeightRef* w = m.weights[j];
    block_type(w->type, w->name);
    if (w->cols != k) throw CodegenError("'" + w->name + "': row length " + std::to_string(w->cols) + ", input is " + std::to_string(k));
    const GgmlType at = quant::vec_dot_type(w->type);
    if (k % 32 != 0 && at != GgmlType::F32) {
      throw CodegenError("'" + w->name + "': row length " + std::to_string(k) + " is not a multiple of 32");
    }
    std::string x, xsum = "nullptr";
    if (at == GgmlType::F32) {
      x = F(i, m.in);
    } else {
      size_t a = 0;
      while (a < act_types.size() && act_types[a] != at) ++a;
      if (a == act_types.size()) {
        act_types.push_back(at);
        act_offsets.push_back(a * region);
        const bool k_quant = at == GgmlType::Q8_K;
        if (k_quant && k % 256 != 0) throw CodegenError("'" + w->name + "': K-quant rows must be a multiple of 256");
        const std::string blocks = "(" + rows + ") * " + std::to_string(k / (k_quant ? 256 : 32));
        const std::string out = k_quant ? "acts() + " + std::to_string(a * region / sizeof(float))
                                        : q8_out(a * region / sizeof(float), k, at);
        if (!(i == quantized_input_op_ && a == 0)) {  // else the op before wrote it
          if (k_quant) {
            body_ << "  kc::launch(kc::fake_quant_q8_k, dim3(kc::blocks_for(" << blocks << ", 64)), dim3(64), 0, stream_, "
                  << F(i, m.in) << ", " << out << ", " << blocks << ");\n";
          } else {
            body_ << "  kc::launch_fake_quant_q8_0(stream_, " << F(i, m.in) << ", " << out << ", " << blocks << ");\n";
          }
        }
      }
      x = "acts() + " + std::to_string(act_offsets[a] / sizeof(float));
      if (at == GgmlType::Q8_1) xsum = x + " + " + std::to_string(sums_at);
      acts_bytes_ = std::max(acts_bytes_, act_offsets[a] + region);
    }
    if (k % 32 == 0) {
      gemm_weight_elems_ = std::max(gemm_weight_elems_, std::min(kGemmChunkElems, static_cast<size_t>(w->rows) * k));
      gemm_x_elems_ = std::max(gemm_x_elems_, static_cast<size_t>(o_.max_batch) * k);
    }
    xs.push_back(x);
    xsums.push_back(xsum);
  }
  // Weights of one type (hence one quantized input) go as parts of one
  // launch (forge_kernels.cuh MatvecParts), in their order.
  std::vector<bool> done(m.weights.size(), false);
  for (size_t j = 0; j < m.weights.size(); ++j) {
    if (done[j]) continue;
    const model::WeightRef* w = m.weights[j];
    std::vector<size_t> group;
    for (size_t l = j; l < m.weights.size(); ++l) {
      if (!done[l] && m.weights[l]->type == w->type) {
        group.push_back(l);
        done[l] = true;
      }
    }
    auto part = [&](size_t l) {
      const model::WeightRef* wl = m.weights[l];
      return W(wl) + ", " + std::to_string(row_stride(*wl)) + ", " + std::to_string(wl->rows) + ", " +
             F(i, m.outs[l]) + ", " + (m.biases[l] ? Wf(m.biases[l]) : std::string("nullptr"));
    };
    const std::string bt = block_type(w->type, w->name);
    if (group.size() == 1) {
      std::string args = part(j);
      if (!acc_into.empty()) {  // y = acc_into, added to
        args = W(w) + ", " + std::to_string(row_stride(*w)) + ", " + std::to_string(w->rows) + ", " + acc_into + ", " +
               (m.biases[j] ? Wf(m.biases[j]) : std::string("nullptr"));
      }
      body_ << "  matmul<" << bt << ", " << k << ">(" << args << ", " << xs[j] << ", " << xsums[j] << ", " << rows
            << (acc_into.empty() ? ", false, " : ", true, ") << prefetch_after({w}) << ");  // " << w->name << " "
            << ggml_type_info(w->type).name << " [" << w->rows << " x " << w->cols << "]"
            << (acc_into.empty() ? "" : ", added to the residual") << "\n";
      continue;
    }
    if (!acc_into.empty()) throw CodegenError("internal: a residual add into a fused projection");
    std::vector<const model::WeightRef*> ws;
    for (size_t l : group) ws.push_back(m.weights[l]);
    body_ << "  matmul_parts<" << bt << ", " << k << ", " << group.size() << ">({{";
    for (size_t g = 0; g < group.size(); ++g) body_ << (g ? ",\n    " : "") << "{" << part(group[g]) << "}";
    body_ << "}, " << prefetch_after(ws) << "}, " << xs[j] << ", " << xsums[j] << ", " << rows << ");  //";
    for (size_t l : group) body_ << " " << m.weights[l]->name << " [" << m.weights[l]->rows << " x " << k << "]";
    body_ << " " << ggml_type_info(w->type).name << "\n";
  }
}

// Op i + 1's input format when it is a projection of `buffer` (the output
// of op i) whose weights all take Q8_0 or Q8_1 activations: op i can then
// write the quantized input itself (norm_rows / glu with qout).
std::optional<GgmlType> Emitter::fused_quant_target(int i, int buffer) const {
  if (i + 1 >= static_cast<int>(g_.ops.size()) || g_.ops[i + 1].tail != g_.ops[i].tail) return std::nullopt;
  const auto* m = std::get_if<graph::MatMulOp>(&g_.ops[i + 1].params);
  if (m == nullptr || m->in != buffer || width(buffer) % 32 != 0 || m->weights.empty()) return std::nullopt;
  const GgmlType at = quant::vec_dot_type(m->weights[0]->type);
  if (at != GgmlType::Q8_0 && at != GgmlType::Q8_1) return std::nullopt;
  for (const model::WeightRef* w : m->weights) {
    if (quant::vec_dot_type(w->type) != at || w->cols != width(buffer)) return std::nullopt;
  }
  return at;
}

std::string Emitter::fused_quant_args(int i, int buffer, int group) {
  const std::optional<GgmlType> at = fused_quant_target(i, buffer);
  if (!at || group % 32 != 0) return "kc::Q8Out{}";
  quantized_input_op_ = i + 1;
  return q8_out(0, width(buffer), *at);
}

void Emitter::op(int i, const Op& op, const std::string& rows) {
  // The quantized-input region of op i + 1 (matmul's first acts region).
  auto fused_quant_args = [&](int buffer, int group) { return this->fused_quant_args(i, buffer, group); };
  std::visit(
      [&](const auto& p) {
        using P = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<P, graph::EmbedOp>) {
          const model::WeightRef& t = *p.table;
          const int w = width(p.out);
          if (w % 32 != 0) throw CodegenError("embedding width " + std::to_string(w) + " is not a multiple of 32");
          body_ << "  kc::launch(kc::embed<" << block_type(t.type, t.name) << ", " << w << ">, dim3(kc::blocks_for("
                << w / 32 << ", 64), n), dim3(64), 0, stream_, " << W(&t) << ", " << row_stride(t) << ", "
                << flt(p.scale) << ", params(), " << F(i, p.out) << ");\n";
        } else if constexpr (std::is_same_v<P, graph::NormOp>) {
          const int w = width(p.in);
          const int groups = w / p.group;
          const bool row_per_group = groups > 1 && p.weight->rows * p.weight->cols == w;
          std::string residual = p.residual >= 0 ? F(i, p.residual) : std::string("nullptr");
          if (i == residual_folded_op_) residual = "(" + rows + " == 1 ? nullptr : " + residual + ")";  // added already
          body_ << "  kc::launch_norm_rows(stream_, " << rows << ", " << F(i, p.in) << ", "
                << residual << ", " << F(i, p.out) << ", "
                << Wf(p.weight) << ", " << Wf(p.bias) << ", " << w << ", " << p.group << ", "
                << (p.kind == model::NormKind::kLayer ? "true" : "false") << ", " << (row_per_group ? "true" : "false")
                << ", " << flt(p.eps) << ", " << flt(p.offset) << ", " << fused_quant_args(p.out, p.group) << ");\n";
        } else if constexpr (std::is_same_v<P, graph::MatMulOp>) {
          matmul(i, p, rows);
        } else if constexpr (std::is_same_v<P, graph::RopeOp>) {
          const auto* at = i + 1 < static_cast<int>(g_.ops.size())
                               ? std::get_if<graph::AttentionOp>(&g_.ops[i + 1].params)
                               : nullptr;
          if (at != nullptr && at->q == p.q && at->k == p.k && at->layer == p.layer &&
              g_.ops[i + 1].tail == g_.ops[i].tail) {
            // rope and the next attention's KV write in one launch
            body_ << "  rope_kv_step(" << F(i, p.q) << ", " << F(i, p.k) << ", " << F(i + 1, at->v) << ", "
                  << kv_offsets(at->layer) << ", " << p.layer << ", n);\n";
            kv_written_op_ = i + 1;
            return;
          }
          body_ << "  kc::launch(kc::rope, dim3(kc::blocks_for((kHeads + kHeadsKv) * (kRopeDims / 2), " << kThreads
                << "), n), dim3(" << kThreads << "), 0, stream_, " << F(i, p.q) << ", " << F(i, p.k)
                << ", kHeads, kHeadsKv, kHeadDim, kRopeDims, kRopeAdjacent, inv_freq(" << p.layer
                << "), kRopeScale, params());\n";
        } else if constexpr (std::is_same_v<P, graph::AttentionOp>) {
          body_ << "  attention_step(" << F(i, p.q) << ", " << F(i, p.k) << ", " << F(i, p.v) << ", " << F(i, p.out)
                << ", " << kv_offsets(p.layer) << ", " << s_.layers[p.layer].sliding_window << ", n, "
                << (i == kv_written_op_ ? "false" : "true") << ", " << fused_quant_args(p.out, s_.head_dim_v)
                << ");\n";
        } else if constexpr (std::is_same_v<P, graph::GluOp>) {
          const std::string count = "static_cast<size_t>(n) * " + std::to_string(width(p.gate));
          body_ << "  kc::launch_glu(stream_, " << F(i, p.gate) << ", " << F(i, p.up) << ", " << count << ", "
                << (p.act == model::Activation::kSilu ? "false" : "true") << ", " << fused_quant_args(p.gate, 32)
                << ");\n";
        } else if constexpr (std::is_same_v<P, graph::AddOp>) {
          const std::string count = "static_cast<size_t>(n) * " + std::to_string(width(p.dst));
          if (i == residual_folded_op_) body_ << "  if (" << rows << " != 1)  // else added already\n  ";
          body_ << "  kc::launch(kc::add, dim3(kc::blocks_for(" << count << ", " << kThreads << ")), dim3(" << kThreads
                << "), 0, stream_, " << F(i, p.dst) << ", " << F(i, p.src) << ", " << count << ");\n";
        } else if constexpr (std::is_same_v<P, graph::SoftcapOp>) {
          const std::string count = "static_cast<size_t>(" + rows + ") * " + std::to_string(width(p.buf));
          body_ << "  kc::launch(kc::softcap, dim3(kc::blocks_for(" << count << ", " << kThreads << ")), dim3("
                << kThreads << "), 0, stream_, " << F(i, p.buf) << ", " << count << ", " << flt(p.cap) << ");\n";
        }
      },
      op.params);
}

int Emitter::last_reader(int i, int buffer) const {
  for (const graph::passes::LiveRange& r : plan_.ranges) {
    if (r.buffer == buffer && r.first_op <= i && i <= r.last_op) return r.last_op;
  }
  return -1;
}

std::string Emitter::prefetch_after(const std::vector<const model::WeightRef*>& ws) {
  uint64_t begin = UINT64_MAX, end = 0;
  for (const model::WeightRef* w : ws) {
    const compiled::TensorSlot& slot = layout_.slots[layout_.index(*w)];
    begin = std::min(begin, slot.offset);
    end = std::max(end, slot.offset + slot.bytes);
  }
  const auto [at, added] =
      decode_read_index_.emplace(layout_.slots[layout_.index(*ws[0])].offset, decode_reads_.size());
  if (added) decode_reads_.push_back({begin, end - begin});
  return "pf(" + std::to_string(at->second) + ")";
}

std::string Emitter::split_launch_args(int i, const graph::MatMulOp& m, int acc_into) {
  const GgmlType t = m.weights[0]->type;
  const int k = width(m.in);
  if (!kernels::cuda::split_type(t) || k % 32 != 0) return "";
  std::ostringstream a;
  a << block_type(t, m.weights[0]->name) << ", " << k << ", " << m.weights.size() << ">(stream_, kc::MatvecParts<"
    << m.weights.size() << ">{{";
  for (size_t j = 0; j < m.weights.size(); ++j) {
    const model::WeightRef* w = m.weights[j];
    if (w->type != t || w->cols != k) return "";
    a << (j ? ", " : "") << "{" << W(w) << ", " << row_stride(*w) << ", " << w->rows << ", "
      << (acc_into >= 0 ? F(i + 1, acc_into) : F(i, m.outs[j])) << ", "
      << (m.biases[j] ? Wf(m.biases[j]) : std::string("nullptr")) << (acc_into >= 0 ? ", true}" : "}");
  }
  a << "}, " << prefetch_after(m.weights) << "}";
  return a.str();
}

const graph::GluOp* Emitter::glu_after(int i) const {
  if (i + 2 >= static_cast<int>(g_.ops.size()) || g_.ops[i + 1].tail != g_.ops[i].tail) return nullptr;
  const auto* m = std::get_if<graph::MatMulOp>(&g_.ops[i].params);
  const auto* gl = std::get_if<graph::GluOp>(&g_.ops[i + 1].params);
  if (m == nullptr || gl == nullptr || m->weights.size() != 2 || gl->gate != m->outs[0] || gl->up != m->outs[1]) {
    return nullptr;
  }
  const int w = width(gl->gate);
  // The GLU writes its gate buffer in place: one live range through op i + 2.
  if (w <= fuse_glu_width_ || w % 32 != 0 || last_reader(i, gl->up) != i + 1 || last_reader(i, gl->gate) != i + 2 ||
      fused_quant_target(i + 1, gl->gate) != GgmlType::Q8_0) {
    return nullptr;
  }
  return gl;
}

int Emitter::residual_target(int i) const {
  const int n_ops = static_cast<int>(g_.ops.size());
  const auto* mm = std::get_if<graph::MatMulOp>(&g_.ops[i].params);
  if (mm == nullptr || mm->weights.size() != 1 || i + 1 >= n_ops || g_.ops[i + 1].tail != g_.ops[i].tail) return -1;
  const int out = mm->outs[0];
  int target = -1;
  if (const auto* nm = std::get_if<graph::NormOp>(&g_.ops[i + 1].params); nm != nullptr && nm->residual == out) {
    target = nm->in;
  }
  if (const auto* ad = std::get_if<graph::AddOp>(&g_.ops[i + 1].params); ad != nullptr && ad->src == out) {
    target = ad->dst;
  }
  return target != out && last_reader(i, out) == i + 1 ? target : -1;
}

// One-row (decode) steps run fewer kernels:
// - a norm of the whole row of at most kDecodeNormMaxWidth values, or a GLU
//   of at most kDecodeGluMaxWidth values, followed by a projection of its
//   result that nothing else reads, with Q8_0 / Q4_0 weights: the
//   projection's blocks compute the norm or GLU themselves (matvec.cuh
//   NormInput, GluInput), one launch instead of two;
// - a projection whose one output is next added to the residual stream (the
//   norm's residual or an AddOp) and read by nothing else: it adds its
//   product to the stream itself (MatvecPart::accumulate), and the norm that
//   follows can then be computed by the next projection.
// - RoPE followed by the attention that reads its q and k: the attention
//   kernel rotates them and writes the KV cache (forge_kernels.cuh RopeKv).
// - a norm fused into a gate/up projection whose GLU is too wide for
//   GluInput: the projection's blocks also do the GLU and quantize its output
//   for the down projection (matvec.cuh matvec_glu), one launch instead of two.
// Steps of several rows take the plain launches (the else branches).
std::string Emitter::norm_input(int i, const graph::NormOp& nm, const graph::MatMulOp& m) const {
  const bool residual_done = nm.residual < 0 || i == residual_folded_op_;
  if (m.in != nm.out || nm.group != width(nm.in) || width(nm.in) > fuse_norm_width_ || !residual_done ||
      last_reader(i, nm.out) != i + 1) {
    return "";
  }
  return "kc::NormInput{" + F(i, nm.in) + ", " + Wf(nm.weight) + ", " + Wf(nm.bias) + ", " + flt(nm.eps) + ", " +
         flt(nm.offset) + ", " + (nm.kind == model::NormKind::kLayer ? "true" : "false") + "}";
}

int Emitter::decode_fusion(int i, const std::string& rows) {
  const int n_ops = static_cast<int>(g_.ops.size());
  const Op& a = g_.ops[i];
  if (const auto* em = std::get_if<graph::EmbedOp>(&a.params); em != nullptr && i + 2 < n_ops) {
    const auto* nm = std::get_if<graph::NormOp>(&g_.ops[i + 1].params);
    const auto* m = std::get_if<graph::MatMulOp>(&g_.ops[i + 2].params);
    const bool chain = nm != nullptr && m != nullptr && nm->in == em->out && nm->residual < 0 &&
                       g_.ops[i + 1].tail == a.tail && g_.ops[i + 2].tail == a.tail;
    const std::string norm = chain ? norm_input(i + 1, *nm, *m) : "";
    const int target = residual_target(i + 2);
    const std::string args = norm.empty() || glu_after(i + 2) ? "" : split_launch_args(i + 2, *m, target);
    if (!args.empty()) {
      const model::WeightRef& t = *em->table;
      body_ << "  if (" << rows << " == 1) {  // " << a.name << " and " << g_.ops[i + 1].name << " computed by "
            << g_.ops[i + 2].name << "'s blocks\n"
            << "    kc::launch_matvec_split<" << args << ",\n        kc::EmbedInput<" << block_type(t.type, t.name)
            << ">{" << W(&t) << ", " << row_stride(t) << ", " << flt(em->scale) << ", params(), " << F(i, em->out)
            << ", " << norm << "});\n  } else {\n";
      op(i, a, rows);
      op(i + 1, g_.ops[i + 1], rows);
      op(i + 2, g_.ops[i + 2], rows);
      body_ << "  }\n";
      if (target >= 0) residual_folded_op_ = i + 3;
      return 3;
    }
  }
  if (const auto* rp = std::get_if<graph::RopeOp>(&a.params); rp != nullptr && i + 1 < n_ops) {
    const auto* at = std::get_if<graph::AttentionOp>(&g_.ops[i + 1].params);
    if (at != nullptr && at->q == rp->q && at->k == rp->k && at->layer == rp->layer &&
        g_.ops[i + 1].tail == a.tail && last_reader(i, rp->q) == i + 1 && last_reader(i, rp->k) == i + 1) {
      const std::string qo = fused_quant_args(i + 1, at->out, s_.head_dim_v);
      body_ << "  if (" << rows << " == 1) {  // " << a.name << " and the KV write done by " << g_.ops[i + 1].name << "\n"
            << "    attention_rope_step(" << F(i, rp->q) << ", " << F(i, rp->k) << ", " << F(i + 1, at->v) << ", "
            << F(i + 1, at->out) << ", " << kv_offsets(at->layer) << ", " << s_.layers[at->layer].sliding_window
            << ", " << rp->layer << ", " << qo << ", " << prefetch_beyond_next() << ");\n  } else {\n";
      op(i, a, rows);
      op(i + 1, g_.ops[i + 1], rows);
      body_ << "  }\n";
      return 2;
    }
  }
  const auto* m = i + 1 < n_ops && g_.ops[i + 1].tail == a.tail ? std::get_if<graph::MatMulOp>(&g_.ops[i + 1].params)
                                                                 : nullptr;
  if (m != nullptr) {
    const Op& b = g_.ops[i + 1];
    std::string input;
    if (const auto* nm = std::get_if<graph::NormOp>(&a.params)) {
      input = norm_input(i, *nm, *m);
    } else if (const auto* gl = std::get_if<graph::GluOp>(&a.params)) {
      if (m->in == gl->gate && width(gl->gate) <= fuse_glu_width_ && last_reader(i, gl->gate) == i + 1) {
        input = "kc::GluInput{" + F(i, gl->gate) + ", " + F(i, gl->up) + ", " +
                (gl->act == model::Activation::kSilu ? "false" : "true") + "}";
      }
    }
    const int target = residual_target(i + 1);
    const std::string args = input.empty() ? "" : split_launch_args(i + 1, *m, target);
    const graph::GluOp* glu = input.empty() ? nullptr : glu_after(i + 1);
    if (!args.empty() && glu != nullptr) {  // and the GLU after it (the down projection's input quantized there)
      const std::string out = "kc::GluOut{" + F(i + 2, glu->gate) + ", " +
                              (glu->act == model::Activation::kSilu ? "false" : "true") + ", " +
                              fused_quant_args(i + 2, glu->gate, 32) + "}";
      body_ << "  if (" << rows << " == 1) {  // " << a.name << " computed by, and " << g_.ops[i + 2].name
            << " done by, " << b.name << "'s blocks\n"
            << "    kc::launch_matvec_glu<" << args << ",\n        " << input << ",\n        " << out
            << ");\n  } else {\n";
      op(i, a, rows);
      op(i + 1, b, rows);
      op(i + 2, g_.ops[i + 2], rows);
      body_ << "  }\n";
      return 3;
    }
    if (!args.empty()) {
      // The logits, last: the decode graph's greedy token taken on the way (CudaModel::take_argmax).
      const bool logits = i + 2 == n_ops && m->outs.size() == 1 && m->outs[0] == g_.logits;
      body_ << "  if (" << rows << " == 1) {  // " << a.name << " computed by " << b.name << "'s blocks"
            << (target >= 0 ? ", which add to the residual" : "") << (logits ? ", and the argmax" : "") << "\n"
            << "    kc::launch_matvec_split<" << args << ",\n        " << input << (logits ? ", take_argmax()" : "")
            << ");\n  } else {\n";
      op(i, a, rows);
      op(i + 1, b, rows);
      body_ << "  }\n";
      if (target >= 0) residual_folded_op_ = i + 2;
      return 2;
    }
  }
  if (const int target = residual_target(i); target >= 0) {
    body_ << "  if (" << rows << " == 1) {  // " << g_.ops[i + 1].name << "'s residual add done by the projection\n";
    matmul(i, std::get<graph::MatMulOp>(a.params), rows, F(i + 1, target));
    body_ << "  } else {\n";
    matmul(i, std::get<graph::MatMulOp>(a.params), rows);
    body_ << "  }\n";
    residual_folded_op_ = i + 1;
    return 1;
  }
  return 0;
}

std::string Emitter::model_cu() {
  if (s_.head_dim > 256 || s_.head_dim_v > 256 || s_.head_dim % 2 != 0) {
    throw CodegenError("head size " + std::to_string(s_.head_dim) + "/" + std::to_string(s_.head_dim_v) +
                       ": the CUDA attention kernel takes even key heads and value heads up to 256");
  }
  if (s_.n_head % s_.n_head_kv != 0) throw CodegenError("query heads are not a multiple of key/value heads");
  const int n_ops = static_cast<int>(g_.ops.size());
  const int first_tail = first_tail_op(g_);
  std::string layer;
  for (int i = 0; i < n_ops; ++i) {
    const Op& o = g_.ops[i];
    if (i == first_tail) {
      body_ << "\n  // Tail: logits only for the rows that want them; for the last row alone,\n"
            << "  // that row of the hidden state moves to row 0.\n"
            << "  if (logits == Logits::kNone) return;\n"
            << "  const int rows = logits == Logits::kAll ? n : 1;\n"
            << "  if (logits == Logits::kLast && n > 1) {\n"
            << "    kc::launch(kc::copy_row, dim3(kc::blocks_for(" << width(g_.hidden) << ", 256)), dim3(256), 0, stream_, "
            << F(i, g_.hidden) << ", " << width(g_.hidden) << ", n - 1);\n  }\n";
    }
    const std::string this_layer = layer_of(o.name);
    if (this_layer != layer && !this_layer.empty()) body_ << "\n  // " << this_layer << "\n";
    layer = this_layer;
    const std::string rows = o.tail ? "rows" : "n";
    if (const int covered = decode_fusion(i, rows); covered > 0) {
      i += covered - 1;
      body_ << "  mark(\"" << escaped(g_.ops[i].name) << "\");\n";
      continue;
    }
    op(i, o, rows);
    body_ << "  mark(\"" << escaped(o.name) << "\");\n";
  }

  const uint64_t fp = cpu::weights_fingerprint(g_, cpu::WeightPacking::kCudaSplit);
  const size_t logits_off = plan_.offset(n_ops - 1, g_.logits);
  std::ostringstream c;
  c << "// Generated by `forge compile --target cuda` from " << o_.source_name << ". Do not edit.\n"
    << "// " << s_.name << " (" << s_.arch << "): the forward pass as CUDA kernel launches with every\n"
    << "// dimension a constant; the decode step is captured once as a CUDA graph\n"
    << "// (src/codegen/cuda/runtime/cuda_model.h).\n"
    << "#include \"model.h\"\n\n"
    << "#include <cmath>\n#include <cstring>\n\n"
    << "#include \"codegen/cuda/runtime/cuda_bench.h\"\n"
    << "#include \"codegen/cuda/runtime/cuda_model.h\"\n\n"
    << "namespace forge_generated {\nnamespace {\n\n"
    << "namespace kc = forge::kernels::cuda;\nusing namespace forge::quant;\nusing forge::model::Logits;\n\n"
    << "// ---- the model ----\n"
    << model_constants(s_)
    << "constexpr int kKvWidth = kHeadsKv * kHeadDim;\n"
    << "constexpr int kKvWidthV = kHeadsKv * kHeadDimV;\n\n"
    << "// ---- this build (forge compile options) ----\n"
    << "constexpr int kMaxContext = " << o_.max_context << ";\n"
    << "constexpr int kMaxBatch = " << o_.max_batch << ";  // tokens per prefill step\n"
    << "// attention: a tile of keys, then the scores (one float per position)\n"
    << "constexpr size_t kAttnSmem = kc::attention_smem_bytes<kHeadDim, kHeadDimV>(kMaxContext);\n\n"
    << "// ---- device memory: " << plan_.ranges.size() << " live ranges of " << g_.buffers.size()
    << " buffers in one arena (" << plan_.unshared_bytes << " bytes without reuse) ----\n"
    << "constexpr size_t kArenaBytes = " << plan_.arena_bytes << ";\n"
    << "constexpr size_t kActsBytes = " << acts_bytes_ << ";  // quantized matmul inputs (as floats)\n"
    << "constexpr size_t kKvBytes = " << kv_layer_bytes() * s_.n_layers << ";  // F16 keys and values, all layers\n"
    << "constexpr size_t kLogits = " << logits_off << ";  // arena offset of the logits\n\n"
    << "// ---- weights.bin ----\n"
    << "constexpr uint64_t kFingerprint = " << hex64(fp) << ";\n"
    << "constexpr uint64_t kWeightsFileBytes = " << layout_.file_bytes << ";\n"
    << "constexpr forge::compiled::TensorSlot kTensors[] = {\n";
  for (size_t j = 0; j < layout_.tensors.size(); ++j) {
    const model::WeightRef& w = *layout_.tensors[j];
    c << "    {" << layout_.slots[j].offset << ", " << layout_.slots[j].bytes << "},  // " << j << ": " << w.name << " "
      << ggml_type_info(w.type).name << " [" << w.rows << " x " << w.cols << "]\n";
  }
  c << "};\n"
    << "// The weights of the decode step's projections in the order it reads them (Model::pf).\n"
    << "constexpr forge::compiled::TensorSlot kDecodeReads[] = {";
  for (size_t j = 0; j < decode_reads_.size(); ++j) {
    c << (j % 6 ? " " : "\n    ") << "{" << decode_reads_[j].offset << ", " << decode_reads_[j].bytes << "},";
  }
  c << (decode_reads_.empty() ? "{0, 0}};\n" : "\n};\n") << "constexpr int kDecodeReadCount = " << decode_reads_.size()
    << ";\n\n"
    << "forge::cuda_rt::Shape shape() {\n"
    << "  forge::cuda_rt::Shape s;\n"
    << "  s.vocab = kVocab;\n  s.max_context = kMaxContext;\n  s.max_batch = kMaxBatch;\n  s.hidden_width = kEmbd;\n"
    << "  s.arena_bytes = kArenaBytes;\n  s.acts_bytes = kActsBytes;\n  s.kv_bytes = kKvBytes;\n"
    << "  s.logits_offset = kLogits;\n  s.attn_smem = kAttnSmem;\n"
    << "  s.gemm_weight_elems = " << (o_.max_batch > 1 ? gemm_weight_elems_ : 0) << ";  // prefill GEMM scratch\n"
    << "  s.gemm_x_elems = " << (o_.max_batch > 1 ? gemm_x_elems_ : 0) << ";\n  return s;\n}\n\n"
    << "class Model final : public forge::cuda_rt::CudaModel {\n public:\n"
    << "  explicit Model(const forge::compiled::WeightsFile& weights)\n"
    << "      : CudaModel(shape(), weights, kWeightsFileBytes,\n"
    << "                  {\"" << escaped(s_.arch) << "\", kName, kVocab, kMaxContext, kLayers, kWeightBytesPerToken}) {\n"
    << "    // theta_i = base^(-2i/d) / factor_i (RoFormer), computed as the interpreter does.\n"
    << "    std::vector<float> inv(static_cast<size_t>(kLayers) * (kRopeDims / 2));\n"
    << "    for (int l = 0; l < kLayers; ++l) {\n"
    << "      for (int i = 0; i < kRopeDims / 2; ++i) {\n"
    << "        double f = std::pow(kRopeBase[l], -2.0 * i / kRopeDims);\n"
    << (s_.rope_freq_factors.empty() ? "" : "        f /= kRopeFactors[i];\n")
    << "        inv[static_cast<size_t>(l) * (kRopeDims / 2) + i] = static_cast<float>(f);\n      }\n    }\n"
    << "    inv_freq_ = forge::cuda_rt::device_alloc(inv.size() * sizeof(float), \"cudaMalloc\");\n"
    << "    forge::cuda_rt::check(cudaMemcpy(inv_freq_.get(), inv.data(), inv.size() * sizeof(float),\n"
    << "                                     cudaMemcpyHostToDevice), \"rope frequencies\");\n"
    << "    forge::cuda_rt::check(cudaFuncSetAttribute(kc::attention<kHeadDim, kHeadDimV, kHeads, kHeadsKv, __half>,\n"
    << "                                               cudaFuncAttributeMaxDynamicSharedMemorySize,\n"
    << "                                               static_cast<int>(kAttnSmem)), \"attention shared memory\");\n"
    << "    forge::cuda_rt::check(cudaFuncSetAttribute(kc::attention<kHeadDim, kHeadDimV, kHeads, kHeadsKv, float>,\n"
    << "                                               cudaFuncAttributeMaxDynamicSharedMemorySize,\n"
    << "                                               static_cast<int>(kAttnSmem)), \"attention shared memory\");\n"
    << "  }\n\n private:\n"
    << "  const float* inv_freq(int layer) const {\n"
    << "    return reinterpret_cast<const float*>(inv_freq_.get()) + static_cast<size_t>(layer) * (kRopeDims / 2);\n  }\n"
    << "  void enqueue(int n, Logits logits) override;\n"
    << "  // The weights read after those of projection k, for its blocks to bring into L2 (none past the last).\n"
    << "  kc::L2Prefetch pf(int k) const {\n"
    << "    return k + 1 < kDecodeReadCount ? l2_prefetch(kDecodeReads[k + 1]) : kc::L2Prefetch{};\n  }\n"
    << "  // KV write and attention of one layer; kb, vb: F16 byte offsets of its keys and values.\n"
    << "  template <class KvT>\n"
    << "  void attention_kv(const float* q, const float* k, const float* v, float* out, KvT* kc_, KvT* vc_, int window,\n"
    << "                    int n, bool write_kv, const kc::Q8Out& qo) {\n"
    << "    if (write_kv) {\n"
    << "      kc::launch(kc::kv_write<KvT>, dim3(kc::blocks_for(kKvWidth + kKvWidthV, 256), n), dim3(256), 0, stream_,\n"
    << "                 k, v, kc_, vc_, kKvWidth, kKvWidthV, params());\n"
    << "    }\n"
    << "    if (n > 1 && n >= prefill_min_rows()) {  // many queries\n"
    << "      if constexpr (kc::PrefillMmaTakes<kHeadDim, kHeadDimV>::kValue) {  // on the tensor cores\n"
    << "        kc::launch_attention_mma<kHeadDim, kHeadDimV, kHeads, kHeadsKv, KvT>(stream_, q, out, kc_, vc_, window,\n"
    << "                                                                          kAttnScale, kAttnSoftcap, params(), n);\n"
    << "        prefill_attention_quant(out, n, qo);\n"
    << "        return;\n"
    << "      } else if constexpr (kc::PrefillAttnTakes<kHeadDim, kHeadDimV>::kValue) {  // keys staged once per 16\n"
    << "        kc::launch(kc::attention_prefill<kHeadDim, kHeadDimV, kHeads, kHeadsKv, KvT>,\n"
    << "                   dim3(kHeads, (n + kc::kPaQueries - 1) / kc::kPaQueries), dim3(kc::kPaThreads), 0, stream_,\n"
    << "                   q, out, kc_, vc_, window, kAttnScale, kAttnSoftcap, params(), n);\n"
    << "        prefill_attention_quant(out, n, qo);\n"
    << "        return;\n"
    << "      }\n"
    << "    }\n"
    << "    kc::launch(kc::attention<kHeadDim, kHeadDimV, kHeads, kHeadsKv, KvT>, dim3(kHeads, n),\n"
    << "               dim3(kc::kAttnThreads), kAttnSmem, stream_, q, out, kc_, vc_, window, kAttnScale, kAttnSoftcap,\n"
    << "               params(), qo, kc::RopeKv{});\n"
    << "  }\n"
    << "  // The output projection's input, quantized after a prefill attention kernel.\n"
    << "  void prefill_attention_quant(float* out, int n, const kc::Q8Out& qo) {\n"
    << "    if (!qo.vals) return;\n"
    << "    kc::launch_fake_quant_q8_0(stream_, out, qo, n * kHeads * kHeadDimV / 32);\n"
    << "  }\n"
    << "  void attention_step(const float* q, const float* k, const float* v, float* out, size_t kb, size_t vb,\n"
    << "                      int window, int n, bool write_kv, const kc::Q8Out& qo) {\n"
    << "    if (kv_f32()) attention_kv(q, k, v, out, kv32(kb), kv32(vb), window, n, write_kv, qo);\n"
    << "    else attention_kv(q, k, v, out, kv(kb), kv(vb), window, n, write_kv, qo);\n"
    << "  }\n"
    << "  // RoPE of q and k, and k, v into the layer's cache (the next attention_step skips its write).\n"
    << "  template <class KvT>\n"
    << "  void rope_kv_impl(float* q, float* k, const float* v, KvT* kc_, KvT* vc_, int layer, int n) {\n"
    << "    static_assert(kRopeDims / 2 <= kc::kRopeMaxPairs, \"rope_kv: heads of up to 256 dims\");\n"
    << "    kc::launch(kc::rope_kv<KvT>, dim3(n), dim3(kc::kRopeKvThreads), 0, stream_,\n"
    << "        q, k, v, kc_, vc_, kHeads, kHeadsKv, kHeadDim, kHeadDimV, kRopeDims, kRopeAdjacent, inv_freq(layer),\n"
    << "        kRopeScale, params());\n"
    << "  }\n"
    << "  // One token: RoPE, the KV write and attention in one launch (kc::RopeKv).\n"
    << "  template <class KvT>\n"
    << "  void attention_rope_impl(const float* q, const float* k, const float* v, float* out, KvT* kc_, KvT* vc_,\n"
    << "                           int window, int layer, const kc::Q8Out& qo, const kc::L2Prefetch& next) {\n"
    << "    kc::RopeKv rk;\n"
    << "    rk.k = k;\n    rk.v = v;\n    rk.inv_freq = inv_freq(layer);\n    rk.rope_scale = kRopeScale;\n"
    << "    rk.rope_dims = kRopeDims;\n    rk.adjacent = kRopeAdjacent;\n    rk.next = next;\n"
    << "    kc::launch(kc::attention<kHeadDim, kHeadDimV, kHeads, kHeadsKv, KvT>, dim3(kHeads, 1),\n"
    << "               dim3(kc::kAttnThreads), kAttnSmem, stream_, q, out, kc_, vc_, window, kAttnScale, kAttnSoftcap,\n"
    << "               params(), qo, rk);\n"
    << "  }\n"
    << "  void attention_rope_step(const float* q, const float* k, const float* v, float* out, size_t kb, size_t vb,\n"
    << "                           int window, int layer, const kc::Q8Out& qo, const kc::L2Prefetch& next) {\n"
    << "    if (kv_f32()) attention_rope_impl(q, k, v, out, kv32(kb), kv32(vb), window, layer, qo, next);\n"
    << "    else attention_rope_impl(q, k, v, out, kv(kb), kv(vb), window, layer, qo, next);\n"
    << "  }\n"
    << "  void rope_kv_step(float* q, float* k, const float* v, size_t kb, size_t vb, int layer, int n) {\n"
    << "    if (kv_f32()) rope_kv_impl(q, k, v, kv32(kb), kv32(vb), layer, n);\n"
    << "    else rope_kv_impl(q, k, v, kv(kb), kv(vb), layer, n);\n"
    << "  }\n"
    << "  forge::cuda_rt::DeviceBytes inv_freq_;\n};\n\n"
    << "// One step of n <= kMaxBatch tokens at positions params[0], params[0] + 1, ...\n"
    << "void Model::enqueue(int n, Logits logits) {\n"
    << body_.str() << "}\n\n}  // namespace\n\n"
    << "std::unique_ptr<forge::model::Forward> make_model(const std::string& weights_path, int /*threads*/) {\n"
    << "  // The weights file is mapped and checked (fingerprint, size, table), uploaded, then unmapped.\n"
    << "  const auto file = forge::compiled::WeightsFile::open(weights_path, kFingerprint, kTensors);\n"
    << "  return std::make_unique<Model>(file);\n}\n\n"
    << "int gpu_bench(int argc, char** argv) { return forge::cuda_rt::gpu_bench_main(argc, argv, kName, make_model); }\n\n"
    << "}  // namespace forge_generated\n";
  return c.str();
}

std::string Emitter::model_h() const {
  std::ostringstream h;
  h << "// Generated by `forge compile --target cuda` from " << o_.source_name << ". Do not edit.\n"
    << "// " << s_.name << " (" << s_.arch << "): " << s_.n_layers << " layers, " << s_.n_embd << " wide, vocabulary "
    << s_.n_vocab << ", context " << o_.max_context << ".\n"
    << "#pragma once\n\n#include <memory>\n#include <string>\n\n"
    << "#include \"codegen/cpu/runtime/compiled_main.h\"\n#include \"model/forward.h\"\n\n"
    << "namespace forge_generated {\n\n"
    << "inline constexpr char kName[] = \"" << escaped(s_.name.empty() ? s_.arch : s_.name) << "\";\n"
    << "inline constexpr forge::compiled::CompiledModelInfo kInfo = {kName, \"" << escaped(o_.source_name) << "\", "
    << o_.max_context << ", 1};\n\n"
    << "// Uploads weights.bin to the GPU (throws if it is not this model's, if there\n"
    << "// is no GPU or not enough GPU memory).\n"
    << "std::unique_ptr<forge::model::Forward> make_model(const std::string& weights_path, int threads);\n\n"
    << "// `model --gpu-bench`: prompt processing and on-GPU greedy generation speed.\n"
    << "int gpu_bench(int argc, char** argv);\n\n"
    << "}  // namespace forge_generated\n";
  return h.str();
}

std::string cmake_lists(const CudaOptions& o, const std::string& name) {
  std::ostringstream c;
  c << "# Generated by `forge compile --target cuda` for " << name << ": builds ./model with nvcc\n"
    << "# against Forge's sources (kernels, runtime headers) and the libraries of the\n"
    << "# Forge build that compiled it (runtime, tokenizer, sampler).\n"
    << "cmake_minimum_required(VERSION 3.25)\n"
    // Before project(): enabling CUDA caches CMake's default architecture (75), and a later
    // set(... CACHE) leaves that entry alone, so the program was built as compute_75 PTX.
    << "set(CMAKE_CUDA_ARCHITECTURES " << o.cuda_arch << " CACHE STRING \"forge compile --cuda-arch\")\n"
    << "project(forge_model LANGUAGES CXX CUDA)\n\n"
    << "# C++20 by flag for both languages: CMake 3.25 does not know nvcc's -std=c++20\n"
    << "# (CUDA20), and a CXX_STANDARD would also be asked of CUDA.\n"
    << "add_compile_options(-std=c++20)\n"
    << "if(NOT CMAKE_BUILD_TYPE)\n  set(CMAKE_BUILD_TYPE Release)\nendif()\n"
    << "\n"
    << "set(FORGE_SOURCE_DIR \"" << FORGE_SOURCE_DIR_PATH << "\" CACHE PATH \"Forge source tree\")\n"
    << "set(FORGE_BUILD_DIR \"" << FORGE_BUILD_DIR_PATH << "\" CACHE PATH \"Forge build tree\")\n"
    << "option(FORGE_COMPILE_ONLY \"Compile model.cu only (no link): a check without Forge's libraries\" OFF)\n"
    << "find_package(CUDAToolkit REQUIRED)\n\n"
    << "if(FORGE_COMPILE_ONLY)\n"
    << "  add_library(model_objects OBJECT model.cu)\n"
    << "  target_include_directories(model_objects PRIVATE ${FORGE_SOURCE_DIR}/src)\n"
    << "  return()\nendif()\n\n"
    << "include(${FORGE_BUILD_DIR}/forge_libraries.cmake)  # FORGE_LIBRARIES, written by Forge's build\n"
    << "find_package(PkgConfig REQUIRED)\n"
    << "pkg_check_modules(FORGE_DEPS REQUIRED IMPORTED_TARGET libpcre2-8 libutf8proc zlib cpp-httplib)  # cpp-httplib: --serve\n"
    << "find_package(Threads REQUIRED)\n\n"
    << "add_executable(model main.cpp model.cu)\n"
    << "target_include_directories(model PRIVATE ${FORGE_SOURCE_DIR}/src)\n"
    << "target_compile_options(model PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra>)\n"
    << "target_link_libraries(model PRIVATE -Wl,--start-group ${FORGE_LIBRARIES} -Wl,--end-group PkgConfig::FORGE_DEPS\n"
    << "                      CUDA::cudart_static CUDA::cublas Threads::Threads)  # cublas: prefill GEMMs\n"
    << "set_target_properties(model PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})\n";
  return c.str();
}

}  // namespace

void emit_cuda_project(const Graph& g, const CudaOptions& o) {
  if (o.max_context < 1) throw CodegenError("--max-context must be at least 1");
  if (o.max_batch < 1) throw CodegenError("--max-batch must be at least 1");
  if (o.cuda_arch.empty() || o.cuda_arch.find_first_not_of("0123456789a") != std::string::npos) {
    throw CodegenError("--cuda-arch " + o.cuda_arch + ": expected a compute capability like 90, 89, 80 or 90a");
  }
  // The quantized activation rows' int8 levels follow max_batch rows of floats
  // and sums (q8_region_floats): with a multiple of 4 rows they start 16-byte
  // aligned, as mmq's 16-byte copies need.
  CudaOptions rounded = o;
  rounded.max_batch = (o.max_batch + 3) / 4 * 4;
  Emitter e(g, rounded);
  const std::string model_cu = e.model_cu();
  fs::create_directories(o.out_dir);
  const fs::path dir(o.out_dir);
  write_file(dir / "model.cu", model_cu);
  write_file(dir / "model.h", e.model_h());
  write_file(dir / "main.cpp",
             "// Generated by `forge compile --target cuda`: the program's command line is\n"
             "// Forge's (src/codegen/cpu/runtime/compiled_main.cpp) over this model, plus\n"
             "// --gpu-bench (src/codegen/cuda/runtime/cuda_bench.h).\n"
             "#include <cstring>\n\n#include \"model.h\"\n\n"
             "int main(int argc, char** argv) {\n"
             "  if (argc > 1 && std::strcmp(argv[1], \"--gpu-bench\") == 0) return forge_generated::gpu_bench(argc, argv);\n"
             "  return forge::compiled::compiled_main(argc, argv, forge_generated::kInfo, forge_generated::make_model);\n"
             "}\n");
  write_file(dir / "CMakeLists.txt", cmake_lists(o, g.spec->name));
}

void build_cuda_project(const std::string& out_dir) {
  // The same CMake configure-and-build as the CPU target's; the generated
  // CMakeLists.txt is what makes it nvcc.
  cpu::build_cpu_project(out_dir);
}

}  // namespace forge::codegen::cuda
