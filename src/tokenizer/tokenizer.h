// A text tokenizer built from a GGUF's tokenizer.ggml.* metadata or from a
// Hugging Face tokenizer.json. Both become the same pipeline:
//
//   added-token split -> normalizer -> pre-tokenizer -> subword model -> post-processing
//
// and decoding runs the decoder chain. Input text is untrusted: ill-formed
// UTF-8 is replaced by U+FFFD before anything else, and nothing in encode or
// decode throws on text. Malformed vocabularies throw TokenizerError.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/added_tokens.h"
#include "tokenizer/decoder.h"
#include "tokenizer/model.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer_error.h"
#include "tokenizer/vocab.h"

namespace forge {

class GgufFile;

struct EncodeOptions {
  bool add_special = true;     // BOS/EOS (or the post-processor template) around the text
  bool parse_special = false;  // control tokens written in the text become their ids
};

class Tokenizer {
 public:
  // From tokenizer.ggml.* metadata; throws TokenizerError for a missing or
  // malformed vocabulary and for an unsupported model or pre-tokenizer.
  static Tokenizer from_gguf(const GgufFile& file);
  // From the text of tokenizer.json and (optionally, may be empty)
  // tokenizer_config.json; `name` is used in error messages.
  static Tokenizer from_hf_json(std::string_view tokenizer_json, std::string_view config_json, const std::string& name);
  // From files; a path ending in ".gz" is decompressed. `config_path` may be
  // empty.
  static Tokenizer from_hf_files(const std::string& tokenizer_json_path, const std::string& config_path = "");
  // From a folder holding tokenizer.json[.gz] and maybe tokenizer_config.json[.gz].
  static Tokenizer from_hf_dir(const std::string& dir);

  std::vector<int32_t> encode(std::string_view text, EncodeOptions opt = {}) const;
  // Text of `ids`; with skip_special, control tokens are left out.
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;
  // Decoding of a window that may not start the output: leading-space
  // stripping only applies when `at_start` (used by StreamDecoder).
  std::string decode_window(std::span<const int32_t> ids, bool skip_special, bool at_start) const;

  int32_t n_vocab() const { return vocab_->size(); }
  bool valid_id(int32_t id) const { return id >= 0 && id < vocab_->size(); }
  // The vocabulary string of a token ("▁Hello", "Ġworld", "<0x0A>", "<s>").
  const std::string& token_text(int32_t id) const;
  // The text a token stands for on its own ("<0x0A>" -> "\n"; may be
  // invalid UTF-8 for byte tokens).
  std::string token_to_piece(int32_t id) const;
  TokenType token_type(int32_t id) const;
  float token_score(int32_t id) const;
  bool is_control(int32_t id) const;
  bool is_byte_token(int32_t id) const;  // a byte-fallback <0xXX> token
  bool is_eog(int32_t id) const;         // EOS, EOT or another end-of-generation token
  int32_t find_token(std::string_view text) const { return vocab_->find(text); }

  // Special ids, -1 when the vocabulary has none.
  int32_t bos_id() const { return bos_; }
  int32_t eos_id() const { return eos_; }
  int32_t eot_id() const { return eot_; }
  int32_t pad_id() const { return pad_; }
  int32_t unk_id() const { return unk_; }
  bool add_bos() const { return add_bos_; }
  bool add_eos() const { return add_eos_; }

  const std::string& model_name() const { return model_name_; }  // "llama", "gpt2", "bpe"
  const std::string& pre_name() const { return pre_name_; }      // GGUF tokenizer.ggml.pre, or "tokenizer.json"
  bool uses_byte_fallback() const { return decoder_.has(DecoderStep::Kind::ByteFallback); }

 private:
  Tokenizer() = default;
  friend class TokenizerBuilder;

  void encode_text(std::string text, bool at_start, bool parse_special, std::vector<int32_t>& out) const;
  void finish();  // builds matchers and checks invariants

  std::shared_ptr<const Vocab> vocab_;
  std::shared_ptr<const SubwordModel> model_;
  std::vector<AddedToken> added_;
  AddedTokenMatcher raw_matcher_;         // added tokens matched in raw text
  AddedTokenMatcher normalized_matcher_;  // added tokens matched after normalization
  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  Decoder decoder_;
  std::vector<int32_t> prefix_ids_, suffix_ids_;  // post-processing with add_special
  std::vector<int32_t> eog_ids_;
  std::vector<uint8_t> special_;  // per id: skipped by decode(skip_special)
  int32_t bos_ = -1, eos_ = -1, eot_ = -1, pad_ = -1, unk_ = -1;
  bool add_bos_ = false, add_eos_ = false;
  std::string model_name_, pre_name_;
};

}  // namespace forge
