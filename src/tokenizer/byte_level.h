// GPT-2's reversible byte <-> character mapping: every byte gets a printable
// code point (bytes that are printable Latin-1 keep their own, the other 68
// are moved to U+0100..U+0143 in order), so that byte-level BPE vocabularies
// can be stored as text.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace forge {

class ByteLevelMap {
 public:
  ByteLevelMap();
  // Each byte of `bytes` as its mapped character (UTF-8).
  std::string encode(std::string_view bytes) const;
  void encode_append(std::string_view bytes, std::string& out) const;
  // The byte a code point stands for, if it is one of the 256 mapped ones.
  std::optional<uint8_t> byte_of(char32_t cp) const;
  // Every character of `text` mapped back to its byte; nullopt if one is not
  // a mapped character.
  std::optional<std::string> decode(std::string_view text) const;

 private:
  std::array<std::string, 256> byte_to_utf8_;
  std::array<int16_t, 0x144> cp_to_byte_;  // all mapped code points are < U+0144
};

const ByteLevelMap& byte_level_map();  // immutable after construction

}  // namespace forge
