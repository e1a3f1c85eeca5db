// Internal: the code that assembles a Tokenizer from a GGUF or a
// tokenizer.json (the only code allowed to touch its insides).
#pragma once

#include <string>
#include <string_view>

#include "tokenizer/tokenizer.h"

namespace forge {

class TokenizerBuilder {
 public:
  static Tokenizer from_gguf(const GgufFile& file);
  static Tokenizer from_hf_json(std::string_view tokenizer_json, std::string_view config_json, const std::string& name);
};

// llama.cpp's pre-tokenizer regex lists by tokenizer.ggml.pre name; empty
// when the name is not one we support.
struct GgufPreset {
  std::vector<std::string> regexes;
  bool ignore_merges = false;
  bool add_bos = false;
};
bool gguf_pre_preset(std::string_view pre, GgufPreset& out);
std::vector<std::string> supported_gguf_pre_tokenizers();

}  // namespace forge
