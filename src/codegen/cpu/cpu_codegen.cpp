#include "codegen/cpu/cpu_codegen.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "codegen/cpu/source_text.h"
#include "graph/passes/memory_plan.h"
#include "kernels/cpu/kernels.h"
#include "quant/quant.h"

#ifndef FORGE_SOURCE_DIR_PATH
#error "FORGE_SOURCE_DIR_PATH must be defined (src/codegen/cpu/CMakeLists.txt)"
#endif

namespace forge::codegen::cpu {

namespace fs = std::filesystem;
using graph::Graph;
using graph::Op;

namespace {

// The block type the kernel templates take for a weight type (quant/blocks.h).
std::string block_type(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return "BlockF32";
    case GgmlType::F16: return "BlockF16";
    case GgmlType::BF16: return "BlockBF16";
    case GgmlType::Q4_0: return "BlockQ4_0";
    case GgmlType::Q4_1: return "BlockQ4_1";
    case GgmlType::Q5_0: return "BlockQ5_0";
    case GgmlType::Q5_1: return "BlockQ5_1";
    case GgmlType::Q8_0: return "BlockQ8_0";
    case GgmlType::Q8_1: return "BlockQ8_1";
    case GgmlType::Q2_K: return "BlockQ2_K";
    case GgmlType::Q3_K: return "BlockQ3_K";
    case GgmlType::Q4_K: return "BlockQ4_K";
    case GgmlType::Q5_K: return "BlockQ5_K";
    case GgmlType::Q6_K: return "BlockQ6_K";
    case GgmlType::Q8_K: return "BlockQ8_K";
    default: throw CodegenError("weight type " + std::string(ggml_type_info(t).name) + " has no CPU kernel template");
  }
}

std::string type_enum(GgmlType t) {
  std::string s = block_type(t).substr(5);  // "BlockQ4_K" -> "Q4_K"
  return "GgmlType::" + s;
}

class Emitter {
 public:
  Emitter(const Graph& g, const CpuOptions& o)
      : g_(g), s_(*g.spec), o_(o), plan_(graph::passes::plan_memory(g, o.max_batch)), packing_(cpu_packing(o.cpu)),
        layout_(weight_layout(g, packing_)) {}

  std::string model_cpp();
  std::string model_h() const;

 private:
  std::string A(int op, int buffer) const { return "A(" + std::to_string(plan_.offset(op, buffer)) + ")"; }
  std::string W(const model::WeightRef* w) const { return "W(" + std::to_string(layout_.index(*w)) + ")"; }
  std::string Wf(const model::WeightRef* w) const {
    if (!w) return "nullptr";
    if (w->type != GgmlType::F32) throw CodegenError("'" + w->name + "': norm weights and biases must be F32");
    return "Wf(" + std::to_string(layout_.index(*w)) + ")";
  }
  int width(int b) const { return g_.buffers[b].width; }
  void op(int i, const Op& op, const std::string& rows);
  void matmul(int i, const graph::MatMulOp& m, const std::string& rows);

  const Graph& g_;
  const model::ModelSpec& s_;
  const CpuOptions& o_;
  graph::passes::MemoryPlan plan_;
  WeightPacking packing_;
  WeightLayout layout_;
  size_t acts_bytes_ = 64;
  std::ostringstream body_;
};

void Emitter::matmul(int i, const graph::MatMulOp& m, const std::string& rows) {
  const int k = width(m.in);
  // One activation row format per vec-dot type among the weights (fusion
  // joins only weights of one type, but an unfused graph compiles too).
  std::vector<GgmlType> act_types;
  std::vector<size_t> act_offset(m.weights.size());
  size_t acts = 0;
  for (size_t j = 0; j < m.weights.size(); ++j) {
    const GgmlType at = quant::vec_dot_type(m.weights[j]->type);
    size_t found = act_types.size();
    for (size_t a = 0; a < act_types.size(); ++a) {
      if (act_types[a] == at) found = a;
    }
    const size_t stride = kernels::cpu::act_row_size(m.weights[j]->type, k);
    if (found == act_types.size()) {
      act_types.push_back(at);
      body_ << "  fc::quantize_rows<" << block_type(m.weights[j]->type) << ", " << k << ">(pool_, " << A(i, m.in)
            << ", acts_.get() + " << acts << ", " << stride << ", " << rows << ");\n";
      act_offset[j] = acts;
      acts += (stride * o_.max_batch + 63) / 64 * 64;
    } else {
      for (size_t p = 0; p < j; ++p) {
        if (quant::vec_dot_type(m.weights[p]->type) == at) act_offset[j] = act_offset[p];
      }
    }
  }
  acts_bytes_ = std::max(acts_bytes_, acts);
  body_ << "  fc::matmul(pool_, " << rows;
  for (size_t j = 0; j < m.weights.size(); ++j) {
    const model::WeightRef* w = m.weights[j];
    if (w->cols != k) throw CodegenError("'" + w->name + "': row length " + std::to_string(w->cols) + ", input is " + std::to_string(k));
    const size_t stride = kernels::cpu::act_row_size(w->type, k);
    const bool rows8 = layout_.packed[layout_.index(*w)];
    body_ << ",\n             fc::MatPart<" << block_type(w->type) << ", " << k << ", " << w->rows << ", " << w->row_bytes
          << ", " << (rows8 ? "true" : "false") << ">{" << W(w) << ", acts_.get() + " << act_offset[j] << ", " << stride
          << ", " << A(i, m.outs[j]) << ", " << (m.biases[j] ? Wf(m.biases[j]) : std::string("nullptr")) << "}";
  }
  body_ << ");\n";
}

void Emitter::op(int i, const Op& op, const std::string& rows) {
  std::visit(
      [&](const auto& p) {
        using P = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<P, graph::EmbedOp>) {
          const model::WeightRef& t = *p.table;
          body_ << "  fc::embed<" << width(p.out) << ">(" << type_enum(t.type) << ", " << W(&t) << ", " << t.row_bytes
                << ", " << (layout_.packed[layout_.index(t)] ? "true" : "false") << ", " << flt(p.scale) << ", tokens, n, "
                << A(i, p.out) << ");\n";
        } else if constexpr (std::is_same_v<P, graph::NormOp>) {
          const int w = width(p.in);
          const int groups = w / p.group;
          const bool row_per_group = groups > 1 && p.weight->rows * p.weight->cols == w;
          body_ << "  fc::norm<" << w << ", " << p.group << ", " << (p.kind == model::NormKind::kLayer ? "true" : "false")
                << ", " << (row_per_group ? "true" : "false") << ">(" << A(i, p.in) << ", "
                << (p.residual >= 0 ? A(i, p.residual) : std::string("nullptr")) << ", " << A(i, p.out) << ", "
                << Wf(p.weight) << ", " << Wf(p.bias) << ", " << flt(p.eps) << ", " << flt(p.offset) << ", 0, " << rows
                << ");\n";
        } else if constexpr (std::is_same_v<P, graph::MatMulOp>) {
          matmul(i, p, rows);
        } else if constexpr (std::is_same_v<P, graph::RopeOp>) {
          body_ << "  fc::rope<kHeadDim, kHeads, kHeadsKv, kRopeDims, kRopeAdjacent>(" << A(i, p.q) << ", " << A(i, p.k)
                << ", n, pos, inv_freq_[" << p.layer << "].data(), kRopeScale);\n";
        } else if constexpr (std::is_same_v<P, graph::AttentionOp>) {
          body_ << "  fc::attention<kHeadDim, kHeadDimV, kHeads, kHeadsKv>(pool_, " << A(i, p.q) << ", " << A(i, p.k)
                << ", " << A(i, p.v) << ", " << A(i, p.out) << ", k_cache(" << p.layer << "), v_cache(" << p.layer
                << "), n, pos, " << s_.layers[p.layer].sliding_window << ", kAttnScale, kAttnSoftcap);\n";
        } else if constexpr (std::is_same_v<P, graph::GluOp>) {
          body_ << "  fc::glu<" << width(p.gate) << ", " << (p.act == model::Activation::kSilu ? "false" : "true")
                << ">(" << A(i, p.gate) << ", " << A(i, p.up) << ", n);\n";
        } else if constexpr (std::is_same_v<P, graph::AddOp>) {
          body_ << "  fc::add<" << width(p.dst) << ">(" << A(i, p.dst) << ", " << A(i, p.src) << ", n);\n";
        } else if constexpr (std::is_same_v<P, graph::SoftcapOp>) {
          body_ << "  fc::softcap<" << width(p.buf) << ">(" << A(i, p.buf) << ", " << flt(p.cap) << ", 0, " << rows
                << ");\n";
        }
      },
      op.params);
}

std::string Emitter::model_cpp() {
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
            << "    std::memcpy(" << A(i, g_.hidden) << ", " << A(i, g_.hidden) << " + static_cast<size_t>(n - 1) * "
            << width(g_.hidden) << ", " << width(g_.hidden) << " * sizeof(float));\n  }\n";
    }
    const std::string this_layer = layer_of(o.name);
    if (this_layer != layer && !this_layer.empty()) body_ << "\n  // ---- " << this_layer << " ----\n";
    layer = this_layer;
    body_ << "  // " << o.name << "\n";
    op(i, o, i >= first_tail ? "rows" : "n");
  }
  const int logits_off = static_cast<int>(plan_.offset(n_ops - 1, g_.logits));
  const uint64_t fp = weights_fingerprint(g_, packing_);

  std::ostringstream c;
  c << "// Generated by `forge compile` from " << o_.source_name << ": " << s_.name << " (" << s_.arch << ").\n"
    << "// Do not edit: compile again. Every dimension is a constant; the forward pass\n"
    << "// below is the optimized graph written out op by op, each op's buffers at fixed\n"
    << "// offsets of one arena (the memory plan), each weight at a fixed offset of\n"
    << "// weights.bin (memory-mapped, checked against kFingerprint).\n"
    << "#include \"model.h\"\n\n"
    << "#include <cmath>\n#include <cstring>\n#include <new>\n#include <stdexcept>\n#include <string>\n\n"
    << "#include \"codegen/cpu/runtime/compiled_ops.h\"\n#include \"codegen/cpu/runtime/weights_file.h\"\n\n"
    << "namespace forge_generated {\n\nnamespace {\n\nnamespace fc = forge::compiled;\nusing forge::GgmlType;\n"
    << "using forge::model::Logits;\nusing namespace forge::quant;  // block types\n\n"
    << "// ---- the model (from the GGUF metadata) ----\n"
    << model_constants(s_);
  c << "\n// ---- this build (forge compile options) ----\n"
    << "constexpr int kMaxContext = " << o_.max_context << ";\n"
    << "constexpr int kMaxBatch = " << o_.max_batch << ";  // tokens per step\n\n"
    << "// ---- memory plan: " << plan_.ranges.size() << " live ranges of " << g_.buffers.size()
    << " buffers in one arena (" << plan_.unshared_bytes << " bytes without reuse) ----\n"
    << "constexpr size_t kArenaBytes = " << plan_.arena_bytes << ";\n"
    << "constexpr size_t kActsBytes = " << acts_bytes_ << ";  // quantized matmul inputs\n"
    << "constexpr size_t kLogits = " << logits_off << ";  // arena offset of the logits\n\n"
    << "// ---- weights.bin ----\n"
    << "constexpr uint64_t kFingerprint = " << hex64(fp) << ";\n"
    << "constexpr fc::TensorSlot kTensors[] = {\n";
  for (size_t j = 0; j < layout_.tensors.size(); ++j) {
    const model::WeightRef& w = *layout_.tensors[j];
    c << "    {" << layout_.slots[j].offset << ", " << layout_.slots[j].bytes << "},  // " << j << ": " << w.name << " "
      << ggml_type_info(w.type).name << " [" << w.rows << " x " << w.cols << "]" << (layout_.packed[j] ? " rows8" : "")
      << "\n";
  }
  c << "};\n\n"
    << "struct FreeAligned {\n  void operator()(uint8_t* p) const { ::operator delete[](p, std::align_val_t{64}); }\n};\n"
    << "using Arena = std::unique_ptr<uint8_t[], FreeAligned>;\n"
    << "Arena make_arena(size_t bytes) { return Arena(new (std::align_val_t{64}) uint8_t[bytes]()); }\n\n"
    << "class Model final : public forge::model::Forward {\n public:\n"
    << "  Model(fc::WeightsFile weights, int threads)\n"
    << "      : weights_(std::move(weights)),\n"
    << "        pool_(threads > 0 ? threads : fc::ThreadPool::default_threads()),\n"
    << "        arena_(make_arena(kArenaBytes)),\n        acts_(make_arena(kActsBytes)),\n"
    << "        k_cache_(static_cast<size_t>(kLayers) * kMaxContext * kHeadsKv * kHeadDim),\n"
    << "        v_cache_(static_cast<size_t>(kLayers) * kMaxContext * kHeadsKv * kHeadDimV) {\n"
    << "    info_ = {\"" << s_.arch << "\", kName, kVocab, kMaxContext, kLayers, kWeightBytesPerToken};\n"
    << "    for (int l = 0; l < kLayers; ++l) {\n"
    << "      inv_freq_.push_back(fc::rope_inv_freq(kRopeDims, kRopeBase[l], "
    << (s_.rope_freq_factors.empty() ? "nullptr" : "kRopeFactors") << "));\n    }\n  }\n\n"
    << "  const forge::model::ModelInfo& info() const override { return info_; }\n"
    << "  std::span<const float> prefill(std::span<const int32_t> tokens, int pos, Logits logits = Logits::kLast,\n"
    << "                                 int seq = 0) override;\n"
    << "  void truncate(int pos, int seq = 0) override {\n    check_seq(seq);\n"
    << "    filled_ = std::clamp(pos, 0, filled_);\n  }\n\n private:\n"
    << "  static void check_seq(int seq) {\n"
    << "    if (seq != 0) throw std::out_of_range(\"sequence \" + std::to_string(seq) + \" does not exist (this program holds one)\");\n  }\n"
    << "  void step(const int32_t* tokens, int n, int pos, Logits logits);\n"
    << "  float* A(size_t offset) { return reinterpret_cast<float*>(arena_.get() + offset); }\n"
    << "  const uint8_t* W(int i) const { return weights_.data() + kTensors[i].offset; }\n"
    << "  const float* Wf(int i) const { return reinterpret_cast<const float*>(W(i)); }\n"
    << "  uint16_t* k_cache(int l) { return k_cache_.data() + static_cast<size_t>(l) * kMaxContext * kHeadsKv * kHeadDim; }\n"
    << "  uint16_t* v_cache(int l) { return v_cache_.data() + static_cast<size_t>(l) * kMaxContext * kHeadsKv * kHeadDimV; }\n\n"
    << "  fc::WeightsFile weights_;\n  fc::ThreadPool pool_;\n  forge::model::ModelInfo info_;\n"
    << "  Arena arena_, acts_;\n  std::vector<uint16_t> k_cache_, v_cache_;  // F16, [layer][position][kv head][dim]\n"
    << "  std::vector<std::vector<float>> inv_freq_;\n  std::vector<float> all_logits_;\n"
    << "  int filled_ = 0;  // cache positions holding valid entries\n};\n\n"
    << "std::span<const float> Model::prefill(std::span<const int32_t> tokens, int pos, Logits logits, int seq) {\n"
    << "  check_seq(seq);\n"
    << "  if (tokens.empty()) throw std::invalid_argument(\"prefill: no tokens\");\n"
    << "  if (pos < 0 || pos > filled_) {\n"
    << "    throw std::out_of_range(\"prefill at position \" + std::to_string(pos) + \" but the cache holds \" +\n"
    << "                            std::to_string(filled_) + \" positions\");\n  }\n"
    << "  if (pos + static_cast<int64_t>(tokens.size()) > kMaxContext) {\n"
    << "    throw std::out_of_range(\"context full: \" + std::to_string(pos + tokens.size()) +\n"
    << "                            \" positions needed, the context holds \" + std::to_string(kMaxContext) +\n"
    << "                            \" (compiled with --max-context \" + std::to_string(kMaxContext) + \")\");\n  }\n"
    << "  for (int32_t t : tokens) {\n"
    << "    if (t < 0 || t >= kVocab) {\n"
    << "      throw std::out_of_range(\"token id \" + std::to_string(t) + \" is outside the vocabulary (0..\" +\n"
    << "                              std::to_string(kVocab - 1) + \")\");\n    }\n  }\n"
    << "  if (logits == Logits::kAll) all_logits_.resize(tokens.size() * kVocab);\n"
    << "  for (size_t done = 0; done < tokens.size();) {\n"
    << "    const size_t n = std::min<size_t>(kMaxBatch, tokens.size() - done);\n"
    << "    const bool last = done + n == tokens.size();\n"
    << "    const Logits want = logits == Logits::kAll ? Logits::kAll : (last ? logits : Logits::kNone);\n"
    << "    step(tokens.data() + done, static_cast<int>(n), pos + static_cast<int>(done), want);\n"
    << "    if (want == Logits::kAll) std::memcpy(all_logits_.data() + done * kVocab, A(kLogits), n * kVocab * sizeof(float));\n"
    << "    done += n;\n  }\n"
    << "  filled_ = pos + static_cast<int>(tokens.size());\n"
    << "  if (logits == Logits::kAll) return all_logits_;\n"
    << "  if (logits == Logits::kLast) return {A(kLogits), static_cast<size_t>(kVocab)};\n"
    << "  return {};\n}\n\n"
    << "// One step of n <= kMaxBatch tokens at positions pos, pos + 1, ...\n"
    << "void Model::step(const int32_t* tokens, int n, int pos, Logits logits) {\n"
    << body_.str() << "}\n\n}  // namespace\n\n"
    << "std::unique_ptr<forge::model::Forward> make_model(const std::string& weights_path, int threads) {\n"
    << "  return std::make_unique<Model>(fc::WeightsFile::open(weights_path, kFingerprint, kTensors), threads);\n}\n\n"
    << "}  // namespace forge_generated\n";
  return c.str();
}

std::string Emitter::model_h() const {
  std::ostringstream h;
  h << "// Generated by `forge compile` from " << o_.source_name << ". Do not edit.\n"
    << "// " << s_.name << " (" << s_.arch << "): " << s_.n_layers << " layers, " << s_.n_embd << " wide, vocabulary "
    << s_.n_vocab << ", context " << o_.max_context << ".\n"
    << "#pragma once\n\n#include <memory>\n#include <string>\n\n"
    << "#include \"codegen/cpu/runtime/compiled_main.h\"\n#include \"model/forward.h\"\n\n"
    << "namespace forge_generated {\n\n"
    << "inline constexpr char kName[] = \"" << escaped(s_.name.empty() ? s_.arch : s_.name) << "\";\n"
    << "inline constexpr forge::compiled::CompiledModelInfo kInfo = {kName, \"" << escaped(o_.source_name) << "\", "
    << o_.max_context << ", " << o_.threads << "};\n\n"
    << "// Maps weights.bin (throws forge::compiled::WeightsError if it is not this model's).\n"
    << "std::unique_ptr<forge::model::Forward> make_model(const std::string& weights_path, int threads);\n\n"
    << "}  // namespace forge_generated\n";
  return h.str();
}

// The -march of an AArch64 --cpu: plain NEON runs on every AArch64 core; the
// dotprod form uses SDOT (ARMv8.2+: Cortex-A76/Neoverse N1 and later, Apple M).
std::string aarch64_march(const std::string& cpu) {
  if (cpu == "aarch64") return "armv8-a";
  if (cpu == "aarch64+dotprod") return "armv8.2-a+dotprod";
  return "";
}

std::string march_flag(const std::string& cpu) {
  if (cpu == "x86-64-v3") return "-march=x86-64-v3";
  if (cpu == "x86-64-v4") return "-march=x86-64-v4";
  if (cpu == "native") {
    if (!kernels::cpu::isa_available(kernels::cpu::Isa::kAvx2) && !kernels::cpu::isa_available(kernels::cpu::Isa::kNeon)) {
      throw CodegenError("--cpu native: this CPU has neither AVX2 nor NEON, and the CPU codegen needs one of them");
    }
    return "-march=native";
  }
  if (!aarch64_march(cpu).empty()) return "";  // the cross toolchain file sets it (FORGE_AARCH64_CPU)
  throw CodegenError("--cpu " + cpu + ": expected native, x86-64-v3, x86-64-v4, aarch64 or aarch64+dotprod");
}

// Where the AArch64 builds of the tokenizer's libraries are: $FORGE_AARCH64_DEPS,
// else the prefix tests/aarch64/unpack_arm64_deps.sh fills by default, else
// (empty) Debian's multiarch packages under /usr.
std::string aarch64_deps() {
  if (const char* env = std::getenv("FORGE_AARCH64_DEPS"); env && *env) return env;
  if (fs::exists("/opt/forge-aarch64-deps/.complete")) return "/opt/forge-aarch64-deps";
  return "";
}

// The head of a generated CMakeLists.txt that cross-compiles for AArch64: the
// toolchain (before project()), then Forge's libraries built for that CPU once
// into <Forge build>/cross/ and shared by every program compiled for it.
std::string cross_prologue(const CpuOptions& o) {
  std::ostringstream c;
  c << "# Cross-compiled for AArch64 (--cpu " << o.cpu << ") with Debian's g++-aarch64-linux-gnu, statically\n"
    << "# linked: run it on an AArch64 Linux machine, or here with qemu-aarch64 ./model.\n"
    << "set(FORGE_AARCH64_CPU \"" << aarch64_march(o.cpu) << "\" CACHE STRING \"-march of this build\")\n"
    << "set(FORGE_AARCH64_DEPS \"" << aarch64_deps() << "\" CACHE PATH \"arm64 pcre2/utf8proc/zlib (empty: multiarch)\")\n"
    << "set(CMAKE_TOOLCHAIN_FILE \"${FORGE_SOURCE_DIR}/cmake/aarch64-toolchain.cmake\")\n";
  return c.str();
}

std::string cross_libraries() {
  // flock: programs compiled at the same time (parallel tests) share the folder.
  return R"(# Forge's libraries for this CPU: built on first use (minutes), then only brought up to date.
set(FORGE_CROSS_DIR "${FORGE_BUILD_DIR}/cross/aarch64-${FORGE_AARCH64_CPU}")
file(MAKE_DIRECTORY "${FORGE_BUILD_DIR}/cross")
foreach(step configure build)
  if(step STREQUAL "configure")
    set(forge_cross_cmd ${CMAKE_COMMAND} -S ${FORGE_SOURCE_DIR}/src/codegen/cpu/cross -B ${FORGE_CROSS_DIR} -G Ninja
        -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O2 -DCMAKE_TOOLCHAIN_FILE=${CMAKE_TOOLCHAIN_FILE}
        -DFORGE_AARCH64_CPU=${FORGE_AARCH64_CPU} -DFORGE_AARCH64_DEPS=${FORGE_AARCH64_DEPS})
  else()
    set(forge_cross_cmd ${CMAKE_COMMAND} --build ${FORGE_CROSS_DIR} -j2)
  endif()
  execute_process(COMMAND flock ${FORGE_CROSS_DIR}.lock ${forge_cross_cmd}
                  RESULT_VARIABLE forge_cross_rc OUTPUT_VARIABLE forge_cross_log ERROR_VARIABLE forge_cross_log)
  if(NOT forge_cross_rc EQUAL 0)
    message(FATAL_ERROR "Forge's libraries for AArch64 (${FORGE_CROSS_DIR}): ${step} failed:\n${forge_cross_log}")
  endif()
endforeach()
include(${FORGE_CROSS_DIR}/forge_libraries.cmake)  # FORGE_LIBRARIES, FORGE_EXTRA_INCLUDES
)";
}

std::string cmake_lists(const CpuOptions& o, const std::string& name) {
  const bool cross = !aarch64_march(o.cpu).empty();
  std::ostringstream c;
  c << "# Generated by `forge compile` for " << name << ": builds ./model against Forge's own\n"
    << "# sources (headers, kernel templates) and the libraries of the Forge build that\n"
    << "# compiled it (runtime, tokenizer, sampler: the same code as `forge`).\n"
    << "cmake_minimum_required(VERSION 3.25)\n"
    << "set(FORGE_SOURCE_DIR \"" << FORGE_SOURCE_DIR_PATH << "\" CACHE PATH \"Forge source tree\")\n"
    << "set(FORGE_BUILD_DIR \"" << FORGE_BUILD_DIR_PATH << "\" CACHE PATH \"Forge build tree\")\n";
  if (cross) c << cross_prologue(o);
  c << "project(forge_model LANGUAGES CXX)\n\n"
    << "set(CMAKE_CXX_STANDARD 20)\nset(CMAKE_CXX_STANDARD_REQUIRED ON)\nset(CMAKE_CXX_EXTENSIONS OFF)\n"
    << "if(NOT CMAKE_BUILD_TYPE)\n  set(CMAKE_BUILD_TYPE Release)\nendif()\n"
    << "set(CMAKE_CXX_FLAGS_RELEASE \"" << o.opt_level << " -DNDEBUG\")\n\n";
  if (cross) {
    c << cross_libraries();
  } else {
    c << "include(${FORGE_BUILD_DIR}/forge_libraries.cmake)  # FORGE_LIBRARIES, written by Forge's build\n";
  }
  c << "find_package(PkgConfig REQUIRED)\n"
    << "pkg_check_modules(FORGE_DEPS REQUIRED IMPORTED_TARGET libpcre2-8 libutf8proc zlib"
    << (cross ? "" : " cpp-httplib") << ")  # cpp-httplib: --serve\n"
    << "find_package(Threads REQUIRED)\n\n"
    << "add_executable(model main.cpp model.cpp)\n"
    << "target_include_directories(model PRIVATE ${FORGE_SOURCE_DIR}/src" << (cross ? " ${FORGE_EXTRA_INCLUDES}" : "")
    << ")\n"
    << "# -ffp-contract=off: the same float rounding as the interpreter (no fused multiply-adds).\n"
    << "target_compile_options(model PRIVATE -Wall -Wextra " << (cross ? "" : march_flag(o.cpu) + " ")
    << "-ffp-contract=off)\n"
    << "target_link_libraries(model PRIVATE -Wl,--start-group ${FORGE_LIBRARIES} -Wl,--end-group PkgConfig::FORGE_DEPS\n"
    << "                      Threads::Threads)\n"
    << "# Forge's libraries are built with one section per function: keep only what the program calls.\n"
    << "target_link_options(model PRIVATE -Wl,--gc-sections)\n"
    << "set_target_properties(model PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})\n";
  return c.str();
}

}  // namespace

void emit_cpu_project(const Graph& g, const CpuOptions& o) {
  if (o.max_context < 1) throw CodegenError("--max-context must be at least 1");
  if (o.max_batch < 1) throw CodegenError("--max-batch must be at least 1");
  const std::string arch_flag = march_flag(o.cpu);  // refuse an unknown CPU before writing anything
  (void)arch_flag;
  Emitter e(g, o);
  const std::string model_cpp = e.model_cpp();
  fs::create_directories(o.out_dir);
  const fs::path dir(o.out_dir);
  write_file(dir / "model.cpp", model_cpp);
  write_file(dir / "model.h", e.model_h());
  write_file(dir / "main.cpp",
             "// Generated by `forge compile`: the program's command line is Forge's\n"
             "// (src/codegen/cpu/runtime/compiled_main.cpp), over this model.\n"
             "#include \"model.h\"\n\n"
             "int main(int argc, char** argv) {\n"
             "  return forge::compiled::compiled_main(argc, argv, forge_generated::kInfo, forge_generated::make_model);\n"
             "}\n");
  write_file(dir / "CMakeLists.txt", cmake_lists(o, g.spec->name));
}

void build_cpu_project(const std::string& out_dir) {
  const fs::path dir = fs::absolute(out_dir);
  const fs::path log = dir / "build.log";
  auto q = [](const fs::path& p) {
    std::string s = "'";  // appended, not "'" + ...: GCC 12 warns falsely (-Wrestrict) on that form
    s += p.string();
    s += '\'';
    return s;
  };
  const std::string cmd = "cmake -S " + q(dir) + " -B " + q(dir / "build") + " -G Ninja -DCMAKE_BUILD_TYPE=Release > " +
                          q(log) + " 2>&1 && cmake --build " + q(dir / "build") + " -j2 >> " + q(log) + " 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.size() > 3000) text = "..." + text.substr(text.size() - 3000);
    throw CodegenError("building " + dir.string() + " failed:\n" + text);
  }
}

}  // namespace forge::codegen::cpu
