// Continuous batching: one thread owns the Forward and its slots (one KV
// cache sequence each). Between decode steps it admits waiting choices into
// free slots (prefilling their prompts, reusing the longest cached prefix);
// each step then decodes one token for every active slot in one
// decode_batch call. Results go back through each request's channel.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "model/forward.h"
#include "runtime/sampler.h"
#include "runtime/server/metrics.h"
#include "runtime/server/request_channel.h"
#include "runtime/stop_matcher.h"
#include "tokenizer/stream_decoder.h"
#include "tokenizer/tokenizer.h"

namespace forge::server {

// One choice of one request: what a slot generates.
struct GenJob {
  std::shared_ptr<RequestChannel> channel;
  int index = 0;  // which choice
  std::vector<int32_t> prompt;
  runtime::SamplingParams sampling;
  int max_tokens = 0;  // >= 1, already capped by the context
  std::vector<std::string> stop;
  int top_logprobs = -1;  // -1: no logprobs
};

class Scheduler {
 public:
  // `fwd` has max_sequences() slots; `queue_limit` choices may wait.
  Scheduler(model::Forward& fwd, const Tokenizer& tok, int queue_limit, Metrics& metrics);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues every choice of a request, or none when the queue would hold
  // more than its limit (then false: the caller answers 503).
  bool submit(std::vector<GenJob> jobs);

  // Cancels everything queued or running (each choice ends with kCancelled)
  // and stops the thread.
  void stop();

  SlotGauges gauges() const { return {n_slots_, busy_.load(), queued_.load()}; }
  int n_slots() const { return n_slots_; }

 private:
  struct Slot {
    int seq = 0;
    std::vector<int32_t> cached;  // tokens the sequence's KV cache holds
    uint64_t last_used = 0;       // for picking among equally good free slots
    std::optional<GenJob> job;
    std::optional<runtime::Sampler> sampler;
    std::optional<StreamDecoder> decoder;
    std::optional<runtime::StopMatcher> stops;
    int32_t pending = -1;  // sampled, to be decoded at position cached.size()
    int generated = 0;
    int prompt_run = 0, prompt_cached = 0;
    ChoiceEvent out;  // what the next event will carry
  };

  void loop();
  void admit(std::vector<int>& started);
  int pick_slot(const std::vector<int32_t>& prompt) const;
  void start(Slot& s);
  // Samples from `logits`, or (top.top not empty) from the highest logits
  // alone (Forward::decode_top; no log-probabilities asked; where they do not
  // decide, from the step's whole row), and advances the slot: emits text,
  // or finishes.
  void on_logits(Slot& s, std::span<const float> logits, const model::TopLogits& top = {});
  void finish(Slot& s, runtime::FinishReason reason, const std::string& error = "");
  void flush_event(Slot& s);
  static void cancel_job(GenJob& job);

  model::Forward& fwd_;
  const Tokenizer& tok_;
  Metrics& metrics_;
  const int n_slots_;
  const int queue_limit_;
  const int n_ctx_;
  std::vector<Slot> slots_;  // touched only by the scheduler thread
  uint64_t clock_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<GenJob> queue_;
  bool stopping_ = false;
  std::atomic<int> busy_{0}, queued_{0};
  std::vector<model::BatchToken> batch_;
  std::vector<int> batch_slots_;
  std::thread thread_;
};

}  // namespace forge::server
