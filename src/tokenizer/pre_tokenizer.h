// Pre-tokenizers: split normalized text into the pieces the subword model
// sees (Hugging Face tokenizers' pre-tokenizers; llama.cpp's per-model regex
// lists are expressed as a sequence of isolating Splits).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/regex.h"

namespace forge {

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

struct Piece {
  std::string text;
  bool at_start = false;  // begins at offset 0 of the original input
};

struct PreTokenizerStep {
  enum class Kind { Split, ByteLevel, Metaspace, Digits, Punctuation, Whitespace, WhitespaceSplit };
  enum class Prepend { Always, First, Never };
  explicit PreTokenizerStep(Kind k) : kind(k) {}
  Kind kind;
  std::shared_ptr<const Regex> regex;  // Split (regex), ByteLevel (when use_regex)
  std::string literal;                 // Split with a string pattern; Metaspace replacement
  SplitBehavior behavior = SplitBehavior::Isolated;
  bool invert = false;
  bool add_prefix_space = false;  // ByteLevel
  Prepend prepend = Prepend::Always;  // Metaspace
  bool split = true;                  // Metaspace
  bool individual_digits = false;     // Digits
};

class PreTokenizer {
 public:
  void add(PreTokenizerStep s) { steps_.push_back(std::move(s)); }
  bool empty() const { return steps_.empty(); }
  void apply(std::vector<Piece>& pieces) const;

 private:
  std::vector<PreTokenizerStep> steps_;
};

// GPT-2's pre-tokenization regex, used by the ByteLevel pre-tokenizer.
inline constexpr const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

}  // namespace forge
