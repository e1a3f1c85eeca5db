// A compiled Unicode regular expression (PCRE2, JIT when available) with the
// semantics tokenizer patterns were written for: Oniguruma/Rust-style \s
// (the Unicode White_Space property), \p{..} classes, (?i:..) groups.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace forge {

class Regex {
 public:
  // Throws TokenizerError naming the pattern on a syntax error.
  explicit Regex(std::string_view pattern);
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  ~Regex();

  // All non-overlapping, non-empty matches in `text` (valid UTF-8) as
  // [begin, end) byte offsets, leftmost first.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Impl;
  std::string pattern_;
  std::unique_ptr<Impl> impl_;
};

// Rewrites \s and \S into explicit White_Space classes (PCRE2 10.42's \s
// under UCP differs from Oniguruma's on U+180E and U+0085); exposed for tests.
std::string translate_regex_pattern(std::string_view pattern);

}  // namespace forge
