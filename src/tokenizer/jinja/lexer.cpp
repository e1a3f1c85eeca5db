#include "tokenizer/jinja/lexer.h"

#include <algorithm>
#include <charconv>

#include "tokenizer/jinja/template_error.h"
#include "tokenizer/jinja/text_utils.h"

namespace forge::jinja {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || is_digit(c);
}

// Jinja reads templates with universal newlines and drops one trailing newline.
std::string normalize_source(std::string_view source, bool keep_trailing_newline) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out.push_back(source[i]);
    }
  }
  if (!keep_trailing_newline && !out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class Lexer {
 public:
  Lexer(std::string source, const LexOptions& options) : src_(std::move(source)), opt_(options) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Token> run() {
    size_t pos = 0;
    while (pos < src_.size()) {
      const size_t tag = find_tag(pos);
      if (tag == std::string::npos) {
        emit_text(pos, src_.substr(pos));
        break;
      }
      const char kind = src_[tag + 1];
      size_t inner = tag + 2;
      char sign = 0;
      if (inner < src_.size() && (src_[inner] == '-' || src_[inner] == '+')) sign = src_[inner++];
      emit_text(pos, apply_left_control(src_.substr(pos, tag - pos), pos, sign, kind != '{'));
      if (kind == '#') {
        pos = lex_comment(tag, inner);
      } else if (kind == '%' && raw_begin_end(inner) != std::string::npos) {
        pos = lex_raw(tag, raw_begin_end(inner));
      } else {
        pos = lex_tag(tag, inner, kind == '%');
      }
    }
    Token eof;
    eof.kind = TokenKind::eof;
    locate(src_.size(), eof);
    tokens_.push_back(eof);
    return std::move(tokens_);
  }

 private:
  // Tokens are located in increasing order, so a forward-moving cursor keeps
  // this linear even for a template that is one long line.
  void locate(size_t pos, Token& t) const {
    if (pos < cursor_pos_) {
      const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), pos);
      const size_t line_index = static_cast<size_t>(it - line_starts_.begin()) - 1;
      cursor_pos_ = line_starts_[line_index];
      cursor_line_ = static_cast<int>(line_index) + 1;
      cursor_column_ = 1;
    }
    for (; cursor_pos_ < pos && cursor_pos_ < src_.size(); ++cursor_pos_) {
      const auto c = static_cast<unsigned char>(src_[cursor_pos_]);
      if (c == '\n') {
        ++cursor_line_;
        cursor_column_ = 1;
      } else if ((c & 0xC0) != 0x80) {
        ++cursor_column_;  // count code points, not bytes
      }
    }
    t.line = cursor_line_;
    t.column = cursor_column_;
  }

  [[noreturn]] void fail(size_t pos, const std::string& message) const {
    Token t;
    locate(pos, t);
    throw TemplateError(message, t.line, t.column);
  }

  size_t find_tag(size_t from) const {
    size_t p = src_.find('{', from);
    while (p != std::string::npos) {
      if (p + 1 < src_.size() && (src_[p + 1] == '{' || src_[p + 1] == '%' || src_[p + 1] == '#')) return p;
      p = src_.find('{', p + 1);
    }
    return std::string::npos;
  }

  // The "-" marker strips all whitespace before the tag; otherwise
  // lstrip_blocks strips blanks between a line start and a block or comment tag.
  std::string apply_left_control(std::string text, size_t text_start, char sign, bool is_block) const {
    if (sign == '-') {
      size_t end = text.size();
      while (end > 0 && is_space(text[end - 1])) --end;
      text.resize(end);
    } else if (sign != '+' && opt_.lstrip_blocks && is_block) {
      const size_t nl = text.rfind('\n');
      const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
      const bool line_starting = text_start == 0 || src_[text_start - 1] == '\n';
      if ((l_pos > 0 || line_starting) && l_pos < text.size() &&
          std::all_of(text.begin() + static_cast<long>(l_pos), text.end(), is_space))
        text.resize(l_pos);
    }
    return text;
  }

  // After a tag: "-" eats all following whitespace, trim_blocks one newline.
  size_t apply_right_control(size_t after, char sign, bool is_block) const {
    if (sign == '-') {
      while (after < src_.size() && is_space(src_[after])) ++after;
    } else if (sign != '+' && is_block && opt_.trim_blocks && after < src_.size() && src_[after] == '\n') {
      ++after;
    }
    return after;
  }

  void emit_text(size_t pos, std::string text) {
    if (text.empty()) return;
    Token t;
    t.kind = TokenKind::text;
    t.text = std::move(text);
    locate(pos, t);
    tokens_.push_back(std::move(t));
  }

  void emit(TokenKind kind, size_t pos, std::string text = {}) {
    Token t;
    t.kind = kind;
    t.text = std::move(text);
    locate(pos, t);
    tokens_.push_back(std::move(t));
  }

  size_t lex_comment(size_t tag, size_t inner) {
    const size_t end = src_.find("#}", inner);
    if (end == std::string::npos) fail(tag, "comment opened here is never closed with '#}'");
    char sign = 0;
    if (end > inner && (src_[end - 1] == '-' || src_[end - 1] == '+')) sign = src_[end - 1];
    return apply_right_control(end + 2, sign, true);
  }

  // If `inner` (just after "{%" and its sign) starts "raw %}", the position
  // just past that tag; npos otherwise.
  size_t raw_begin_end(size_t inner) const {
    size_t i = inner;
    while (i < src_.size() && is_space(src_[i])) ++i;
    if (src_.compare(i, 3, "raw") != 0) return std::string::npos;
    i += 3;
    while (i < src_.size() && is_space(src_[i])) ++i;
    if (src_.compare(i, 3, "-%}") == 0) {
      i += 3;
      while (i < src_.size() && is_space(src_[i])) ++i;
      return i;
    }
    if (src_.compare(i, 2, "%}") == 0) return i + 2;
    return std::string::npos;
  }

  size_t lex_raw(size_t tag, size_t body) {
    size_t r = src_.find("{%", body);
    while (r != std::string::npos) {
      size_t i = r + 2;
      char sign = 0;
      if (i < src_.size() && (src_[i] == '-' || src_[i] == '+')) sign = src_[i++];
      while (i < src_.size() && is_space(src_[i])) ++i;
      if (src_.compare(i, 6, "endraw") == 0) {
        i += 6;
        while (i < src_.size() && is_space(src_[i])) ++i;
        char end_sign = 0;
        if (i < src_.size() && (src_[i] == '-' || src_[i] == '+')) end_sign = src_[i++];
        if (src_.compare(i, 2, "%}") == 0) {
          emit_text(body, apply_left_control(src_.substr(body, r - body), body, sign, true));
          return apply_right_control(i + 2, end_sign, true);
        }
      }
      r = src_.find("{%", r + 2);
    }
    fail(tag, "'{% raw %}' opened here has no '{% endraw %}'");
  }

  size_t lex_tag(size_t tag, size_t i, bool is_block) {
    emit(is_block ? TokenKind::block_begin : TokenKind::var_begin, tag);
    int balance = 0;
    while (true) {
      while (i < src_.size() && is_space(src_[i])) ++i;
      if (i >= src_.size())
        fail(tag, std::string("tag opened here is never closed with '") + (is_block ? "%}" : "}}") + "'");
      if (balance == 0) {
        const char* close = is_block ? "%}" : "}}";
        if (src_.compare(i, 2, close) == 0) {
          emit(is_block ? TokenKind::block_end : TokenKind::var_end, i);
          return apply_right_control(i + 2, 0, is_block);
        }
        if ((src_[i] == '-' || (is_block && src_[i] == '+')) && src_.compare(i + 1, 2, close) == 0) {
          emit(is_block ? TokenKind::block_end : TokenKind::var_end, i);
          return apply_right_control(i + 3, src_[i], is_block);
        }
      }
      i = lex_expression_token(i, balance);
    }
  }

  size_t lex_expression_token(size_t i, int& balance) {
    const char c = src_[i];
    if (c == '\'' || c == '"') return lex_string(i);
    if (is_digit(c)) return lex_number(i);
    if (is_name_start(c)) {
      size_t j = i;
      while (j < src_.size() && is_name_char(src_[j])) ++j;
      emit(TokenKind::name, i, src_.substr(i, j - i));
      return j;
    }
    static const char* const kTwoChar[] = {"//", "**", "==", "!=", "<=", ">="};
    for (const char* op : kTwoChar) {
      if (src_.compare(i, 2, op) == 0) {
        emit(TokenKind::op, i, op);
        return i + 2;
      }
    }
    if (std::string_view("+-*/%~<>=.:|,()[]{}").find(c) != std::string_view::npos) {
      if (c == '(' || c == '[' || c == '{') ++balance;
      if (c == ')' || c == ']' || c == '}') {
        if (balance == 0) fail(i, std::string("unexpected '") + c + "'");
        --balance;
      }
      emit(TokenKind::op, i, std::string(1, c));
      return i + 1;
    }
    char32_t cp = decode_utf8(std::string_view(src_).substr(i, 4))[0];
    std::string shown;
    append_utf8(shown, cp);
    fail(i, "unexpected character '" + shown + "' in tag");
  }

  size_t lex_number(size_t i) {
    size_t j = i;
    auto digits = [&](size_t k) {
      while (k < src_.size() && (is_digit(src_[k]) || (src_[k] == '_' && k + 1 < src_.size() && is_digit(src_[k + 1]))))
        ++k;
      return k;
    };
    j = digits(j);
    bool is_float = false;
    if (j + 1 < src_.size() && src_[j] == '.' && is_digit(src_[j + 1])) {
      is_float = true;
      j = digits(j + 1);
    }
    if (j < src_.size() && (src_[j] == 'e' || src_[j] == 'E')) {
      size_t k = j + 1;
      if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
      if (k < src_.size() && is_digit(src_[k])) {
        is_float = true;
        j = digits(k);
      }
    }
    std::string text;
    for (size_t k = i; k < j; ++k)
      if (src_[k] != '_') text.push_back(src_[k]);
    Token t;
    locate(i, t);
    t.text = text;
    if (is_float) {
      t.kind = TokenKind::floating;
      t.float_value = std::strtod(text.c_str(), nullptr);
    } else {
      t.kind = TokenKind::integer;
      const auto res = std::from_chars(text.data(), text.data() + text.size(), t.int_value);
      if (res.ec != std::errc()) fail(i, "integer literal " + text + " is too large");
    }
    tokens_.push_back(std::move(t));
    return j;
  }

  size_t lex_string(size_t start) {
    const char quote = src_[start];
    std::string value;
    size_t i = start + 1;
    while (true) {
      if (i >= src_.size()) fail(start, "string literal opened here is never closed");
      const char c = src_[i];
      if (c == quote) break;
      if (c != '\\') {
        value.push_back(c);
        ++i;
        continue;
      }
      if (i + 1 >= src_.size()) fail(start, "string literal opened here is never closed");
      const char e = src_[i + 1];
      i += 2;
      switch (e) {
        case '\n':
          break;  // line continuation
        case '\\':
          value.push_back('\\');
          break;
        case '\'':
          value.push_back('\'');
          break;
        case '"':
          value.push_back('"');
          break;
        case 'a':
          value.push_back('\a');
          break;
        case 'b':
          value.push_back('\b');
          break;
        case 'f':
          value.push_back('\f');
          break;
        case 'n':
          value.push_back('\n');
          break;
        case 'r':
          value.push_back('\r');
          break;
        case 't':
          value.push_back('\t');
          break;
        case 'v':
          value.push_back('\v');
          break;
        case 'x':
        case 'u':
        case 'U': {
          const size_t len = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
          uint32_t cp = 0;
          for (size_t k = 0; k < len; ++k) {
            const char h = i + k < src_.size() ? src_[i + k] : '\0';
            int d = -1;
            if (h >= '0' && h <= '9')
              d = h - '0';
            else if (h >= 'a' && h <= 'f')
              d = h - 'a' + 10;
            else if (h >= 'A' && h <= 'F')
              d = h - 'A' + 10;
            if (d < 0) fail(i - 2, std::string("truncated \\") + e + " escape in string literal");
            cp = cp * 16 + static_cast<uint32_t>(d);
          }
          if (cp > 0x10FFFF) fail(i - 2, "escape names a code point past U+10FFFF");
          append_utf8(value, cp);
          i += len;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2 && i < src_.size() && src_[i] >= '0' && src_[i] <= '7'; ++k, ++i)
              cp = cp * 8 + static_cast<uint32_t>(src_[i] - '0');
            append_utf8(value, cp);
          } else {
            // Python keeps unknown escapes as written.
            value.push_back('\\');
            value.push_back(e);
          }
      }
    }
    emit(TokenKind::string, start, std::move(value));
    return i + 1;
  }

  std::string src_;
  LexOptions opt_;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;
  mutable size_t cursor_pos_ = 0;
  mutable int cursor_line_ = 1;
  mutable int cursor_column_ = 1;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source, const LexOptions& options) {
  return Lexer(normalize_source(source, options.keep_trailing_newline), options).run();
}

}  // namespace forge::jinja
