// Python-like string operations over UTF-8 text, as Jinja templates see them:
// strings index, slice and strip by code point, not by byte.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace forge::jinja {

// Lossless: an invalid byte b decodes to U+DC00+b (Python's "surrogateescape")
// and encodes back to the same byte, so slicing never corrupts odd input.
std::u32string decode_utf8(std::string_view text);
std::string encode_utf8(std::u32string_view text);
void append_utf8(std::string& out, char32_t cp);
size_t codepoint_count(std::string_view text);

// str.isspace() for one code point.
bool is_py_space(char32_t cp);

// str.strip / lstrip / rstrip; `chars` absent means whitespace.
std::string py_strip(std::string_view text, const std::optional<std::string>& chars, bool left, bool right);

// str.split / str.rsplit; `sep` absent means runs of whitespace.
std::vector<std::string> py_split(std::string_view text, const std::optional<std::string>& sep, long long maxsplit,
                                  bool from_right);

// str.splitlines() (without keepends).
std::vector<std::string> py_splitlines(std::string_view text);

// Case mapping: ASCII, Latin-1, Greek and Cyrillic basic letters (single code
// point mappings); other scripts are left unchanged.
char32_t to_upper_cp(char32_t cp);
char32_t to_lower_cp(char32_t cp);
bool is_cased_letter(char32_t cp);
bool is_alnum_cp(char32_t cp);
std::string py_upper(std::string_view text);
std::string py_lower(std::string_view text);
std::string py_capitalize(std::string_view text);
std::string py_title(std::string_view text);  // str.title()

std::string py_replace(std::string_view text, std::string_view old_text, std::string_view new_text, long long count);

}  // namespace forge::jinja
