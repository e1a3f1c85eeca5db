// The OpenAI-compatible HTTP server (cpp-httplib): routes, authentication,
// limits, and the bridge between HTTP threads and the scheduler. It knows a
// model only as a ServedModel (Forward + tokenizer + chat prompt), so the
// interpreter and every compiled binary serve through the same code.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include "runtime/server/metrics.h"
#include "runtime/server/served_model.h"
#include "runtime/server/server_options.h"

namespace httplib {
class Server;
}

namespace forge::server {

class Scheduler;

class Server {
 public:
  explicit Server(ServerOptions opts);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts answering (GET /health says 503 until a model is set).
  // Returns the port (the one chosen when options.port is 0). Throws
  // std::runtime_error when the address cannot be bound.
  int start();
  // Makes the server ready: its Forward must have options.parallel sequences
  // (more are fine; fewer limit the slots).
  void set_model(ServedModel model);
  // Graceful stop: refuses new work, gives in-flight requests
  // options.shutdown_grace_s to finish, cancels the rest, stops listening.
  void shutdown();
  // Blocks until the listener stops (after shutdown(), or a listen failure).
  void wait();

  bool ready() const { return ready_.load(); }
  int port() const { return port_; }
  const ServerOptions& options() const { return opts_; }
  SlotGauges gauges() const;

 private:
  struct Impl;
  ServerOptions opts_;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> ready_{false};
  int port_ = 0;
};

}  // namespace forge::server
