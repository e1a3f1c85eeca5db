#include <queue>

#include "tokenizer/model.h"
#include "tokenizer/tokenizer_error.h"
#include "tokenizer/utf8.h"

namespace forge {

BpeModel::BpeModel(std::shared_ptr<const Vocab> vocab, const std::vector<std::array<int32_t, 3>>& merges, Options opt)
    : vocab_(std::move(vocab)), opt_(std::move(opt)) {
  merges_.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    const auto& m = merges[r];
    // The first listing of a pair wins, as in the reference (later duplicates are dead).
    merges_.emplace(key(m[0], m[1]), Merge{static_cast<int32_t>(r), m[2]});
  }
  all_bytes_present_ = true;
  for (int b = 0; b < 256; ++b) {
    byte_ids_[b] = vocab_->find(byte_token_text(static_cast<uint8_t>(b)));
    if (byte_ids_[b] < 0) all_bytes_present_ = false;
  }
}

namespace {

struct Symbol {
  int32_t id;
  int32_t prev;
  int32_t next;
  int32_t alive;  // 0 once merged into its left neighbour
};

struct QueuedMerge {
  int32_t rank;
  int32_t pos;
  int32_t new_id;
  bool operator<(const QueuedMerge& o) const {  // std::priority_queue pops the largest
    return rank != o.rank ? rank > o.rank : pos > o.pos;
  }
};

}  // namespace

void BpeModel::encode(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.empty()) return;
  if (opt_.ignore_merges) {
    const int32_t id = vocab_->find(piece);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }

  std::vector<Symbol> syms;
  syms.reserve(piece.size());
  auto add = [&](int32_t id) {
    const auto n = static_cast<int32_t>(syms.size());
    syms.push_back(Symbol{id, n - 1, n + 1, 1});
  };
  int32_t pending_unk = -1;  // a fused unknown waiting to be added
  std::string buf;
  for (size_t i = 0; i < piece.size();) {
    size_t len = 0;
    utf8::decode(piece, i, len);
    std::string_view ch = piece.substr(i, len);
    const bool first = i == 0, last = i + len == piece.size();
    i += len;
    if ((!first && !opt_.continuing_subword_prefix.empty()) || (last && !opt_.end_of_word_suffix.empty())) {
      buf.assign(first ? "" : opt_.continuing_subword_prefix).append(ch);
      if (last) buf.append(opt_.end_of_word_suffix);
      ch = buf;
    }
    const int32_t id = vocab_->find(ch);
    if (id >= 0) {
      if (pending_unk >= 0) add(pending_unk), pending_unk = -1;
      add(id);
      continue;
    }
    if (opt_.byte_fallback) {
      bool ok = true;
      for (char c : ch) ok = ok && byte_ids_[static_cast<uint8_t>(c)] >= 0;
      if (ok) {
        if (pending_unk >= 0) add(pending_unk), pending_unk = -1;
        for (char c : ch) add(byte_ids_[static_cast<uint8_t>(c)]);
        continue;
      }
    }
    if (opt_.unk_id >= 0) {
      if (pending_unk >= 0 && !opt_.fuse_unk) add(pending_unk);
      pending_unk = opt_.unk_id;
    }
    // Without an unknown token the character cannot be represented and is
    // dropped (the reference raises an error instead).
  }
  if (pending_unk >= 0) add(pending_unk);
  if (syms.empty()) return;
  syms.back().next = -1;

  std::priority_queue<QueuedMerge> queue;
  auto push_pair = [&](int32_t pos) {
    const int32_t nx = syms[pos].next;
    if (nx < 0) return;
    auto it = merges_.find(key(syms[pos].id, syms[nx].id));
    if (it != merges_.end()) queue.push(QueuedMerge{it->second.rank, pos, it->second.new_id});
  };
  for (int32_t p = 0; p + 1 < static_cast<int32_t>(syms.size()); ++p) push_pair(p);

  while (!queue.empty()) {
    const QueuedMerge top = queue.top();
    queue.pop();
    Symbol& left = syms[top.pos];
    if (!left.alive || left.next < 0) continue;
    const int32_t right_pos = left.next;
    auto it = merges_.find(key(left.id, syms[right_pos].id));
    if (it == merges_.end() || it->second.new_id != top.new_id) continue;  // stale entry
    left.id = top.new_id;
    syms[right_pos].alive = 0;
    left.next = syms[right_pos].next;
    if (left.next >= 0) syms[left.next].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }
  for (int32_t p = 0; p >= 0; p = syms[p].next) out.push_back(syms[p].id);
}

}  // namespace forge
