#include "tokenizer/tokenizer.h"

#include <algorithm>

#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace forge {

std::vector<int32_t> Tokenizer::encode(std::string_view text, EncodeOptions opt) const {
  std::vector<int32_t> out;
  if (opt.add_special) out = prefix_ids_;
  const std::string clean = utf8::sanitize(text);
  size_t pos = 0;
  for (const AddedMatch& m : raw_matcher_.find(clean, opt.parse_special)) {
    if (m.begin > pos) encode_text(clean.substr(pos, m.begin - pos), pos == 0, opt.parse_special, out);
    out.push_back(m.id);
    pos = m.end;
  }
  if (pos < clean.size()) encode_text(clean.substr(pos), pos == 0, opt.parse_special, out);
  if (opt.add_special) out.insert(out.end(), suffix_ids_.begin(), suffix_ids_.end());
  return out;
}

void Tokenizer::encode_text(std::string text, bool at_start, bool parse_special, std::vector<int32_t>& out) const {
  const std::string norm = normalizer_.apply(std::move(text));
  std::vector<Piece> pieces;
  auto run = [&](size_t b, size_t e) {
    if (e <= b) return;
    pieces.assign(1, Piece{norm.substr(b, e - b), at_start && b == 0});
    pre_tokenizer_.apply(pieces);
    for (const Piece& p : pieces) model_->encode(p.text, out);
  };
  size_t pos = 0;
  for (const AddedMatch& m : normalized_matcher_.find(norm, parse_special)) {
    run(pos, m.begin);
    out.push_back(m.id);
    pos = m.end;
  }
  run(pos, norm.size());
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  return decode_window(ids, skip_special, true);
}

std::string Tokenizer::decode_window(std::span<const int32_t> ids, bool skip_special, bool at_start) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (!valid_id(id)) continue;  // unknown ids decode to nothing, as in the reference
    if (skip_special && special_[static_cast<size_t>(id)]) continue;
    tokens.push_back(vocab_->tokens[static_cast<size_t>(id)]);
  }
  return decoder_.decode(std::move(tokens), at_start);
}

const std::string& Tokenizer::token_text(int32_t id) const {
  if (!valid_id(id)) throw TokenizerError("token id " + std::to_string(id) + " is out of range (vocabulary of " +
                                          std::to_string(n_vocab()) + ")");
  return vocab_->tokens[static_cast<size_t>(id)];
}

std::string Tokenizer::token_to_piece(int32_t id) const {
  const std::string& t = token_text(id);
  if (decoder_.has(DecoderStep::Kind::ByteFallback)) {
    const int b = parse_byte_token(t);
    if (b >= 0) return std::string(1, static_cast<char>(b));
  }
  if (decoder_.has(DecoderStep::Kind::ByteLevel)) {
    if (auto bytes = byte_level_map().decode(t)) return *bytes;
    return t;
  }
  const int32_t one[1] = {id};
  return decode_window(one, false, false);
}

TokenType Tokenizer::token_type(int32_t id) const {
  token_text(id);  // range check
  return vocab_->types[static_cast<size_t>(id)];
}

float Tokenizer::token_score(int32_t id) const {
  token_text(id);
  return vocab_->score(id);
}

bool Tokenizer::is_control(int32_t id) const { return valid_id(id) && special_[static_cast<size_t>(id)]; }

bool Tokenizer::is_byte_token(int32_t id) const {
  return valid_id(id) && uses_byte_fallback() && parse_byte_token(vocab_->tokens[static_cast<size_t>(id)]) >= 0;
}

bool Tokenizer::is_eog(int32_t id) const {
  return id >= 0 && std::find(eog_ids_.begin(), eog_ids_.end(), id) != eog_ids_.end();
}

void Tokenizer::finish() {
  const auto n = static_cast<size_t>(vocab_->size());
  special_.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const TokenType t = vocab_->types[i];
    special_[i] = t == TokenType::Control || t == TokenType::Unknown;
  }
  std::vector<AddedToken> raw, normalized;
  for (const AddedToken& a : added_) {
    if (a.id < 0 || static_cast<size_t>(a.id) >= n)
      throw TokenizerError("added token '" + a.content + "' has id " + std::to_string(a.id) +
                           " outside the vocabulary of " + std::to_string(n));
    if (a.special) special_[static_cast<size_t>(a.id)] = 1;
    if (a.normalized) {
      AddedToken c = a;
      c.content = normalizer_.apply(c.content);
      normalized.push_back(std::move(c));
    } else {
      raw.push_back(a);
    }
  }
  raw_matcher_ = AddedTokenMatcher(raw);
  normalized_matcher_ = AddedTokenMatcher(normalized);
  for (int32_t id : {eos_, eot_})
    if (id >= 0 && !is_eog(id)) eog_ids_.push_back(id);
}

}  // namespace forge
