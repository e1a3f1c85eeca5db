#include "tokenizer/pre_tokenizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <functional>

#include "tokenizer/byte_level.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/utf8.h"

namespace forge {
namespace {

using Span = std::pair<size_t, size_t>;
struct Match {
  Span span;
  bool is_match;
};

// Turns a sorted list of match spans into a cover of the whole text.
std::vector<Match> cover(const std::vector<Span>& spans, size_t size) {
  std::vector<Match> out;
  out.reserve(spans.size() * 2 + 1);
  size_t prev = 0;
  for (auto [b, e] : spans) {
    if (prev < b) out.push_back({{prev, b}, false});
    out.push_back({{b, e}, true});
    prev = e;
  }
  if (prev < size) out.push_back({{prev, size}, false});
  return out;
}

// The rules of tokenizers' NormalizedString::split for each behaviour.
std::vector<Span> apply_behavior(std::vector<Match> m, SplitBehavior behavior, bool invert) {
  if (invert)
    for (auto& x : m) x.is_match = !x.is_match;
  std::vector<Span> out;
  switch (behavior) {
    case SplitBehavior::Isolated:
      for (auto& x : m) out.push_back(x.span);
      break;
    case SplitBehavior::Removed:
      for (auto& x : m)
        if (!x.is_match) out.push_back(x.span);
      break;
    case SplitBehavior::Contiguous: {
      bool prev = false;
      for (auto& x : m) {
        if (x.is_match == prev && !out.empty()) out.back().second = x.span.second;
        else out.push_back(x.span);
        prev = x.is_match;
      }
      break;
    }
    case SplitBehavior::MergedWithPrevious: {
      bool prev = false;
      for (auto& x : m) {
        if (x.is_match && !prev && !out.empty()) out.back().second = x.span.second;
        else out.push_back(x.span);
        prev = x.is_match;
      }
      break;
    }
    case SplitBehavior::MergedWithNext: {
      bool prev = false;
      for (auto it = m.rbegin(); it != m.rend(); ++it) {
        if (it->is_match && !prev && !out.empty()) out.back().first = it->span.first;
        else out.push_back(it->span);
        prev = it->is_match;
      }
      std::reverse(out.begin(), out.end());
      break;
    }
  }
  return out;
}

template <class Pred>
std::vector<Span> char_matches(const std::string& s, Pred pred) {
  std::vector<Span> out;
  for (size_t i = 0; i < s.size();) {
    size_t len = 0;
    const char32_t cp = utf8::decode(s, i, len);
    if (pred(cp)) out.emplace_back(i, i + len);
    i += len;
  }
  return out;
}

std::vector<Span> literal_matches(const std::string& s, const std::string& lit) {
  std::vector<Span> out;
  if (lit.empty()) return out;
  for (size_t pos = s.find(lit); pos != std::string::npos; pos = s.find(lit, pos + lit.size()))
    out.emplace_back(pos, pos + lit.size());
  return out;
}

// Rust's char::is_numeric: general categories Nd, Nl and No.
bool is_numeric(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO;
}

bool is_punctuation(char32_t cp) {
  if (cp < 0x80) return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) ||
                        (cp >= 0x7B && cp <= 0x7E);
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

void split_each(std::vector<Piece>& pieces, SplitBehavior behavior, bool invert,
                const std::function<std::vector<Span>(const std::string&)>& find) {
  std::vector<Piece> out;
  out.reserve(pieces.size());
  for (auto& p : pieces) {
    const auto spans = apply_behavior(cover(find(p.text), p.text.size()), behavior, invert);
    for (auto [b, e] : spans) {
      if (e <= b) continue;
      out.push_back(Piece{p.text.substr(b, e - b), p.at_start && b == 0});
    }
  }
  pieces = std::move(out);
}

}  // namespace

void PreTokenizer::apply(std::vector<Piece>& pieces) const {
  for (const auto& st : steps_) {
    switch (st.kind) {
      case PreTokenizerStep::Kind::Split:
        if (st.regex) {
          split_each(pieces, st.behavior, st.invert, [&](const std::string& s) { return st.regex->find_all(s); });
        } else {
          split_each(pieces, st.behavior, st.invert, [&](const std::string& s) { return literal_matches(s, st.literal); });
        }
        break;
      case PreTokenizerStep::Kind::Digits:
        split_each(pieces, st.individual_digits ? SplitBehavior::Isolated : SplitBehavior::Contiguous, false,
                   [](const std::string& s) { return char_matches(s, is_numeric); });
        break;
      case PreTokenizerStep::Kind::Punctuation:
        split_each(pieces, st.behavior, false,
                   [](const std::string& s) { return char_matches(s, is_punctuation); });
        break;
      case PreTokenizerStep::Kind::Whitespace:
      case PreTokenizerStep::Kind::WhitespaceSplit:
        // Both keep only the regex matches (Removed + invert).
        split_each(pieces, SplitBehavior::Removed, true, [&](const std::string& s) { return st.regex->find_all(s); });
        break;
      case PreTokenizerStep::Kind::ByteLevel: {
        if (st.add_prefix_space)
          for (auto& p : pieces)
            if (p.text.empty() || p.text[0] != ' ') p.text = " " + p.text;
        if (st.regex)
          split_each(pieces, SplitBehavior::Isolated, false, [&](const std::string& s) { return st.regex->find_all(s); });
        const ByteLevelMap& map = byte_level_map();
        for (auto& p : pieces) p.text = map.encode(p.text);
        break;
      }
      case PreTokenizerStep::Kind::Metaspace: {
        for (auto& p : pieces) {
          p.text = replace_all(p.text, " ", st.literal);
          const bool want = st.prepend == PreTokenizerStep::Prepend::Always ||
                            (st.prepend == PreTokenizerStep::Prepend::First && p.at_start);
          if (want && p.text.compare(0, st.literal.size(), st.literal) != 0) p.text.insert(0, st.literal);
        }
        if (st.split)
          split_each(pieces, SplitBehavior::MergedWithNext, false,
                     [&](const std::string& s) { return literal_matches(s, st.literal); });
        break;
      }
    }
  }
}

}  // namespace forge
