// Added (special and user-defined) tokens and the matcher that finds them in
// text before normal tokenization: leftmost match, longest on ties, with the
// lstrip/rstrip/single_word rules of Hugging Face tokenizers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace forge {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;     // a control token: matched only when parsing specials
  bool lstrip = false;      // swallows whitespace on its left
  bool rstrip = false;      // swallows whitespace on its right
  bool normalized = false;  // matched in normalized text rather than raw text
  bool single_word = false; // matched only when not inside a word
};

struct AddedMatch {
  size_t begin, end;  // byte range in the text, including stripped whitespace
  int32_t id;
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  // `tokens` must outlive nothing: contents are copied.
  explicit AddedTokenMatcher(const std::vector<AddedToken>& tokens);
  bool empty() const { return tokens_.empty(); }
  // Matches in `text` (valid UTF-8), left to right, non-overlapping.
  std::vector<AddedMatch> find(std::string_view text, bool include_special) const;

 private:
  std::vector<AddedToken> tokens_;
  // Byte trie: (node << 8 | byte) -> child node; node 0 is the root.
  std::unordered_map<uint64_t, uint32_t> edges_;
  std::vector<int32_t> terminal_;  // per node: index into tokens_ or -1
};

}  // namespace forge
