// A fixed set of worker threads that run one parallel loop at a time. The
// caller's thread takes part, so ThreadPool(1) runs everything inline.
// Workers spin briefly between loops (a decode step runs hundreds of short
// loops) before sleeping.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace forge::interp {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(i) for every i in [0, n), spread over the threads; returns when
  // all calls have returned. fn must not throw.
  void parallel_for(int64_t n, const std::function<void(int64_t)>& fn);

  // Physical cores of this machine (falls back to hardware_concurrency).
  static int default_threads();

 private:
  void worker_loop();
  void run_tasks();

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int64_t> next_{0};
  std::atomic<int> busy_{0};
  int64_t n_ = 0;
  const std::function<void(int64_t)>* fn_ = nullptr;
  bool stop_ = false;
};

}  // namespace forge::interp
