// Subword models: turn one pre-tokenized piece of text into token ids.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenizer/vocab.h"

namespace forge {

class SubwordModel {
 public:
  virtual ~SubwordModel() = default;
  // Appends the ids of `piece` (valid UTF-8, already normalized and
  // pre-tokenized) to `out`.
  virtual void encode(std::string_view piece, std::vector<int32_t>& out) const = 0;
};

// BPE by merge rank, as Hugging Face tokenizers' BPE model does it: the piece
// starts as one symbol per character, and the pair with the lowest merge rank
// (leftmost on ties) is merged until no listed pair is left.
class BpeModel : public SubwordModel {
 public:
  struct Options {
    bool byte_fallback = false;  // unknown characters become <0xXX> tokens
    bool fuse_unk = false;       // consecutive unknowns become one unk
    bool ignore_merges = false;  // a piece that is itself a token is taken whole
    int32_t unk_id = -1;
    std::string continuing_subword_prefix;
    std::string end_of_word_suffix;
  };
  // `merges` in rank order, as (left id, right id, merged id).
  BpeModel(std::shared_ptr<const Vocab> vocab, const std::vector<std::array<int32_t, 3>>& merges, Options opt);
  void encode(std::string_view piece, std::vector<int32_t>& out) const override;

 private:
  struct Merge {
    int32_t rank;
    int32_t new_id;
  };
  static uint64_t key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  std::shared_ptr<const Vocab> vocab_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::array<int32_t, 256> byte_ids_{};
  bool all_bytes_present_ = false;
  Options opt_;
};

// SentencePiece-style BPE by score (llama.cpp's SPM tokenizer): adjacent
// symbols whose concatenation is a token are merged highest score first
// (leftmost on ties); characters left that are not tokens become byte tokens.
class SpmModel : public SubwordModel {
 public:
  SpmModel(std::shared_ptr<const Vocab> vocab, int32_t unk_id);
  void encode(std::string_view piece, std::vector<int32_t>& out) const override;

 private:
  std::shared_ptr<const Vocab> vocab_;
  std::array<int32_t, 256> byte_ids_{};
  int32_t unk_id_;
};

}  // namespace forge
