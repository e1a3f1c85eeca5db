// Small helpers shared by the two LoRA readers: name parsing and the shape
// checks every A/B pair gets.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "format/lora_adapter.h"

namespace forge::lora_detail {

inline bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

// "model.layers.3.self_attn.q_proj" -> "q_proj".
inline std::string last_component(std::string_view path) {
  auto dot = path.rfind('.');
  return std::string(dot == std::string_view::npos ? path : path.substr(dot + 1));
}

// The N of "<marker>N." in `path` ("layers.", "blk."), or -1.
int layer_index(std::string_view path, std::string_view marker);

// A is [rank, in] and B is [out, rank]; `rank`, when known (PEFT's r), must
// match both. Throws FormatError naming the file and both tensors.
void check_pair_shapes(const std::string& file, const LoraPair& p, std::optional<int64_t> rank);

}  // namespace forge::lora_detail
