// --override-kv KEY=TYPE:VALUE, as llama.cpp users know it: TYPE is int,
// float, bool or str ("llama.attention.sliding_window=int:8").
#pragma once

#include <span>
#include <string>

#include "model/gguf_binder.h"

namespace forge::model {

// Throws ModelError naming the argument when it is malformed.
std::pair<std::string, GgufValue> parse_override_kv(const std::string& arg);
MetadataOverrides parse_overrides(std::span<const std::string> args);

}  // namespace forge::model
