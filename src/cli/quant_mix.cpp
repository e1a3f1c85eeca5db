#include "cli/quant_mix.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace forge::cli {

namespace {

// llama.cpp's enum llama_ftype values and the base type of each.
constexpr QuantMix kMixes[] = {
    {"F32", 0, GgmlType::F32},      {"F16", 1, GgmlType::F16},       {"BF16", 32, GgmlType::BF16},
    {"Q4_0", 2, GgmlType::Q4_0},    {"Q4_1", 3, GgmlType::Q4_1},     {"Q5_0", 8, GgmlType::Q5_0},
    {"Q5_1", 9, GgmlType::Q5_1},    {"Q8_0", 7, GgmlType::Q8_0},     {"Q2_K", 10, GgmlType::Q2_K},
    {"Q3_K_S", 11, GgmlType::Q3_K}, {"Q3_K_M", 12, GgmlType::Q3_K},  {"Q3_K_L", 13, GgmlType::Q3_K},
    {"Q4_K_S", 14, GgmlType::Q4_K}, {"Q4_K_M", 15, GgmlType::Q4_K},  {"Q5_K_S", 16, GgmlType::Q5_K},
    {"Q5_K_M", 17, GgmlType::Q5_K}, {"Q6_K", 18, GgmlType::Q6_K},
};
// llama-quantize's aliases.
constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
    {"Q3_K", "Q3_K_M"}, {"Q4_K", "Q4_K_M"}, {"Q5_K", "Q5_K_M"}};

enum class Category { kTokenEmbd, kOutput, kAttnV, kAttnOutput, kFfnDown, kOther };

int64_t quant_block_size(GgmlType t) { return ggml_type_info(t).block_size; }

bool has(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

Category category_of(const std::string& name) {
  if (name == "output.weight") return Category::kOutput;
  if (name == "token_embd.weight") return Category::kTokenEmbd;
  // attn_qkv and attn_kv_b count as attn_v: the V rows live in them.
  if (has(name, "attn_qkv.weight") || has(name, "attn_kv_b.weight") || has(name, "attn_v.weight")) {
    return Category::kAttnV;
  }
  if (has(name, "attn_output.weight")) return Category::kAttnOutput;
  if (has(name, "ffn_down")) return Category::kFfnDown;
  return Category::kOther;
}

// ggml_n_dims: trailing dimensions of 1 do not count.
int n_dims(const std::vector<int64_t>& dims) {
  int n = static_cast<int>(dims.size());
  while (n > 1 && dims[n - 1] == 1) --n;
  return n;
}

// llama.cpp's `tensor_allows_quantization` for the tensors dense models have.
bool allows_quantization(const std::string& n, const std::vector<int64_t>& dims) {
  if (n_dims(dims) < 2) return false;
  if (n.size() < 6 || n.compare(n.size() - 6, 6, "weight") != 0) return false;
  for (std::string_view skip : {"_norm.weight", "ffn_gate_inp.weight", "position_embd.weight", "token_types.weight",
                                "ssm_conv1d", "attn_rel_b.weight"}) {
    if (has(n, skip)) return false;
  }
  return true;
}

// Layer index from "blk.N.", else `fallback` (llama.cpp counts tensors).
int layer_of(const std::string& name, int fallback) {
  int layer = -1;
  if (std::sscanf(name.c_str(), "blk.%d.", &layer) == 1 && layer >= 0) return layer;
  return fallback;
}

// llama.cpp: a few layers at both ends and every third in between get more bits.
bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

std::string upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u;
}

}  // namespace

std::optional<QuantMix> find_quant_mix(std::string_view name) {
  std::string u = upper(name);
  for (const auto& [alias, target] : kAliases) {
    if (u == alias) u = std::string(target);
  }
  for (const QuantMix& m : kMixes) {
    if (u == m.name) return m;
  }
  return std::nullopt;
}

std::string quant_mix_names() {
  std::string s;
  for (const QuantMix& m : kMixes) s += (s.empty() ? "" : ", ") + std::string(m.name);
  return s + " (Q3_K, Q4_K, Q5_K: the _M mixes)";
}

bool is_quantized_type(GgmlType t) {
  switch (t) {
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16:
    case GgmlType::F64:
    case GgmlType::I8:
    case GgmlType::I16:
    case GgmlType::I32:
    case GgmlType::I64:
      return false;
    default:
      return true;
  }
}

QuantPlanner::QuantPlanner(const QuantMix& mix, bool pure, int n_layer, int n_gqa,
                           const std::vector<std::string>& names)
    : mix_(mix), pure_(pure), n_layer_(n_layer), n_gqa_(n_gqa) {
  for (const auto& name : names) {
    const Category c = category_of(name);
    if (c == Category::kAttnV) ++n_attn_v_;
    if (c == Category::kOutput) tied_ = false;
  }
}

QuantPlanner QuantPlanner::for_file(const GgufFile& file, const QuantMix& mix, bool pure) {
  const std::string arch = file.get_or<std::string>("general.architecture", "");
  const int n_layer = static_cast<int>(file.get_or<uint32_t>(arch + ".block_count", 0));
  const int n_head = static_cast<int>(file.get_or<uint32_t>(arch + ".attention.head_count", 0));
  const int n_head_kv = static_cast<int>(file.get_or<uint32_t>(arch + ".attention.head_count_kv", n_head));
  std::vector<std::string> names;
  for (const auto& t : file.tensors()) names.push_back(t.name);
  return QuantPlanner(mix, pure, n_layer, (n_head > 0 && n_head_kv > 0) ? n_head / n_head_kv : 1, names);
}

GgmlType QuantPlanner::mix_rules(const std::string& name, const std::vector<int64_t>& dims, GgmlType type) {
  const std::string_view m = mix_.name;
  const Category c = category_of(name);
  if (c == Category::kOutput || (tied_ && c == Category::kTokenEmbd)) {
    // The output projection (or the embedding that doubles as it) is the
    // most sensitive matrix: Q6_K, or Q8_0 when the rows do not fit the type.
    if (dims[0] % quant_block_size(type) != 0) return GgmlType::Q8_0;
    return type == GgmlType::Q8_0 ? type : GgmlType::Q6_K;
  }
  if (c == Category::kAttnV) {
    const int i = layer_of(name, i_attn_v_++);
    if (m == "Q2_K") return n_gqa_ >= 4 ? GgmlType::Q4_K : GgmlType::Q3_K;
    if (m == "Q3_K_M") return i < 2 ? GgmlType::Q5_K : GgmlType::Q4_K;
    if (m == "Q3_K_L") return GgmlType::Q5_K;
    if ((m == "Q4_K_M" || m == "Q5_K_M") && use_more_bits(i, n_attn_v_)) return GgmlType::Q6_K;
    if (m == "Q4_K_S" && i < 4) return GgmlType::Q5_K;
    return type;
  }
  if (c == Category::kFfnDown) {
    const int i = layer_of(name, i_ffn_down_++);
    const int n = n_layer_;
    if (m == "Q2_K") return GgmlType::Q3_K;
    if (m == "Q3_K_M") return i < n / 16 ? GgmlType::Q5_K : GgmlType::Q4_K;
    if (m == "Q3_K_L") return GgmlType::Q5_K;
    if ((m == "Q4_K_M" || m == "Q5_K_M") && use_more_bits(i, n)) return GgmlType::Q6_K;
    if (m == "Q4_K_S" && i < n / 8) return GgmlType::Q5_K;
    return type;
  }
  if (c == Category::kAttnOutput) {
    if (m == "Q2_K") return GgmlType::Q3_K;
    if (m == "Q3_K_M") return GgmlType::Q4_K;
    if (m == "Q3_K_L") return GgmlType::Q5_K;
  }
  return type;
}

QuantPlanner::Choice QuantPlanner::choose(const GgufTensorInfo& t) { return choose(t.name, t.dims, t.type); }

QuantPlanner::Choice QuantPlanner::choose(const std::string& name, const std::vector<int64_t>& dims, GgmlType current) {
  if (!allows_quantization(name, dims)) return {current, false, {}};
  GgmlType type = mix_.base;
  if (!is_quantized_type(type)) return {type, true, {}};
  if (!pure_) type = mix_rules(name, dims, type);

  // Rows that do not split into whole blocks: llama.cpp's fallback table.
  const int64_t ncols = dims[0];
  std::string note;
  if (ncols % quant_block_size(type) != 0) {
    GgmlType fb = GgmlType::F16;
    switch (type) {
      case GgmlType::Q2_K:
      case GgmlType::Q3_K: fb = GgmlType::Q4_0; break;
      case GgmlType::Q4_K: fb = GgmlType::Q5_0; break;
      case GgmlType::Q5_K: fb = GgmlType::Q5_1; break;
      case GgmlType::Q6_K: fb = GgmlType::Q8_0; break;
      default: break;
    }
    if (ncols % quant_block_size(fb) != 0) fb = GgmlType::F16;  // not even a multiple of 32
    note = "rows of " + std::to_string(ncols) + " are not a multiple of " + std::to_string(quant_block_size(type)) +
           " (needed by " + std::string(ggml_type_info(type).name) + "): falling back to " +
           std::string(ggml_type_info(fb).name);
    type = fb;
  }
  return {type, true, note};
}

}  // namespace forge::cli
