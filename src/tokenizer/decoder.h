// Decoders: turn token strings back into text (Hugging Face tokenizers'
// decoders). `at_start` says whether the first string is the first of the
// whole output; decoders that strip a leading space only do so then, which
// lets the streaming detokenizer decode a window at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/regex.h"

namespace forge {

struct DecoderStep {
  enum class Kind { ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace };
  DecoderStep(Kind k, std::string t = "", std::string c = "", std::shared_ptr<const Regex> r = nullptr)
      : kind(k), text(std::move(t)), content(std::move(c)), regex(std::move(r)) {}
  Kind kind;
  std::string text;     // Replace: literal pattern; Strip: content; Metaspace: replacement
  std::string content;  // Replace: replacement
  std::shared_ptr<const Regex> regex;
  size_t start = 0, stop = 0;  // Strip
  bool prepend = true;         // Metaspace: a leading replacement was added when encoding
};

class Decoder {
 public:
  void add(DecoderStep s) { steps_.push_back(std::move(s)); }
  bool empty() const { return steps_.empty(); }
  bool has(DecoderStep::Kind k) const;
  // Joins the decoded strings; without steps, tokens are joined with spaces
  // as the reference does.
  std::string decode(std::vector<std::string> tokens, bool at_start) const;

 private:
  std::vector<DecoderStep> steps_;
};

// UTF-8 with ill-formed sequences replaced by U+FFFD (from_utf8_lossy).
std::string lossy_utf8(std::string_view bytes);

}  // namespace forge
