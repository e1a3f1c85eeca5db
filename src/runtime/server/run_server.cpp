#include "runtime/server/run_server.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <ctime>
#include <thread>

#include "runtime/server/http_server.h"

namespace forge::server {

namespace {

// SIGINT/SIGTERM blocked in this thread (and so in every thread started
// from it, httplib's included) and taken with sigtimedwait by one watcher:
// no handler, no global flag. SIGPIPE is blocked too: a client that goes
// away makes a write fail (EPIPE), which the server handles.
class SignalWatcher {
 public:
  SignalWatcher() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigset_t block = set_;
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old_);
  }
  ~SignalWatcher() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  // Calls on_signal(signo) once, from the watcher thread, when a signal comes.
  template <typename F>
  void watch(F on_signal) {
    thread_ = std::thread([this, on_signal] {
      const timespec tick{0, 200 * 1000 * 1000};
      while (!stop_.load()) {
        const int sig = sigtimedwait(&set_, nullptr, &tick);
        if (sig > 0) {
          on_signal(sig);
          return;
        }
      }
    });
  }

 private:
  sigset_t set_{}, old_{};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

int run_server(const ModelLoader& load, const ServerOptions& opts, std::FILE* log) {
  SignalWatcher signals;
  Server server(opts);
  const int port = server.start();
  std::fprintf(log, "forge serve: listening on http://%s:%d (loading the model)\n", opts.host.c_str(), port);
  std::fflush(log);
  std::atomic<int> got{0};
  signals.watch([&](int sig) {
    got.store(sig);
    std::fprintf(log, "forge serve: %s, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    std::fflush(log);
    server.shutdown();
  });
  try {
    server.set_model(load(opts.parallel));
  } catch (...) {
    server.shutdown();
    server.wait();
    throw;
  }
  if (got.load() == 0) {
    std::fprintf(log, "forge serve: ready (%d slot%s)\n", opts.parallel, opts.parallel == 1 ? "" : "s");
    std::fflush(log);
  }
  server.wait();
  std::fprintf(log, "forge serve: stopped\n");
  return 0;
}

}  // namespace forge::server
