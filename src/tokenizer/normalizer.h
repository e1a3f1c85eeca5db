// Text normalizers, applied in order to each stretch of text between added
// tokens (Hugging Face tokenizers' normalizers, without offset tracking).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/regex.h"

namespace forge {

struct NormalizerStep {
  enum class Kind { Prepend, Replace, Nfc, Nfkc, Nfd, Nfkd, Lowercase, Strip };
  NormalizerStep(Kind k, std::string t = "", std::string c = "", std::shared_ptr<const Regex> r = nullptr)
      : kind(k), text(std::move(t)), content(std::move(c)), regex(std::move(r)) {}
  Kind kind;
  std::string text;     // Prepend: prefix; Replace: literal pattern
  std::string content;  // Replace: replacement
  std::shared_ptr<const Regex> regex;  // Replace with a regex pattern
  bool strip_left = false, strip_right = false;
};

class Normalizer {
 public:
  void add(NormalizerStep s) { steps_.push_back(std::move(s)); }
  bool empty() const { return steps_.empty(); }
  std::string apply(std::string text) const;

 private:
  std::vector<NormalizerStep> steps_;
};

// Unicode normal forms through utf8proc; `form` is "NFC", "NFKC", "NFD" or "NFKD".
std::string unicode_normalize(const std::string& text, NormalizerStep::Kind form);
std::string replace_all(std::string_view text, std::string_view from, std::string_view to);
bool is_unicode_whitespace(char32_t cp);

}  // namespace forge
