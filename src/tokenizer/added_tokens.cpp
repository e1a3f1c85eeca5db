#include "tokenizer/added_tokens.h"

#include <utf8proc.h>

#include "tokenizer/normalizer.h"
#include "tokenizer/utf8.h"

namespace forge {

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedToken>& tokens) : tokens_(tokens) {
  terminal_.push_back(-1);
  for (size_t t = 0; t < tokens_.size(); ++t) {
    const std::string& s = tokens_[t].content;
    if (s.empty()) continue;
    uint32_t node = 0;
    for (char c : s) {
      const uint64_t k = (static_cast<uint64_t>(node) << 8) | static_cast<uint8_t>(c);
      auto it = edges_.find(k);
      if (it == edges_.end()) {
        const auto child = static_cast<uint32_t>(terminal_.size());
        terminal_.push_back(-1);
        it = edges_.emplace(k, child).first;
      }
      node = it->second;
    }
    if (terminal_[node] < 0) terminal_[node] = static_cast<int32_t>(t);  // first definition wins
  }
}

namespace {

bool is_word_char(char32_t c) {
  if (c == '_') return true;
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
         (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

char32_t char_before(std::string_view s, size_t pos, size_t& start) {
  start = pos - 1;
  while (start > 0 && (static_cast<uint8_t>(s[start]) & 0xC0) == 0x80) --start;
  size_t len = 0;
  return utf8::decode(s, start, len);
}

}  // namespace

std::vector<AddedMatch> AddedTokenMatcher::find(std::string_view text, bool include_special) const {
  std::vector<AddedMatch> out;
  if (tokens_.empty()) return out;
  size_t last_end = 0;
  for (size_t pos = 0; pos < text.size();) {
    uint32_t node = 0;
    int32_t best = -1;
    size_t best_end = 0;
    for (size_t i = pos; i < text.size(); ++i) {
      auto it = edges_.find((static_cast<uint64_t>(node) << 8) | static_cast<uint8_t>(text[i]));
      if (it == edges_.end()) break;
      node = it->second;
      const int32_t t = terminal_[node];
      if (t >= 0 && (include_special || !tokens_[t].special)) best = t, best_end = i + 1;
    }
    if (best < 0) {
      ++pos;
      continue;
    }
    const AddedToken& tok = tokens_[best];
    size_t b = pos, e = best_end;
    if (tok.single_word) {
      size_t s = 0, len = 0;
      const bool word_before = b > 0 && is_word_char(char_before(text, b, s));
      const bool word_after = e < text.size() && is_word_char(utf8::decode(text, e, len));
      if (word_before || word_after) {
        ++pos;
        continue;
      }
    }
    if (tok.lstrip) {
      while (b > last_end) {
        size_t s = 0;
        if (!is_unicode_whitespace(char_before(text, b, s))) break;
        b = s;
      }
    }
    if (tok.rstrip) {
      while (e < text.size()) {
        size_t len = 0;
        if (!is_unicode_whitespace(utf8::decode(text, e, len))) break;
        e += len;
      }
    }
    out.push_back(AddedMatch{b, e, tok.id});
    last_end = e;
    pos = e;
  }
  return out;
}

}  // namespace forge
