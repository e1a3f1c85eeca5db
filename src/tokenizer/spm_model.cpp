#include <queue>

#include "tokenizer/model.h"
#include "tokenizer/utf8.h"

namespace forge {

SpmModel::SpmModel(std::shared_ptr<const Vocab> vocab, int32_t unk_id) : vocab_(std::move(vocab)), unk_id_(unk_id) {
  for (int b = 0; b < 256; ++b) {
    int32_t id = vocab_->find(byte_token_text(static_cast<uint8_t>(b)));
    // Vocabularies without byte tokens may still hold the raw byte as a token.
    if (id < 0) id = vocab_->find(std::string(1, static_cast<char>(b)));
    byte_ids_[b] = id;
  }
}

namespace {

struct Symbol {
  int32_t prev;
  int32_t next;
  uint32_t begin;  // byte range in the piece
  uint32_t len;    // 0 once merged into its left neighbour
};

struct Bigram {
  float score;
  int32_t left;
  int32_t right;
  uint32_t size;  // byte length of the merged text, to detect stale entries
  bool operator<(const Bigram& o) const {  // highest score first, then leftmost
    return score != o.score ? score < o.score : left > o.left;
  }
};

}  // namespace

void SpmModel::encode(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.empty()) return;
  std::vector<Symbol> syms;
  syms.reserve(piece.size());
  for (size_t i = 0; i < piece.size();) {
    size_t len = 0;
    utf8::decode(piece, i, len);
    const auto n = static_cast<int32_t>(syms.size());
    syms.push_back(Symbol{n - 1, n + 1, static_cast<uint32_t>(i), static_cast<uint32_t>(len)});
    i += len;
  }
  syms.back().next = -1;

  std::priority_queue<Bigram> queue;
  auto try_add = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    const std::string_view text = piece.substr(syms[l].begin, syms[l].len + syms[r].len);
    const int32_t id = vocab_->find(text);
    if (id < 0) return;
    queue.push(Bigram{vocab_->score(id), l, r, static_cast<uint32_t>(text.size())});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(syms.size()); ++i) try_add(i - 1, i);

  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Symbol& l = syms[b.left];
    Symbol& r = syms[b.right];
    if (l.len == 0 || r.len == 0 || l.len + r.len != b.size) continue;  // one side already merged
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }

  for (int32_t i = 0; i >= 0; i = syms[i].next) {
    const std::string_view text = piece.substr(syms[i].begin, syms[i].len);
    const int32_t id = vocab_->find(text);
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    // Only single characters can be missing (merges always produce tokens).
    for (char c : text) {
      const int32_t bid = byte_ids_[static_cast<uint8_t>(c)];
      if (bid >= 0) out.push_back(bid);
      else if (unk_id_ >= 0) out.push_back(unk_id_);
    }
  }
}

}  // namespace forge
