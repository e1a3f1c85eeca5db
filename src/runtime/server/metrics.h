// Counters for GET /metrics (Prometheus text format 0.0.4). Written by the
// HTTP threads and the scheduler; every field is atomic or under the mutex.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

namespace forge::server {

enum class Endpoint { kChat, kCompletions, kModels, kHealth, kTokenize, kDetokenize, kMetrics, kPage, kOther, kCount };
const char* endpoint_name(Endpoint e);

struct SlotGauges {
  int total = 0;
  int busy = 0;
  int queued = 0;
};

class Metrics {
 public:
  void request(Endpoint e) { requests_[static_cast<int>(e)].fetch_add(1); }
  void response_status(int status);
  void prompt_tokens(int run, int cached) {
    prompt_tokens_.fetch_add(run);
    cached_tokens_.fetch_add(cached);
  }
  void cancelled() { cancelled_.fetch_add(1); }
  void rejected_full() { rejected_full_.fetch_add(1); }
  void generated(int tokens) { generated_tokens_.fetch_add(tokens); }
  // One decode step of the scheduler: `tokens` sequences advanced in `seconds`.
  void decode_step(int tokens, double seconds);

  // Prometheus text; gauges come from the caller (the scheduler's state now).
  std::string render(const SlotGauges& g) const;

  // Generated tokens per second over the last few seconds (0 when idle).
  double recent_tokens_per_second() const;

 private:
  std::array<std::atomic<uint64_t>, static_cast<int>(Endpoint::kCount)> requests_{};
  std::atomic<uint64_t> status_2xx_{0}, status_4xx_{0}, status_5xx_{0};
  std::atomic<uint64_t> prompt_tokens_{0}, cached_tokens_{0}, generated_tokens_{0};
  std::atomic<uint64_t> cancelled_{0}, rejected_full_{0}, decode_steps_{0};
  std::atomic<uint64_t> decode_micros_{0};

  using Clock = std::chrono::steady_clock;
  struct Step {
    Clock::time_point at;
    int tokens;
  };
  mutable std::mutex mu_;
  std::deque<Step> recent_;  // steps of the last kWindow
};

}  // namespace forge::server
