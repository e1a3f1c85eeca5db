#include "codegen/cpu/source_text.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "codegen/cpu/weights_export.h"

namespace forge::codegen::cpu {

std::string flt(float f) {
  char s[40];
  std::snprintf(s, sizeof s, "%.9g", static_cast<double>(f));
  std::string r = s;
  if (r == "inf" || r == "-inf") return r[0] == '-' ? "-INFINITY" : "INFINITY";
  if (r.find_first_of(".en") == std::string::npos) r += ".0";
  return r + "f";
}

std::string hex64(uint64_t v) {
  char s[24];
  std::snprintf(s, sizeof s, "0x%016llxull", static_cast<unsigned long long>(v));
  return s;
}

std::string escaped(const std::string& s) {
  std::string r;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') r += '\\';
    if (static_cast<unsigned char>(ch) >= 32) r += ch;
  }
  return r;
}

std::string model_constants(const model::ModelSpec& s) {
  std::ostringstream c;
  c << "constexpr int kLayers = " << s.n_layers << ";\n"
    << "constexpr int kEmbd = " << s.n_embd << ";\n"
    << "constexpr int kVocab = " << s.n_vocab << ";\n"
    << "constexpr int kHeads = " << s.n_head << ";\n"
    << "constexpr int kHeadsKv = " << s.n_head_kv << ";\n"
    << "constexpr int kHeadDim = " << s.head_dim << ";\n"
    << "constexpr int kHeadDimV = " << s.head_dim_v << ";\n"
    << "constexpr int kRopeDims = " << s.rope_dims << ";\n"
    << "constexpr bool kRopeAdjacent = " << (s.rope_style == model::RopeStyle::kAdjacent ? "true" : "false")
    << ";  // GGML normal mode; false: neox (half split)\n"
    << "constexpr float kRopeScale = " << flt(s.rope_scale) << ";\n"
    << "constexpr float kAttnScale = " << flt(s.attn_scale) << ";\n"
    << "constexpr float kAttnSoftcap = " << flt(s.attn_softcap) << ";\n"
    << "constexpr double kRopeBase[kLayers] = {";
  for (int l = 0; l < s.n_layers; ++l) c << (l ? ", " : "") << flt(s.layers[l].rope_base);
  c << "};\n";
  if (!s.rope_freq_factors.empty()) {
    c << "constexpr float kRopeFactors[] = {";
    for (size_t j = 0; j < s.rope_freq_factors.size(); ++j) c << (j ? ", " : "") << flt(s.rope_freq_factors[j]);
    c << "};  // llama3 rope_freqs\n";
  }
  c << "constexpr uint64_t kWeightBytesPerToken = " << s.weight_bytes_per_token() << "ull;\n";
  return c.str();
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::trunc);
  if (!out || !(out << text) || !out.flush()) throw CodegenError(p.string() + ": cannot write");
}

int first_tail_op(const graph::Graph& g) {
  const int n_ops = static_cast<int>(g.ops.size());
  int first_tail = n_ops;
  for (int i = 0; i < n_ops; ++i) {
    if (g.ops[i].tail && first_tail == n_ops) first_tail = i;
    if (!g.ops[i].tail && first_tail < i) throw CodegenError("graph: a body op follows a tail op");
  }
  if (first_tail == n_ops) throw CodegenError("graph has no tail ops (nothing computes logits)");
  return first_tail;
}

std::string layer_of(const std::string& op_name) {
  const size_t dot = op_name.find('.', 4);
  return op_name.rfind("blk.", 0) == 0 && dot != std::string::npos ? op_name.substr(0, dot) : "";
}

}  // namespace forge::codegen::cpu
