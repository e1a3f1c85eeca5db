#include "server_test_support.h"

#include <chrono>
#include <filesystem>
#include <thread>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "runtime/server/interpreter_model.h"

namespace forge::testing {

const std::string kStoriesPath = std::string(FORGE_DATA_DIR) + "/models/stories260K/stories260K.gguf";

std::shared_ptr<const runtime::LoadedModel> load_model(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    throw std::runtime_error("missing test model " + path + " (the shared test data, see MANIFEST.md)");
  }
  runtime::LoadOptions lo;
  lo.model_path = path;
  return runtime::LoadedModel::load(lo);
}

std::shared_ptr<const runtime::LoadedModel> stories_model() {
  static std::once_flag once;
  static std::shared_ptr<const runtime::LoadedModel> model;
  std::call_once(once, [] { model = load_model(kStoriesPath); });
  return model;
}

std::span<const float> SlowForward::prefill(std::span<const int32_t> tokens, int pos, model::Logits logits, int seq) {
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
  return inner_->prefill(tokens, pos, logits, seq);
}

std::span<const float> SlowForward::decode_batch(std::span<const model::BatchToken> batch) {
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
  return inner_->decode_batch(batch);
}

TestServer::TestServer(std::shared_ptr<const runtime::LoadedModel> model, server::ServerOptions opts, int threads,
                       int delay_ms) {
  opts.host = "127.0.0.1";
  opts.port = 0;
  server_ = std::make_unique<server::Server>(opts);
  port_ = server_->start();
  interp::InterpreterOptions io;
  io.threads = threads;
  io.n_ctx = 512;  // small: the context-cap tests fill it quickly
  server::ServedModel m = server::interpreter_model(std::move(model), io, opts.parallel);
  m.id = "stories260K";
  if (delay_ms > 0) m.forward = std::make_shared<SlowForward>(m.forward, delay_ms);
  server_->set_model(std::move(m));
}

TestServer::~TestServer() {
  server_->shutdown();
  server_->wait();
}

namespace {
HttpReply reply_of(const httplib::Result& r) {
  HttpReply out;
  if (!r) return out;
  out.status = r->status;
  out.body = r->body;
  out.headers = r->headers;
  out.json = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (out.json.is_discarded()) out.json = nullptr;
  return out;
}
httplib::Client client(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(60, 0);
  c.set_write_timeout(60, 0);
  return c;
}
}  // namespace

HttpReply http_get(int port, const std::string& path, const httplib::Headers& headers) {
  auto c = client(port);
  return reply_of(c.Get(path, headers));
}

HttpReply http_post(int port, const std::string& path, const std::string& body, const httplib::Headers& headers) {
  auto c = client(port);
  return reply_of(c.Post(path, headers, body, "application/json"));
}

SseReply http_stream(int port, const std::string& path, const nlohmann::json& body, int abort_after,
                     const httplib::Headers& headers) {
  auto c = client(port);
  SseReply out;
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.headers = headers;
  req.headers.emplace("Content-Type", "application/json");
  req.body = body.dump();
  std::string pending;
  int content_chunks = 0;
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    out.body.append(data, n);
    pending.append(data, n);
    size_t cut;
    while ((cut = pending.find("\n\n")) != std::string::npos) {
      const std::string event = pending.substr(0, cut);
      pending.erase(0, cut + 2);
      if (event.rfind(":", 0) == 0) continue;  // a comment (heartbeat)
      if (event.rfind("data: ", 0) != 0) {
        out.malformed = true;
        continue;
      }
      const std::string payload = event.substr(6);
      if (out.done) out.malformed = true;  // nothing may follow [DONE]
      if (payload == "[DONE]") {
        out.done = true;
        continue;
      }
      auto j = nlohmann::json::parse(payload, nullptr, false);
      if (j.is_discarded()) {
        out.malformed = true;
        continue;
      }
      out.chunks.push_back(j);
      if (j.contains("choices") && !j["choices"].empty()) ++content_chunks;
      if (abort_after >= 0 && content_chunks >= abort_after) {
        out.aborted = true;
        return false;
      }
    }
    return true;
  };
  auto r = c.send(req);
  if (r) {
    out.status = r->status;
    if (out.status != 200 && out.body.empty()) out.body = r->body;
  } else if (out.aborted) {
    out.status = 200;
  }
  if (!pending.empty() && !out.aborted) out.malformed = true;
  return out;
}

double metric(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  throw std::runtime_error("no metric " + name);
}

}  // namespace forge::testing
