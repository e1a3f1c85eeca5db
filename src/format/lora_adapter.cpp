#include "format/lora_adapter.h"

#include <array>
#include <filesystem>
#include <system_error>

#include "format/gguf_file.h"
#include "format/lora_adapter_names.h"
#include "format/safetensors_file.h"

namespace forge {
namespace {

// Linear layers of the architectures the model layer maps (llama, mistral,
// qwen2, phi3's fused qkv_proj / gate_up_proj, gemma*, stablelm) and the
// output projection.
constexpr std::array<std::string_view, 10> kHfModules{"q_proj",    "k_proj",  "v_proj",    "o_proj",       "qkv_proj",
                                                      "gate_proj", "up_proj", "down_proj", "gate_up_proj", "lm_head"};
// The same layers as llama.cpp names their GGUF tensors.
constexpr std::array<std::string_view, 9> kGgufModules{"attn_q",   "attn_k", "attn_v",   "attn_output", "attn_qkv",
                                                       "ffn_gate", "ffn_up", "ffn_down", "output"};

template <size_t N>
std::string join(const std::array<std::string_view, N>& names) {
  std::string s;
  for (auto n : names) s += (s.empty() ? "" : ", ") + std::string(n);
  return s;
}

template <size_t N>
bool contains(const std::array<std::string_view, N>& names, std::string_view n) {
  for (auto k : names) {
    if (k == n) return true;
  }
  return false;
}

}  // namespace

bool is_known_hf_lora_module(std::string_view module) {
  return contains(kHfModules, module);
}
bool is_known_gguf_lora_module(std::string_view module) {
  return contains(kGgufModules, module);
}
std::string known_hf_lora_modules() {
  return join(kHfModules);
}
std::string known_gguf_lora_modules() {
  return join(kGgufModules);
}

LoraAdapter LoraAdapter::open(const std::string& path) {
  std::error_code ec;
  namespace fs = std::filesystem;
  if (fs::is_directory(path, ec)) return open_peft(path);
  if (fs::path(path).filename() == "adapter_config.json") return open_peft(fs::path(path).parent_path().string());
  if (fs::path(path).extension() == ".gguf") return open_gguf(path);
  throw FormatError(path + ": not a LoRA adapter (expected a PEFT folder with adapter_config.json, or a .gguf file)");
}

LoraAdapter::LoraAdapter(LoraAdapter&&) noexcept = default;
LoraAdapter& LoraAdapter::operator=(LoraAdapter&&) noexcept = default;
LoraAdapter::~LoraAdapter() = default;

const LoraPair* LoraAdapter::find(std::string_view target) const {
  for (const auto& p : pairs_) {
    if (p.target == target) return &p;
  }
  return nullptr;
}

}  // namespace forge

namespace forge::lora_detail {

int layer_index(std::string_view path, std::string_view marker) {
  for (size_t at = path.find(marker); at != std::string_view::npos; at = path.find(marker, at + 1)) {
    if (at != 0 && path[at - 1] != '.') continue;  // "xlayers." is not "layers."
    size_t i = at + marker.size();
    int n = 0, digits = 0;
    while (i < path.size() && path[i] >= '0' && path[i] <= '9' && digits < 9) n = n * 10 + (path[i++] - '0'), ++digits;
    if (digits > 0 && i < path.size() && path[i] == '.') return n;
  }
  return -1;
}

void check_pair_shapes(const std::string& file, const LoraPair& p, std::optional<int64_t> rank) {
  auto shape = [](const LoraMatrix& m) {
    std::string s = "[";  // built by appending: GCC 12 warns falsely (-Wrestrict) on "[" + std::string
    s += std::to_string(m.rows);
    s += ", ";
    s += std::to_string(m.cols);
    return s + "]";
  };
  const std::string both = "A '" + p.a.name + "' " + shape(p.a) + " and B '" + p.b.name + "' " + shape(p.b);
  if (p.a.rows != p.b.cols) {
    throw FormatError(file + ": " + both + " disagree on the rank (A must be [rank, in], B [out, rank])");
  }
  if (rank && p.a.rows != *rank) {
    throw FormatError(file + ": " + both + " have rank " + std::to_string(p.a.rows) + ", but r is " +
                      std::to_string(*rank));
  }
  if (p.a.rows <= 0 || p.a.cols <= 0 || p.b.rows <= 0) {
    throw FormatError(file + ": " + both + " have an empty dimension");
  }
}

}  // namespace forge::lora_detail
