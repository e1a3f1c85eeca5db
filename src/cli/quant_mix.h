// Which GGML type each tensor of a model gets when it is quantized to one of
// llama.cpp's file types ("mixes"): our own table of the rules llama.cpp's
// llama-quantize applies (src/llama-quant.cpp, `llama_tensor_get_type`), for
// dense models (no MoE, no Falcon, no 70B special case). The numbering of
// `general.file_type` is llama.cpp's `enum llama_ftype`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/ggml_types.h"
#include "format/gguf_file.h"

namespace forge::cli {

struct QuantMix {
  std::string_view name;  // "Q4_K_M"
  uint32_t file_type;     // llama_ftype
  GgmlType base;          // the type most tensors get
};

// A mix by the name users write (case-insensitive). "Q3_K", "Q4_K" and "Q5_K"
// mean the _M mixes, as they do for llama-quantize.
std::optional<QuantMix> find_quant_mix(std::string_view name);
// "F32, F16, BF16, Q4_0, ..." for error messages and --help.
std::string quant_mix_names();

// Whether a float or quantized type holds already-quantized values (anything
// but F32/F16/BF16/F64 and the integer types).
bool is_quantized_type(GgmlType t);

// The per-tensor decision of llama-quantize. Construct once per model (it
// counts tensors and reads head/layer counts), then ask tensor by tensor in
// file order.
class QuantPlanner {
 public:
  // `pure`: every quantizable matrix gets the mix's base type (llama-quantize
  // --pure), with only the row-length fallback.
  // `n_gqa`: query heads per KV head; `names`: every tensor of the model
  // (to count attn_v tensors and see whether output.weight exists).
  QuantPlanner(const QuantMix& mix, bool pure, int n_layer, int n_gqa, const std::vector<std::string>& names);
  // The same, with the counts read from a model file's metadata.
  static QuantPlanner for_file(const GgufFile& file, const QuantMix& mix, bool pure);

  struct Choice {
    GgmlType type;          // the output type (the input type if kept as is)
    bool quantizable;       // false: 1-D tensors, norms, biases, rope_freqs
    std::string fallback;   // non-empty: why the row length forced another type
  };
  Choice choose(const GgufTensorInfo& t);
  // For a tensor being made (synth): `current` is what it is kept as when it
  // is not a quantizable matrix.
  Choice choose(const std::string& name, const std::vector<int64_t>& dims, GgmlType current);

 private:
  GgmlType mix_rules(const std::string& name, const std::vector<int64_t>& dims, GgmlType type);

  QuantMix mix_;
  bool pure_;
  int n_layer_ = 0;
  int n_gqa_ = 1;
  int n_attn_v_ = 0;
  bool tied_ = true;
  int i_attn_v_ = 0;
  int i_ffn_down_ = 0;
};

}  // namespace forge::cli
