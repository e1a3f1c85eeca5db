// Helpers for the server tests: an in-process server over a real model on a
// loopback port, and small HTTP clients (httplib) for JSON and SSE.
#pragma once

#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/loaded_model.h"
#include "runtime/server/http_server.h"

namespace forge::testing {

extern const std::string kStoriesPath;  // FORGE_DATA_DIR/models/stories260K/stories260K.gguf

// The model, loaded once per test binary. Throws with a message naming the
// missing file (a failure, never a skip).
std::shared_ptr<const runtime::LoadedModel> stories_model();
std::shared_ptr<const runtime::LoadedModel> load_model(const std::string& path);

// Writes a random-weight Llama GGUF with stories260K's vocabulary but wide
// layers (n_embd 512, n_ff 1536, 6 layers; about 80 MB of F32 weights):
// bigger than the CPU caches, so a decode step is bound by reading the
// weights, as with real models, and batching shows what it buys.
void write_wide_model(const std::string& path);

// A Forward that sleeps before each step: makes "a slot stays busy for a
// while" deterministic for the queue, disconnect and shutdown tests.
class SlowForward : public model::Forward {
 public:
  SlowForward(std::shared_ptr<model::Forward> inner, int delay_ms) : inner_(std::move(inner)), delay_ms_(delay_ms) {}
  const model::ModelInfo& info() const override { return inner_->info(); }
  int max_sequences() const override { return inner_->max_sequences(); }
  std::span<const float> prefill(std::span<const int32_t> tokens, int pos, model::Logits logits, int seq) override;
  std::span<const float> decode_batch(std::span<const model::BatchToken> batch) override;
  void truncate(int pos, int seq) override { inner_->truncate(pos, seq); }

 private:
  std::shared_ptr<model::Forward> inner_;
  int delay_ms_;
};

// A server on 127.0.0.1, any free port, ready when constructed.
class TestServer {
 public:
  // `delay_ms` > 0: every model step sleeps that long first (SlowForward).
  TestServer(std::shared_ptr<const runtime::LoadedModel> model, server::ServerOptions opts, int threads = 1,
             int delay_ms = 0);
  // The server of another program, started as a process: `argv` plus
  // `--port 0`; ready when its stderr says so. Throws if it does not start.
  explicit TestServer(std::vector<std::string> argv);
  ~TestServer();
  int port() const { return port_; }
  server::Server& server() { return *server_; }

  // The server the API and error suites test: in-process over stories260K,
  // or, when the environment names FORGE_TEST_SERVER_PROGRAM (a compiled
  // stories260K program), that program's `--serve` with the same options.
  static TestServer* for_suite(const server::ServerOptions& opts);

 private:
  std::unique_ptr<server::Server> server_;
  int port_ = 0;
  int pid_ = -1;
};

struct HttpReply {
  int status = -1;  // -1: no response (connection failed)
  std::string body;
  httplib::Headers headers;
  nlohmann::json json;  // the body parsed, or null when it is not JSON
};

HttpReply http_get(int port, const std::string& path, const httplib::Headers& headers = {});
HttpReply http_post(int port, const std::string& path, const std::string& body, const httplib::Headers& headers = {});
inline HttpReply http_post(int port, const std::string& path, const nlohmann::json& body,
                           const httplib::Headers& headers = {}) {
  return http_post(port, path, body.dump(), headers);
}

struct SseReply {
  int status = -1;
  std::vector<nlohmann::json> chunks;  // every `data:` payload but [DONE], parsed
  bool done = false;                   // saw `data: [DONE]` last
  std::string body;                    // raw
  bool malformed = false;              // some event was not `data: <json>` or a comment
  bool aborted = false;                // we closed the connection early
};

// POSTs with stream: true and reads the events; closes the connection after
// `abort_after` content chunks when >= 0.
SseReply http_stream(int port, const std::string& path, const nlohmann::json& body, int abort_after = -1,
                     const httplib::Headers& headers = {});

// Sends a POST over a plain socket, waits `wait_ms` (reading nothing), and
// closes the connection: a client that gives up.
void post_and_hang_up(int port, const std::string& path, const std::string& body, int wait_ms);

// The value of a Prometheus sample line "name value" (exact name, labels included).
double metric(const std::string& text, const std::string& name);

}  // namespace forge::testing
