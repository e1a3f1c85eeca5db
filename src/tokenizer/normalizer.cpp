#include "tokenizer/normalizer.h"

#include <utf8proc.h>

#include <cstdlib>

#include "tokenizer/tokenizer_error.h"
#include "tokenizer/utf8.h"

namespace forge {

bool is_unicode_whitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  if (from.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (true) {
    const size_t hit = text.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(pos, hit - pos)).append(to);
    pos = hit + from.size();
  }
  out.append(text.substr(pos));
  return out;
}

std::string unicode_normalize(const std::string& text, NormalizerStep::Kind form) {
  int opts = UTF8PROC_STABLE;
  switch (form) {
    case NormalizerStep::Kind::Nfc: opts |= UTF8PROC_COMPOSE; break;
    case NormalizerStep::Kind::Nfkc: opts |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
    case NormalizerStep::Kind::Nfd: opts |= UTF8PROC_DECOMPOSE; break;
    case NormalizerStep::Kind::Nfkd: opts |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
    default: return text;
  }
  utf8proc_uint8_t* out = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                          static_cast<utf8proc_ssize_t>(text.size()), &out,
                                          static_cast<utf8proc_option_t>(opts));
  if (n < 0) throw TokenizerError(std::string("unicode normalization failed: ") + utf8proc_errmsg(n));
  std::string result(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  std::free(out);
  return result;
}

namespace {

std::string lowercase(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t len = 0;
    const char32_t cp = utf8::decode(s, i, len);
    utf8::append(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
    i += len;
  }
  return out;
}

std::string strip(const std::string& s, bool left, bool right) {
  size_t b = 0, e = s.size();
  if (left) {
    while (b < e) {
      size_t len = 0;
      if (!is_unicode_whitespace(utf8::decode(s, b, len))) break;
      b += len;
    }
  }
  if (right) {
    while (e > b) {
      size_t start = e - 1;
      while (start > b && (static_cast<uint8_t>(s[start]) & 0xC0) == 0x80) --start;
      size_t len = 0;
      if (!is_unicode_whitespace(utf8::decode(s, start, len))) break;
      e = start;
    }
  }
  return s.substr(b, e - b);
}

}  // namespace

std::string Normalizer::apply(std::string text) const {
  for (const auto& st : steps_) {
    switch (st.kind) {
      case NormalizerStep::Kind::Prepend:
        if (!text.empty()) text.insert(0, st.text);
        break;
      case NormalizerStep::Kind::Replace:
        if (st.regex) {
          std::string out;
          size_t pos = 0;
          for (auto [b, e] : st.regex->find_all(text)) {
            out.append(text, pos, b - pos).append(st.content);
            pos = e;
          }
          out.append(text, pos);
          text = std::move(out);
        } else {
          text = replace_all(text, st.text, st.content);
        }
        break;
      case NormalizerStep::Kind::Lowercase: text = lowercase(text); break;
      case NormalizerStep::Kind::Strip: text = strip(text, st.strip_left, st.strip_right); break;
      default: text = unicode_normalize(text, st.kind); break;
    }
  }
  return text;
}

}  // namespace forge
