#include "tokenizer/utf8.h"

namespace forge::utf8 {
namespace {

// Valid range of the second byte given the first (Unicode Table 3-7).
bool second_byte_ok(uint8_t b0, uint8_t b1) {
  switch (b0) {
    case 0xE0: return b1 >= 0xA0 && b1 <= 0xBF;
    case 0xED: return b1 >= 0x80 && b1 <= 0x9F;
    case 0xF0: return b1 >= 0x90 && b1 <= 0xBF;
    case 0xF4: return b1 >= 0x80 && b1 <= 0x8F;
    default: return b1 >= 0x80 && b1 <= 0xBF;
  }
}

size_t expected_length(uint8_t b0) {
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return 2;
  if (b0 >= 0xE0 && b0 <= 0xEF) return 3;
  if (b0 >= 0xF0 && b0 <= 0xF4) return 4;
  return 0;  // continuation byte, C0, C1, F5..FF
}

bool is_cont(uint8_t b) { return (b & 0xC0) == 0x80; }

}  // namespace

size_t valid_sequence_length(std::string_view s, size_t i) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  const size_t n = expected_length(b0);
  if (n == 0 || i + n > s.size()) return 0;
  if (n == 1) return 1;
  if (!second_byte_ok(b0, static_cast<uint8_t>(s[i + 1]))) return 0;
  for (size_t k = 2; k < n; ++k)
    if (!is_cont(static_cast<uint8_t>(s[i + k]))) return 0;
  return n;
}

size_t invalid_subpart_length(std::string_view s, size_t i) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  const size_t n = expected_length(b0);
  if (n <= 1) return 1;
  size_t k = 1;
  if (i + k < s.size() && second_byte_ok(b0, static_cast<uint8_t>(s[i + k]))) {
    ++k;
    while (k < n && i + k < s.size() && is_cont(static_cast<uint8_t>(s[i + k]))) ++k;
  }
  return k;
}

bool is_valid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = valid_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = valid_sequence_length(s, i);
    if (n > 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      append(out, kReplacement);
      i += invalid_subpart_length(s, i);
    }
  }
  return out;
}

char32_t decode(std::string_view s, size_t i, size_t& len) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  len = expected_length(b0);
  if (len == 0 || i + len > s.size()) {
    len = 1;
    return kReplacement;
  }
  auto c = [&](size_t k) { return static_cast<char32_t>(static_cast<uint8_t>(s[i + k]) & 0x3F); };
  switch (len) {
    case 1: return b0;
    case 2: return (static_cast<char32_t>(b0 & 0x1F) << 6) | c(1);
    case 3: return (static_cast<char32_t>(b0 & 0x0F) << 12) | (c(1) << 6) | c(2);
    default: return (static_cast<char32_t>(b0 & 0x07) << 18) | (c(1) << 12) | (c(2) << 6) | c(3);
  }
}

void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode(char32_t cp) {
  std::string s;
  append(s, cp);
  return s;
}

size_t incomplete_tail_length(std::string_view s) {
  // A sequence is at most 4 bytes, so only the last 3 can be an unfinished one.
  for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    const size_t i = s.size() - back;
    const auto b0 = static_cast<uint8_t>(s[i]);
    if (is_cont(b0)) continue;
    const size_t n = expected_length(b0);
    if (n <= back) return 0;  // ASCII, invalid lead, or already complete
    // The bytes present must be a valid prefix.
    if (back >= 2 && !second_byte_ok(b0, static_cast<uint8_t>(s[i + 1]))) return 0;
    return back;
  }
  return 0;
}

}  // namespace forge::utf8
