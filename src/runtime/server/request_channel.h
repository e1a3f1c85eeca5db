// How the scheduler thread hands a request's generated text to the HTTP
// thread that answers it: a queue of events under a mutex. The HTTP side
// cancels through the same object (client gone, shutdown); the scheduler
// looks at cancelled() before every step.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtime/generate.h"
#include "runtime/sampler_logprobs.h"

namespace forge::server {

// Text that became final for one choice (maybe empty), with the tokens that
// produced it since the last event; the last event of a choice has `finish`.
struct ChoiceEvent {
  int index = 0;
  std::string text;
  std::vector<int32_t> tokens;
  std::vector<runtime::TokenLogprobs> logprobs;  // one per token, when asked for
  std::optional<runtime::FinishReason> finish;
  std::string error;      // generation failed (finish is set too)
  int prompt_tokens = 0;  // with finish: the prompt's length
  int cached_tokens = 0;  // with finish: how much of it the slot's cache already held
  int completion_tokens = 0;
};

class RequestChannel {
 public:
  explicit RequestChannel(int n_choices) : n_choices_(n_choices) {}

  void push(ChoiceEvent e) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (e.finish) ++finished_;
      events_.push_back(std::move(e));
    }
    cv_.notify_all();
  }

  // Whatever arrived, waiting up to `timeout` for something.
  std::vector<ChoiceEvent> take(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return !events_.empty(); });
    std::vector<ChoiceEvent> out(std::make_move_iterator(events_.begin()), std::make_move_iterator(events_.end()));
    events_.clear();
    return out;
  }

  // Every choice has sent its last event (they may not all be taken yet).
  bool all_finished() const {
    std::lock_guard<std::mutex> lock(mu_);
    return finished_ == n_choices_;
  }
  int n_choices() const { return n_choices_; }

  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }

 private:
  const int n_choices_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ChoiceEvent> events_;
  int finished_ = 0;
  std::atomic<bool> cancelled_{false};
};

}  // namespace forge::server
