#include "server_test_support.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "format/gguf_writer.h"
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

void write_wide_model(const std::string& path) {
  if (!std::filesystem::exists(kStoriesPath)) throw std::runtime_error("missing test model " + kStoriesPath);
  GgufFile base = GgufFile::open(kStoriesPath);
  GgufWriter src = GgufWriter::copy_of(base);
  GgufWriter w;
  for (const auto& [key, value] : src.metadata()) w.set(key, value);  // vocabulary, template, rope, norms
  constexpr int kEmbd = 512, kFf = 1536, kLayers = 6, kHeads = 8, kVocab = 512;
  w.set_u32("llama.embedding_length", kEmbd);
  w.set_u32("llama.feed_forward_length", kFf);
  w.set_u32("llama.block_count", kLayers);
  w.set_u32("llama.attention.head_count", kHeads);
  w.set_u32("llama.attention.head_count_kv", kHeads);
  w.set_u32("llama.rope.dimension_count", kEmbd / kHeads);
  w.set_u32("llama.context_length", 512);
  uint32_t seed = 1;
  auto random = [&seed](int64_t n, float scale) {
    std::vector<uint8_t> bytes(static_cast<size_t>(n) * 4);
    std::mt19937 rng(seed++);
    std::uniform_real_distribution<float> u(-scale, scale);
    for (int64_t i = 0; i < n; ++i) {
      const float v = u(rng);
      std::memcpy(bytes.data() + i * 4, &v, 4);
    }
    return bytes;
  };
  auto ones = [](int64_t n) {
    std::vector<uint8_t> bytes(static_cast<size_t>(n) * 4);
    const float one = 1.0f;
    for (int64_t i = 0; i < n; ++i) std::memcpy(bytes.data() + i * 4, &one, 4);
    return bytes;
  };
  w.add_tensor("token_embd.weight", GgmlType::F32, {kEmbd, kVocab}, random(int64_t{kEmbd} * kVocab, 0.5f));
  for (int l = 0; l < kLayers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    w.add_tensor(b + "attn_norm.weight", GgmlType::F32, {kEmbd}, ones(kEmbd));
    for (const char* m : {"attn_q", "attn_k", "attn_v", "attn_output"}) {
      w.add_tensor(b + m + ".weight", GgmlType::F32, {kEmbd, kEmbd}, random(int64_t{kEmbd} * kEmbd, 0.04f));
    }
    w.add_tensor(b + "ffn_norm.weight", GgmlType::F32, {kEmbd}, ones(kEmbd));
    w.add_tensor(b + "ffn_gate.weight", GgmlType::F32, {kEmbd, kFf}, random(int64_t{kEmbd} * kFf, 0.04f));
    w.add_tensor(b + "ffn_up.weight", GgmlType::F32, {kEmbd, kFf}, random(int64_t{kEmbd} * kFf, 0.04f));
    w.add_tensor(b + "ffn_down.weight", GgmlType::F32, {kFf, kEmbd}, random(int64_t{kFf} * kEmbd, 0.025f));
  }
  w.add_tensor("output_norm.weight", GgmlType::F32, {kEmbd}, ones(kEmbd));
  w.add_tensor("output.weight", GgmlType::F32, {kEmbd, kVocab}, random(int64_t{kEmbd} * kVocab, 0.04f));
  w.write(path);
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

TestServer::TestServer(std::vector<std::string> argv) {
  argv.push_back("--port");
  argv.push_back("0");
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  pid_ = fork();
  if (pid_ == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  std::string err;
  char buf[512];
  std::smatch m;
  while (err.find("ready") == std::string::npos) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    err.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);  // later stderr output goes nowhere (SIGPIPE is ignored by the server)
  if (!std::regex_search(err, m, std::regex("listening on http://127\\.0\\.0\\.1:(\\d+)"))) {
    throw std::runtime_error("the server program did not start: " + err);
  }
  port_ = std::stoi(m[1]);
}

TestServer::~TestServer() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    return;
  }
  server_->shutdown();
  server_->wait();
}

TestServer* TestServer::for_suite(const server::ServerOptions& opts) {
  const char* program = std::getenv("FORGE_TEST_SERVER_PROGRAM");
  if (!program || !*program) return new TestServer(stories_model(), opts);
  return new TestServer({program, "--serve", "-t", "1", "--alias", "stories260K", "--max-body",
                         std::to_string(opts.max_body_bytes), "--parallel", std::to_string(opts.parallel)});
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

void post_and_hang_up(int port, const std::string& path, const std::string& body, int wait_ms) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("connect failed");
  }
  const std::string req = "POST " + path +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                          "Content-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
  const ssize_t sent = ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  (void)sent;
  std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  ::close(fd);
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
