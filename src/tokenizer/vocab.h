// The token table shared by every part of a tokenizer: text, score and type
// of each id, and the reverse map.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace forge {

// Token types as GGUF numbers them (llama_token_type).
enum class TokenType : int32_t {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
};

std::string_view token_type_name(TokenType t);

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct Vocab {
  std::vector<std::string> tokens;
  std::vector<float> scores;      // empty when the vocabulary has none
  std::vector<TokenType> types;   // same size as tokens
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> ids;

  int32_t size() const { return static_cast<int32_t>(tokens.size()); }
  int32_t find(std::string_view text) const {
    auto it = ids.find(text);
    return it == ids.end() ? -1 : it->second;
  }
  float score(int32_t id) const { return scores.empty() ? 0.0f : scores[static_cast<size_t>(id)]; }
};

// "<0x41>" -> 0x41; -1 if `text` is not exactly a byte token's text.
int parse_byte_token(std::string_view text);
std::string byte_token_text(uint8_t b);  // "<0x0A>"

}  // namespace forge
