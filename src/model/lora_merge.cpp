#include "model/lora_merge.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "model/model_error.h"
#include "quant/quant.h"

namespace forge::model {
namespace {

// One linear layer in both spellings: HF "model.layers.N.<hf_path>.weight",
// GGUF "blk.N.<gguf>.weight".
struct ModuleName {
  std::string_view hf_path, gguf;
};
constexpr std::array kModules = {
    ModuleName{"self_attn.q_proj", "attn_q"},     ModuleName{"self_attn.k_proj", "attn_k"},
    ModuleName{"self_attn.v_proj", "attn_v"},     ModuleName{"self_attn.o_proj", "attn_output"},
    ModuleName{"self_attn.qkv_proj", "attn_qkv"}, ModuleName{"mlp.gate_proj", "ffn_gate"},
    ModuleName{"mlp.up_proj", "ffn_up"},          ModuleName{"mlp.down_proj", "ffn_down"},
    ModuleName{"mlp.gate_up_proj", "ffn_up"},
};

bool spec_uses_hf_names(const ModelSpec& s) {
  return s.tok_embd.name.starts_with("model.");
}

// The adapter's target in the base's spelling; empty when it has none.
std::string base_name(const LoraPair& p, bool base_hf, bool adapter_hf) {
  if (base_hf == adapter_hf) return p.target;
  if (p.layer < 0) {
    if (p.module == "lm_head" || p.module == "output") return base_hf ? "lm_head.weight" : "output.weight";
    return {};
  }
  // Built by appending: GCC 12 warns (-Wrestrict, a false positive) on
  // "literal" + std::string here.
  const std::string n = std::to_string(p.layer);
  for (const auto& m : kModules) {
    std::string hf_tail = ".";
    hf_tail.append(m.hf_path).append(".weight");
    std::string out;
    if (adapter_hf && p.target.ends_with(hf_tail)) {
      out.append("blk.").append(n).append(".").append(m.gguf).append(".weight");
      return out;
    }
    if (!adapter_hf && p.module == m.gguf) {
      out.append("model.layers.").append(n).append(hf_tail);
      return out;
    }
  }
  return {};
}

std::vector<float> to_floats(const LoraMatrix& m) {
  std::vector<float> out(static_cast<size_t>(m.rows * m.cols));
  const size_t row_bytes = quant::row_size(m.type, m.cols);
  for (int64_t r = 0; r < m.rows; ++r)
    quant::dequantize_row(m.type, m.data.data() + r * row_bytes, &out[r * m.cols], m.cols);
  return out;
}

// Every WeightRef of the spec that views rows of tensor `name` (the tensor
// itself, or the row views of a fused one: "name[q]", "name[k]", ...).
std::vector<WeightRef*> views_of(ModelSpec& s, const std::string& name) {
  std::vector<WeightRef*> all = {&s.output};
  for (auto& l : s.layers) {
    for (WeightRef* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) all.push_back(w);
  }
  std::vector<WeightRef*> out;
  for (WeightRef* w : all) {
    if (w->present() && (w->name == name || w->name.starts_with(name + "["))) out.push_back(w);
  }
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->data < b->data; });
  return out;
}

}  // namespace

LoraMergeReport merge_lora(ModelSpec& s, const LoraAdapter& adapter, double user_scale) {
  auto fail = [&](const std::string& what) -> ModelError { return ModelError(adapter.path() + ": " + what); };
  const bool base_hf = spec_uses_hf_names(s);
  const bool adapter_hf = adapter.format() == LoraFormat::Peft;
  // llama GGUFs hold Q/K rows permuted for adjacent-pair RoPE; an adapter from
  // the other form has B rows in the other order.
  const bool permute_qk =
      base_hf != adapter_hf && (adapter_hf ? s.rope_style == RopeStyle::kAdjacent : adapter.base_model() == "llama");
  LoraMergeReport report;
  for (const LoraPair& p : adapter.pairs()) {
    const std::string target = base_name(p, base_hf, adapter_hf);
    std::vector<WeightRef*> views = target.empty() ? std::vector<WeightRef*>{} : views_of(s, target);
    if (views.empty()) {
      throw fail("'" + p.target + "' (module '" + p.module + "') is not a weight of this " + s.arch +
                 " model: the adapter was made for another model or targets a module Forge does not adapt");
    }
    const WeightRef& first = *views.front();
    int64_t rows = 0;
    for (const WeightRef* v : views) {
      if (v->data != first.data + rows * first.row_bytes || v->type != first.type) {
        throw fail("'" + target + "' is not one contiguous tensor");
      }
      rows += v->rows;
    }
    const int64_t cols = first.cols;
    if (p.a.cols != cols || p.b.rows != rows || p.a.rows != p.b.cols) {
      throw fail("'" + p.a.name + "' / '" + p.b.name + "' are [" + std::to_string(p.a.rows) + ", " +
                 std::to_string(p.a.cols) + "] / [" + std::to_string(p.b.rows) + ", " + std::to_string(p.b.cols) +
                 "] but '" + target + "' is [" + std::to_string(rows) + ", " + std::to_string(cols) +
                 "]: the adapter was made for another model");
    }
    const int64_t rank = p.a.rows;
    const std::vector<float> a = to_floats(p.a);
    std::vector<float> b = to_floats(p.b);
    if (permute_qk && (p.module == "attn_q" || p.module == "attn_k" || p.module == "q_proj" || p.module == "k_proj")) {
      // GGUF row (h, i, j) is HF row (h, j, i), i < head_dim/2, j in {0, 1}
      // (convert_hf_to_gguf's permute for llama).
      const int hd = s.head_dim, half = hd / 2;
      std::vector<float> out(b.size());
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t h = r / hd, i = (r % hd) % half, j = (r % hd) / half;  // r as an HF row (h, j, i)
        const int64_t g = h * hd + 2 * i + j;                                // the same row in GGUF order
        const int64_t from = adapter_hf ? r : g, to = adapter_hf ? g : r;
        std::copy_n(&b[from * rank], rank, &out[to * rank]);
      }
      b = std::move(out);
    }
    const float scale = static_cast<float>(p.scale * user_scale);
    std::vector<uint8_t> merged(static_cast<size_t>(rows) * first.row_bytes);
    std::vector<float> row(cols);
    for (int64_t o = 0; o < rows; ++o) {
      quant::dequantize_row(first.type, first.data + o * first.row_bytes, row.data(), cols);
      for (int64_t r = 0; r < rank; ++r) {
        const float w = scale * b[o * rank + r];
        const float* ar = &a[r * cols];
        for (int64_t i = 0; i < cols; ++i) row[i] += w * ar[i];
      }
      quant::quantize_row(first.type, row.data(), merged.data() + o * first.row_bytes, cols);
    }
    s.owned.push_back(std::move(merged));
    const uint8_t* base = first.data;
    for (WeightRef* v : views) v->data = s.owned.back().data() + (v->data - base);
    ++report.tensors;
    if (first.type != GgmlType::F32 && first.type != GgmlType::F16 && first.type != GgmlType::BF16) {
      report.requantized.push_back(target + " (" + std::string(ggml_type_info(first.type).name) + ")");
    }
  }
  return report;
}

}  // namespace forge::model
