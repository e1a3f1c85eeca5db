// Incremental detokenization for generation: feed ids one at a time, get the
// text that is final so far. Never emits half a UTF-8 character nor part of a
// byte-fallback sequence, and the concatenation of everything emitted (after
// finish()) equals Tokenizer::decode of all ids.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace forge {

class Tokenizer;

class StreamDecoder {
 public:
  // `continuation`: the ids continue text decoded before (a prompt), so a
  // leading space is kept rather than stripped as at the start of a text.
  StreamDecoder(const Tokenizer& tok, bool skip_special = false, bool continuation = false)
      : tok_(&tok), skip_special_(skip_special), at_start_(!continuation) {}
  // Text that became final with `id` (often empty while a character is incomplete).
  std::string push(int32_t id);
  // Whatever is still held back (incomplete bytes come out as U+FFFD).
  std::string finish();

 private:
  std::string emit(bool final);
  const Tokenizer* tok_;
  bool skip_special_;
  std::vector<int32_t> pending_;
  bool at_start_ = true;  // no token decoded yet
};

}  // namespace forge
