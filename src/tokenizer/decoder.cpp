#include "tokenizer/decoder.h"

#include "tokenizer/byte_level.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/utf8.h"
#include "tokenizer/vocab.h"

namespace forge {

std::string lossy_utf8(std::string_view bytes) { return utf8::sanitize(bytes); }

bool Decoder::has(DecoderStep::Kind k) const {
  for (const auto& s : steps_)
    if (s.kind == k) return true;
  return false;
}

namespace {

void byte_fallback(std::vector<std::string>& tokens) {
  std::vector<std::string> out;
  out.reserve(tokens.size());
  std::string bytes;
  auto flush = [&] {
    if (bytes.empty()) return;
    if (utf8::is_valid(bytes)) {
      out.push_back(bytes);
    } else {
      for (size_t i = 0; i < bytes.size(); ++i) out.push_back(utf8::encode(utf8::kReplacement));
    }
    bytes.clear();
  };
  for (auto& t : tokens) {
    const int b = parse_byte_token(t);
    if (b >= 0) {
      bytes.push_back(static_cast<char>(b));
      continue;
    }
    flush();
    out.push_back(std::move(t));
  }
  flush();
  tokens = std::move(out);
}

std::string strip_token(const std::string& t, const std::string& content, size_t start, size_t stop) {
  // Strip at most `start` leading and `stop` trailing copies of `content` (one character).
  size_t b = 0, e = t.size();
  for (size_t k = 0; k < start && b < e && t.compare(b, content.size(), content) == 0; ++k) b += content.size();
  for (size_t k = 0; k < stop && e >= b + content.size() && t.compare(e - content.size(), content.size(), content) == 0; ++k)
    e -= content.size();
  return t.substr(b, e - b);
}

}  // namespace

std::string Decoder::decode(std::vector<std::string> tokens, bool at_start) const {
  if (steps_.empty()) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i) out.push_back(' ');
      out += tokens[i];
    }
    return out;
  }
  bool fused = false;
  for (const auto& st : steps_) {
    switch (st.kind) {
      case DecoderStep::Kind::ByteLevel: {
        const ByteLevelMap& map = byte_level_map();
        std::string bytes;
        for (const auto& t : tokens) {
          if (auto b = map.decode(t)) bytes += *b;
          else bytes += t;
        }
        tokens.assign(1, lossy_utf8(bytes));
        fused = true;
        break;
      }
      case DecoderStep::Kind::Metaspace:
        for (size_t i = 0; i < tokens.size(); ++i) {
          std::string s = replace_all(tokens[i], st.text, " ");
          if (i == 0 && at_start && !fused && st.prepend && !s.empty() && s[0] == ' ') s.erase(0, 1);
          tokens[i] = std::move(s);
        }
        break;
      case DecoderStep::Kind::ByteFallback: byte_fallback(tokens); break;
      case DecoderStep::Kind::Fuse: {
        std::string all;
        for (auto& t : tokens) all += t;
        tokens.assign(1, std::move(all));
        fused = true;
        break;
      }
      case DecoderStep::Kind::Strip:
        for (size_t i = 0; i < tokens.size(); ++i) {
          // After fusing, the one string only begins the output when at_start.
          const size_t start = (fused && !at_start) ? 0 : st.start;
          tokens[i] = strip_token(tokens[i], st.text, start, st.stop);
        }
        break;
      case DecoderStep::Kind::Replace:
        for (auto& t : tokens) {
          if (st.regex) {
            std::string out;
            size_t pos = 0;
            for (auto [b, e] : st.regex->find_all(t)) {
              out.append(t, pos, b - pos).append(st.content);
              pos = e;
            }
            out.append(t, pos);
            t = std::move(out);
          } else {
            t = replace_all(t, st.text, st.content);
          }
        }
        break;
    }
  }
  std::string out;
  for (auto& t : tokens) out += t;
  return out;
}

}  // namespace forge
