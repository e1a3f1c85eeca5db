#include "tokenizer/jinja/text_utils.h"

#include "tokenizer/utf8.h"

namespace forge::jinja {

namespace {

constexpr char32_t kEscapeBase = 0xDC00;

}  // namespace

std::u32string decode_utf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const size_t len = utf8::valid_sequence_length(text, i);
    if (len == 0) {
      out.push_back(kEscapeBase + static_cast<unsigned char>(text[i]));
      ++i;
    } else {
      size_t n = 0;
      out.push_back(utf8::decode(text, i, n));
      i += len;
    }
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  // Bytes of ill-formed input travel as escape code points (see decode_utf8).
  if (cp >= kEscapeBase + 0x80 && cp <= kEscapeBase + 0xFF) {
    out.push_back(static_cast<char>(cp - kEscapeBase));
  } else {
    utf8::append(out, cp);
  }
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) append_utf8(out, cp);
  return out;
}

size_t codepoint_count(std::string_view text) {
  size_t count = 0;
  size_t i = 0;
  while (i < text.size()) {
    const size_t len = utf8::valid_sequence_length(text, i);
    i += len == 0 ? 1 : len;
    ++count;
  }
  return count;
}

bool is_py_space(char32_t cp) {
  switch (cp) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x1C:
    case 0x1D:
    case 0x1E:
    case 0x1F:
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

std::string py_strip(std::string_view text, const std::optional<std::string>& chars, bool left, bool right) {
  const std::u32string cps = decode_utf8(text);
  const std::u32string set = chars ? decode_utf8(*chars) : std::u32string();
  auto strip_it = [&](char32_t cp) { return chars ? set.find(cp) != std::u32string::npos : is_py_space(cp); };
  size_t begin = 0;
  size_t end = cps.size();
  if (left)
    while (begin < end && strip_it(cps[begin])) ++begin;
  if (right)
    while (end > begin && strip_it(cps[end - 1])) --end;
  return encode_utf8(std::u32string_view(cps).substr(begin, end - begin));
}

std::vector<std::string> py_split(std::string_view text, const std::optional<std::string>& sep, long long maxsplit,
                                  bool from_right) {
  std::vector<std::string> parts;
  if (sep) {
    // Separator split works on bytes: a valid UTF-8 separator can only match
    // at code point boundaries.
    if (!from_right) {
      size_t start = 0;
      while (maxsplit < 0 || static_cast<long long>(parts.size()) < maxsplit) {
        const size_t hit = text.find(*sep, start);
        if (hit == std::string_view::npos) break;
        parts.emplace_back(text.substr(start, hit - start));
        start = hit + sep->size();
      }
      parts.emplace_back(text.substr(start));
    } else {
      size_t end = text.size();
      std::vector<std::string> rev;
      while (maxsplit < 0 || static_cast<long long>(rev.size()) < maxsplit) {
        if (end < sep->size()) break;
        const size_t hit = text.rfind(*sep, end - sep->size());
        if (hit == std::string_view::npos) break;
        rev.emplace_back(text.substr(hit + sep->size(), end - hit - sep->size()));
        end = hit;
      }
      rev.emplace_back(text.substr(0, end));
      parts.assign(rev.rbegin(), rev.rend());
    }
    return parts;
  }
  const std::u32string cps = decode_utf8(text);
  if (!from_right) {
    size_t i = 0;
    while (true) {
      while (i < cps.size() && is_py_space(cps[i])) ++i;
      if (i >= cps.size()) break;
      if (maxsplit >= 0 && static_cast<long long>(parts.size()) >= maxsplit) {
        size_t end = cps.size();
        while (end > i && is_py_space(cps[end - 1])) --end;
        parts.push_back(encode_utf8(std::u32string_view(cps).substr(i, end - i)));
        break;
      }
      size_t j = i;
      while (j < cps.size() && !is_py_space(cps[j])) ++j;
      parts.push_back(encode_utf8(std::u32string_view(cps).substr(i, j - i)));
      i = j;
    }
  } else {
    std::vector<std::string> rev;
    size_t end = cps.size();
    while (true) {
      while (end > 0 && is_py_space(cps[end - 1])) --end;
      if (end == 0) break;
      if (maxsplit >= 0 && static_cast<long long>(rev.size()) >= maxsplit) {
        size_t begin = 0;
        while (begin < end && is_py_space(cps[begin])) ++begin;
        rev.push_back(encode_utf8(std::u32string_view(cps).substr(begin, end - begin)));
        break;
      }
      size_t j = end;
      while (j > 0 && !is_py_space(cps[j - 1])) --j;
      rev.push_back(encode_utf8(std::u32string_view(cps).substr(j, end - j)));
      end = j;
    }
    parts.assign(rev.rbegin(), rev.rend());
  }
  return parts;
}

std::vector<std::string> py_splitlines(std::string_view text) {
  std::vector<std::string> lines;
  const std::u32string cps = decode_utf8(text);
  size_t start = 0;
  size_t i = 0;
  while (i < cps.size()) {
    const char32_t cp = cps[i];
    const bool is_break = cp == '\n' || cp == '\r' || cp == 0x0B || cp == 0x0C || cp == 0x1C || cp == 0x1D ||
                          cp == 0x1E || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
    if (!is_break) {
      ++i;
      continue;
    }
    lines.push_back(encode_utf8(std::u32string_view(cps).substr(start, i - start)));
    if (cp == '\r' && i + 1 < cps.size() && cps[i + 1] == '\n') ++i;
    ++i;
    start = i;
  }
  if (start < cps.size()) lines.push_back(encode_utf8(std::u32string_view(cps).substr(start)));
  return lines;
}

char32_t to_upper_cp(char32_t cp) {
  if (cp >= 'a' && cp <= 'z') return cp - 32;
  if ((cp >= 0xE0 && cp <= 0xFE && cp != 0xF7)) return cp - 32;
  if (cp >= 0x3B1 && cp <= 0x3C9 && cp != 0x3C2) return cp - 32;  // Greek
  if (cp >= 0x430 && cp <= 0x44F) return cp - 32;                 // Cyrillic а-я
  if (cp >= 0x450 && cp <= 0x45F) return cp - 80;                 // Cyrillic ѐ-џ
  return cp;
}

char32_t to_lower_cp(char32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if ((cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)) return cp + 32;
  if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) return cp + 32;
  if (cp >= 0x410 && cp <= 0x42F) return cp + 32;
  if (cp >= 0x400 && cp <= 0x40F) return cp + 80;
  return cp;
}

bool is_cased_letter(char32_t cp) {
  return to_upper_cp(cp) != cp || to_lower_cp(cp) != cp || cp == 0xDF;
}

bool is_alnum_cp(char32_t cp) {
  if (cp < 0x80) return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
  // Outside ASCII: treat letters of every script as word characters, but not
  // the general punctuation / symbol blocks or whitespace.
  if (is_py_space(cp)) return false;
  if (cp >= 0x2000 && cp <= 0x2BFF) return false;
  if (cp >= 0x3000 && cp <= 0x303F) return false;
  if (cp >= 0xA0 && cp <= 0xBF) return false;
  if (cp == 0xD7 || cp == 0xF7) return false;
  if (cp >= 0x1F000) return false;  // emoji and pictographs
  return true;
}

std::string py_upper(std::string_view text) {
  std::string out;
  for (char32_t cp : decode_utf8(text)) {
    if (cp == 0xDF) {
      out += "SS";  // German sharp s has a two-letter upper case in Python
    } else {
      append_utf8(out, to_upper_cp(cp));
    }
  }
  return out;
}

std::string py_lower(std::string_view text) {
  std::string out;
  for (char32_t cp : decode_utf8(text)) append_utf8(out, to_lower_cp(cp));
  return out;
}

std::string py_capitalize(std::string_view text) {
  std::u32string cps = decode_utf8(text);
  for (size_t i = 0; i < cps.size(); ++i) cps[i] = i == 0 ? to_upper_cp(cps[i]) : to_lower_cp(cps[i]);
  return encode_utf8(cps);
}

std::string py_title(std::string_view text) {
  std::u32string cps = decode_utf8(text);
  bool previous_cased = false;
  for (auto& cp : cps) {
    const bool cased = is_cased_letter(cp);
    if (cased) cp = previous_cased ? to_lower_cp(cp) : to_upper_cp(cp);
    previous_cased = cased;
  }
  return encode_utf8(cps);
}

std::string py_replace(std::string_view text, std::string_view old_text, std::string_view new_text, long long count) {
  std::string out;
  if (old_text.empty()) {
    // Python inserts `new` between every code point (and at both ends).
    const std::u32string cps = decode_utf8(text);
    long long done = 0;
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || done < count) {
        out += new_text;
        ++done;
      }
      if (i < cps.size()) append_utf8(out, cps[i]);
    }
    return out;
  }
  size_t start = 0;
  long long done = 0;
  while (count < 0 || done < count) {
    const size_t hit = text.find(old_text, start);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(start, hit - start));
    out.append(new_text);
    start = hit + old_text.size();
    ++done;
  }
  out.append(text.substr(start));
  return out;
}

}  // namespace forge::jinja
