// GGUF LoRA adapters as llama.cpp's convert_lora_to_gguf.py writes them.
#include <algorithm>
#include <map>

#include "format/gguf_file.h"
#include "format/lora_adapter.h"
#include "format/lora_adapter_names.h"

namespace forge {

class GgufAdapterReader {
 public:
  static LoraAdapter read(const std::string& path);

 private:
  static LoraMatrix matrix(const GgufFile& f, const GgufTensorInfo& t);
};

namespace {

using namespace lora_detail;

constexpr std::string_view kSuffixA = ".lora_a";
constexpr std::string_view kSuffixB = ".lora_b";

}  // namespace

LoraMatrix GgufAdapterReader::matrix(const GgufFile& f, const GgufTensorInfo& t) {
  const GgmlTypeInfo& info = ggml_type_info(t.type);
  if (!info.computable) {
    throw FormatError(f.path() + ": tensor '" + t.name + "' has type " + std::string(info.name) +
                      ", which Forge cannot compute with");
  }
  if (t.dims.size() != 2) {
    throw FormatError(f.path() + ": tensor '" + t.name + "' has shape " + t.shape_string() + ", expected 2 dimensions");
  }
  // GGML order is innermost first: dims [cols, rows].
  return LoraMatrix{t.name, t.type, t.dims[1], t.dims[0], t.data};
}

LoraAdapter GgufAdapterReader::read(const std::string& path) {
  LoraAdapter a;
  a.format_ = LoraFormat::Gguf;
  a.path_ = path;
  a.gguf_ = std::make_unique<GgufFile>(GgufFile::open(path));
  const GgufFile& f = *a.gguf_;

  const auto general_type = f.get_optional<std::string>("general.type");
  if (general_type != "adapter") {
    throw FormatError(path + ": not an adapter (general.type is " +
                      (general_type ? "'" + *general_type + "'" : std::string("missing")) + ", expected 'adapter')");
  }
  const auto adapter_type = f.get<std::string>("adapter.type");
  if (adapter_type != "lora") {
    throw FormatError(path + ": adapter.type is '" + adapter_type + "', only 'lora' is supported");
  }
  a.alpha_ = f.get_or<float>("adapter.lora.alpha", 0.0f);
  a.base_model_ = f.get_or<std::string>("general.architecture", "");

  std::vector<std::string> order;
  std::map<std::string, std::pair<const GgufTensorInfo*, const GgufTensorInfo*>> found;
  for (const auto& t : f.tensors()) {
    std::string_view n = t.name;
    const bool is_a = ends_with(n, kSuffixA), is_b = ends_with(n, kSuffixB);
    if (!is_a && !is_b) {
      throw FormatError(path + ": tensor '" + t.name +
                        "' is not a LoRA matrix (expected names ending in .lora_a or .lora_b)");
    }
    n.remove_suffix(kSuffixA.size());
    auto [it, added] = found.try_emplace(std::string(n));
    if (added) order.push_back(it->first);
    (is_a ? it->second.first : it->second.second) = &t;
  }
  if (order.empty()) throw FormatError(path + ": holds no LoRA tensors");

  for (const auto& target : order) {
    const auto [ta, tb] = found[target];
    if (!ta || !tb) {
      const GgufTensorInfo* have = ta ? ta : tb;
      throw FormatError(path + ": tensor '" + have->name + "' has no partner '" + target +
                        std::string(ta ? kSuffixB : kSuffixA) + "'");
    }
    LoraPair p;
    p.target = target;
    // "blk.0.attn_q.weight" -> "attn_q"; "output.weight" -> "output".
    std::string_view stem = target;
    if (ends_with(stem, ".weight")) stem.remove_suffix(7);
    p.module = last_component(stem);
    p.layer = layer_index(target, "blk.");
    if (!is_known_gguf_lora_module(p.module)) {
      throw FormatError(path + ": tensor '" + ta->name + "' adapts module '" + p.module +
                        "', which Forge cannot adapt (known: " + known_gguf_lora_modules() + ")");
    }
    p.a = matrix(f, *ta);
    p.b = matrix(f, *tb);
    check_pair_shapes(path, p, std::nullopt);
    p.rank = p.a.rows;
    p.scale = a.alpha_ != 0 ? a.alpha_ / static_cast<double>(p.rank) : 1.0;
    if (std::find(a.target_modules_.begin(), a.target_modules_.end(), p.module) == a.target_modules_.end()) {
      a.target_modules_.push_back(p.module);
    }
    a.pairs_.push_back(std::move(p));
  }
  a.rank_ = a.pairs_.front().rank;
  for (const auto& p : a.pairs_) {
    if (p.rank != *a.rank_) a.rank_.reset();
  }
  return a;
}

LoraAdapter LoraAdapter::open_gguf(const std::string& path) {
  return GgufAdapterReader::read(path);
}

}  // namespace forge
