#include "tokenizer/byte_level.h"

#include "tokenizer/utf8.h"

namespace forge {

ByteLevelMap::ByteLevelMap() {
  cp_to_byte_.fill(-1);
  auto printable = [](int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); };
  int next = 0x100;
  for (int b = 0; b < 256; ++b) {
    const char32_t cp = printable(b) ? static_cast<char32_t>(b) : static_cast<char32_t>(next++);
    byte_to_utf8_[b] = utf8::encode(cp);
    cp_to_byte_[cp] = static_cast<int16_t>(b);
  }
}

void ByteLevelMap::encode_append(std::string_view bytes, std::string& out) const {
  for (char c : bytes) out += byte_to_utf8_[static_cast<uint8_t>(c)];
}

std::string ByteLevelMap::encode(std::string_view bytes) const {
  std::string out;
  out.reserve(bytes.size() * 2);
  encode_append(bytes, out);
  return out;
}

std::optional<uint8_t> ByteLevelMap::byte_of(char32_t cp) const {
  if (cp >= cp_to_byte_.size() || cp_to_byte_[cp] < 0) return std::nullopt;
  return static_cast<uint8_t>(cp_to_byte_[cp]);
}

std::optional<std::string> ByteLevelMap::decode(std::string_view text) const {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t len = 0;
    const char32_t cp = utf8::decode(text, i, len);
    const auto b = byte_of(cp);
    if (!b) return std::nullopt;
    out.push_back(static_cast<char>(*b));
    i += len;
  }
  return out;
}

const ByteLevelMap& byte_level_map() {
  static const ByteLevelMap map;  // immutable: built once, never written again
  return map;
}

}  // namespace forge
