// The one interface between the runtime (generation, chat, server, bench) and
// whatever computes a model: the interpreter or a compiled program. One
// instance holds one KV cache.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace forge::model {

struct ModelInfo {
  std::string arch;
  std::string name;
  int n_vocab = 0;
  int n_ctx = 0;  // positions this instance's KV cache holds
  int n_layers = 0;
  uint64_t weight_bytes_per_token = 0;
};

enum class Logits { kNone, kLast, kAll };

class Forward {
 public:
  virtual ~Forward() = default;
  virtual const ModelInfo& info() const = 0;
  // Runs `tokens` at positions pos, pos+1, ... (filling the cache). Returns
  // the logits of the last token (kLast), of every token one row of n_vocab
  // after another (kAll), or nothing (kNone). Throws std::out_of_range past
  // the context.
  virtual std::span<const float> prefill(std::span<const int32_t> tokens, int pos, Logits logits = Logits::kLast) = 0;
  // One token at `pos`; logits for the next one.
  virtual std::span<const float> decode(int32_t token, int pos) { return prefill({&token, 1}, pos, Logits::kLast); }
  // Forgets cache entries at positions >= pos.
  virtual void truncate(int pos) = 0;
};

}  // namespace forge::model
