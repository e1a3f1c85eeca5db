#include "tokenizer/stream_decoder.h"

#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace forge {

std::string StreamDecoder::push(int32_t id) {
  pending_.push_back(id);
  return emit(false);
}

std::string StreamDecoder::finish() { return emit(true); }

std::string StreamDecoder::emit(bool final) {
  if (pending_.empty()) return "";
  if (!final) {
    // A byte-fallback group is only decided when a non-byte token follows.
    if (tok_->is_byte_token(pending_.back())) return "";
    // Byte-level vocabularies: hold a character whose bytes are not all here.
    std::string raw;
    for (int32_t id : pending_)
      if (tok_->valid_id(id) && !(skip_special_ && tok_->is_control(id))) raw += tok_->token_to_piece(id);
    if (utf8::incomplete_tail_length(raw) > 0) return "";
  }
  std::string text = tok_->decode_window(pending_, skip_special_, at_start_);
  // Once a token has gone through the decoders, the output has begun (even
  // when that token's text was all stripped away).
  for (int32_t id : pending_)
    if (tok_->valid_id(id) && !(skip_special_ && tok_->is_control(id))) at_start_ = false;
  pending_.clear();
  return text;
}

}  // namespace forge
