// UTF-8 helpers. Text handed to a tokenizer is untrusted: it is first made
// valid (each ill-formed subsequence becomes U+FFFD, the "maximal subpart"
// rule of Unicode 3.9 that Rust's from_utf8_lossy also follows), so that every
// later stage can assume valid UTF-8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace forge::utf8 {

inline constexpr char32_t kReplacement = 0xFFFD;

// Length in bytes of the well-formed sequence starting at s[i], or 0 if the
// bytes there are not a complete well-formed UTF-8 sequence.
size_t valid_sequence_length(std::string_view s, size_t i);

// Length of the maximal subpart of an ill-formed sequence at s[i] (>= 1):
// how many bytes one U+FFFD replaces.
size_t invalid_subpart_length(std::string_view s, size_t i);

bool is_valid(std::string_view s);

// `s` with every ill-formed subsequence replaced by U+FFFD.
std::string sanitize(std::string_view s);

// Decodes the code point at s[i] of VALID UTF-8; sets `len` to its length.
char32_t decode(std::string_view s, size_t i, size_t& len);

void append(std::string& out, char32_t cp);
std::string encode(char32_t cp);

// Number of bytes at the end of `s` that form the beginning of a UTF-8
// sequence that more bytes could still complete (0 if none).
size_t incomplete_tail_length(std::string_view s);

}  // namespace forge::utf8
