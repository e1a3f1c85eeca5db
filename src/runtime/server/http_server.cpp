#include "runtime/server/http_server.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "runtime/server/api_error.h"
#include "runtime/server/api_key.h"
#include "runtime/server/chat_page.h"
#include "runtime/server/completion_request.h"
#include "runtime/server/openai_json.h"
#include "runtime/server/scheduler.h"

namespace forge::server {

namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

// A non-streamed request that finishes within this answers with a plain
// response (right status, Content-Length); a longer one switches to a chunked
// body so that a client that went away is noticed (a write fails) and its
// slot freed.
constexpr std::chrono::milliseconds kPlainWait{1000};
// While nothing else is written, a stream (or a long non-streamed answer)
// writes something this often, again to notice clients that went away.
constexpr std::chrono::milliseconds kHeartbeat{1000};
constexpr std::chrono::milliseconds kPoll{100};

Endpoint endpoint_of(const std::string& path) {
  if (path == "/v1/chat/completions") return Endpoint::kChat;
  if (path == "/v1/completions") return Endpoint::kCompletions;
  if (path.rfind("/v1/models", 0) == 0) return Endpoint::kModels;
  if (path == "/health") return Endpoint::kHealth;
  if (path == "/tokenize") return Endpoint::kTokenize;
  if (path == "/detokenize") return Endpoint::kDetokenize;
  if (path == "/metrics") return Endpoint::kMetrics;
  if (path == "/") return Endpoint::kPage;
  return Endpoint::kOther;
}

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status();
  res.set_content(dump(e.body()), "application/json");
}

void send_json(httplib::Response& res, const Json& j) {
  res.set_content(dump(j), "application/json");
}

OrderedJson parse_body(const httplib::Request& req) {
  if (req.body.empty()) throw ApiError(400, "the request body is empty (expected a JSON object)");
  try {
    return OrderedJson::parse(req.body);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e999
    // nlohmann's messages name the byte and what was wrong, ill-formed UTF-8 included.
    throw ApiError(400, std::string("the request body is not valid JSON: ") + e.what(), "", "invalid_json");
  }
}

// The events of one request gathered per choice.
struct ChoiceState {
  ChoiceResult result;
  bool finished = false;
  std::string error;
  bool cancelled = false;
  size_t text_offset = 0;  // completions logprobs: where the next token starts
};

struct RequestState {
  ResponseMeta meta;
  CompletionRequest req;
  std::shared_ptr<RequestChannel> channel;
  const Tokenizer* tok = nullptr;
  std::vector<ChoiceState> choices;
  Usage usage;
  int n_finished = 0;
  bool started = false;  // stream: role chunks written
  Clock::time_point last_write = Clock::now();

  void absorb(const ChoiceEvent& e) {
    ChoiceState& c = choices[e.index];
    c.result.text += e.text;
    c.result.tokens.insert(c.result.tokens.end(), e.tokens.begin(), e.tokens.end());
    c.result.logprobs.insert(c.result.logprobs.end(), e.logprobs.begin(), e.logprobs.end());
    if (e.finish) {
      c.finished = true;
      c.result.finish = e.finish;
      c.error = e.error;
      c.cancelled = *e.finish == runtime::FinishReason::kCancelled;
      ++n_finished;
      usage.prompt_tokens = e.prompt_tokens;  // the same prompt for every choice: counted once
      usage.cached_tokens = e.cached_tokens;
      usage.completion_tokens += e.completion_tokens;
    }
  }
  bool done() const { return n_finished == static_cast<int>(choices.size()); }
  // The first failure among the choices, as the error to answer with.
  std::optional<ApiError> failure() const {
    for (const ChoiceState& c : choices) {
      if (!c.error.empty()) return ApiError(500, "generation failed: " + c.error, "", "generation_failed");
    }
    for (const ChoiceState& c : choices) {
      if (c.cancelled)
        return ApiError(503, "the server is shutting down; the generation was cancelled", "", "shutdown");
    }
    return std::nullopt;
  }
};

}  // namespace

struct Server::Impl {
  explicit Impl(Server& s) : self(s) {}

  Server& self;
  httplib::Server http;
  std::thread listener;
  Metrics metrics;
  ServedModel model;  // set once before ready_, read-only afterwards
  std::unique_ptr<Scheduler> scheduler;
  std::atomic<bool> draining{false};
  std::atomic<int> open_bodies{0};  // chunked responses still being written
  std::once_flag stopped;

  const ServerOptions& opts() const { return self.opts_; }

  void routes();
  void check_ready() const {
    if (!self.ready()) throw ApiError(503, "the model is still loading", "", "loading");
  }
  void completion(const httplib::Request& req, httplib::Response& res, ApiKind kind);
  std::vector<int32_t> prompt_tokens(const CompletionRequest& cr) const;
  void answer_plain(httplib::Response& res, const std::shared_ptr<RequestState>& st);
  void answer_stream(httplib::Response& res, const std::shared_ptr<RequestState>& st);

  // Runs a handler, turning ApiError and any other exception into OpenAI errors.
  template <typename F>
  static httplib::Server::Handler wrap(F f) {
    return [f](const httplib::Request& req, httplib::Response& res) {
      try {
        f(req, res);
      } catch (const ApiError& e) {
        send_error(res, e);
      } catch (const std::exception& e) {
        send_error(res, ApiError(500, std::string("internal error: ") + e.what()));
      }
    };
  }
};

Server::Server(ServerOptions opts) : opts_(std::move(opts)), impl_(std::make_unique<Impl>(*this)) {
  if (opts_.parallel < 1) throw std::invalid_argument("--parallel must be at least 1");
  if (opts_.queue < 0) throw std::invalid_argument("--queue must not be negative");
}

Server::~Server() {
  shutdown();
  wait();
}

SlotGauges Server::gauges() const {
  if (!ready() || !impl_->scheduler) return {opts_.parallel, 0, 0};
  return impl_->scheduler->gauges();
}

int Server::start() {
  httplib::Server& http = impl_->http;
  // Every waiting request holds an HTTP thread: enough for all slots, the
  // queue and a few quick requests (health, metrics) beside them.
  const size_t threads = static_cast<size_t>(opts_.parallel + opts_.queue + 8);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(opts_.max_body_bytes);
  http.set_read_timeout(opts_.read_timeout_s, 0);
  http.set_write_timeout(opts_.read_timeout_s, 0);
  http.set_keep_alive_timeout(opts_.idle_timeout_s);
  impl_->routes();
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let a
  // second server bind the same port and take half of its connections.
  http.set_socket_options([](int sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  if (opts_.port == 0) {
    port_ = http.bind_to_any_port(opts_.host);
    if (port_ < 0) throw std::runtime_error("cannot listen on " + opts_.host + " (any port)");
  } else {
    if (!http.bind_to_port(opts_.host, opts_.port)) {
      throw std::runtime_error("cannot listen on " + opts_.host + ":" + std::to_string(opts_.port) +
                               " (in use, or not an address of this machine)");
    }
    port_ = opts_.port;
  }
  impl_->listener = std::thread([this] { impl_->http.listen_after_bind(); });
  // httplib's stop() does nothing before the accept loop runs: a shutdown
  // right after start (a model that fails to load) would leave it running
  // forever. cpp-httplib 0.11 has no wait_until_ready(), so wait here.
  for (int i = 0; i < 5000 && !impl_->http.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return port_;
}

void Server::set_model(ServedModel model) {
  if (!model.forward || !model.tokenizer || !model.chat_prompt) {
    throw std::invalid_argument("set_model: the model needs a forward, a tokenizer and a chat prompt");
  }
  if (model.id.empty()) model.id = "forge";
  if (!opts_.model_id.empty()) model.id = opts_.model_id;
  impl_->model = std::move(model);
  impl_->scheduler =
      std::make_unique<Scheduler>(*impl_->model.forward, *impl_->model.tokenizer, opts_.queue, impl_->metrics);
  ready_.store(true);
}

void Server::shutdown() {
  std::call_once(impl_->stopped, [this] {
    impl_->draining.store(true);
    if (impl_->scheduler) {
      const auto deadline = Clock::now() + std::chrono::seconds(opts_.shutdown_grace_s);
      while (Clock::now() < deadline) {
        SlotGauges g = impl_->scheduler->gauges();
        if (g.busy == 0 && g.queued == 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      impl_->scheduler->stop();  // cancels what is left; every stream gets its last event
    }
    // Let the streams write those last events: httplib stops writing once it is stopped.
    const auto deadline = Clock::now() + std::chrono::seconds(2);
    while (impl_->open_bodies.load() > 0 && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    impl_->http.stop();
  });
}

void Server::wait() {
  if (impl_->listener.joinable()) impl_->listener.join();
}

void Server::Impl::routes() {
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    metrics.request(endpoint_of(req.path));
    const std::string& key = opts().api_key;
    // /health is for load balancers and the page is static text: neither needs the key.
    if (key.empty() || req.path == "/health" || req.path == "/") return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (auth.rfind(prefix, 0) == 0 && api_key_matches(key, std::string_view(auth).substr(prefix.size()))) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    res.set_header("WWW-Authenticate", "Bearer");
    send_error(
        res, ApiError(401, auth.empty() ? "missing API key: send 'Authorization: Bearer <key>'" : "invalid API key", "",
                      "invalid_api_key"));
    return httplib::Server::HandlerResponse::Handled;
  });
  // Errors httplib raises itself (no route, body too large, bad request line) in OpenAI's shape.
  http.set_error_handler(
      httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // ours already
        if (res.status == 404) {
          send_error(res, ApiError(404, "no such endpoint: " + req.method + " " + req.path, "", "unknown_url"));
        } else if (res.status == 405) {
          send_error(res, ApiError(405, "method " + req.method + " not allowed on " + req.path));
        } else if (res.status == 413) {
          send_error(
              res, ApiError(413, "the request body is larger than " + std::to_string(opts().max_body_bytes) + " bytes",
                            "", "body_too_large"));
        } else {
          send_error(res, ApiError(res.status, "bad HTTP request (status " + std::to_string(res.status) + ")"));
        }
        return httplib::Server::HandlerResponse::Handled;
      }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, ApiError(500, "internal error: " + what));
  });
  http.set_logger(
      [this](const httplib::Request&, const httplib::Response& res) { metrics.response_status(res.status); });

  http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(chat_page_html()), "text/html; charset=utf-8");
  });
  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (!self.ready()) {
      res.status = 503;
      send_json(res, {{"status", "loading"}});
    } else if (draining.load()) {
      res.status = 503;
      send_json(res, {{"status", "shutting down"}});
    } else {
      SlotGauges g = self.gauges();
      send_json(res, {{"status", "ok"}, {"slots_idle", g.total - g.busy}, {"slots_processing", g.busy}});
    }
  });
  http.Get("/metrics", wrap([this](const httplib::Request&, httplib::Response& res) {
             res.set_content(metrics.render(self.gauges()), "text/plain; version=0.0.4; charset=utf-8");
           }));
  auto model_json = [this] {
    const model::ModelInfo& info = model.forward->info();
    return Json{{"id", model.id},
                {"object", "model"},
                {"created", 0},
                {"owned_by", "forge"},
                {"meta", {{"n_ctx", info.n_ctx}, {"n_vocab", info.n_vocab}, {"arch", info.arch}}}};
  };
  http.Get("/v1/models", wrap([this, model_json](const httplib::Request&, httplib::Response& res) {
             check_ready();
             send_json(res, {{"object", "list"}, {"data", Json::array({model_json()})}});
           }));
  http.Get(R"(/v1/models/(.+))", wrap([this, model_json](const httplib::Request& req, httplib::Response& res) {
             check_ready();
             if (req.matches[1] != model.id) {
               throw ApiError(
                   404, "no model named '" + std::string(req.matches[1]) + "' (this server has '" + model.id + "')",
                   "model", "model_not_found");
             }
             send_json(res, model_json());
           }));
  http.Post("/v1/chat/completions", wrap([this](const httplib::Request& req, httplib::Response& res) {
              completion(req, res, ApiKind::kChat);
            }));
  http.Post("/v1/completions", wrap([this](const httplib::Request& req, httplib::Response& res) {
              completion(req, res, ApiKind::kCompletion);
            }));
  http.Post("/tokenize", wrap([this](const httplib::Request& req, httplib::Response& res) {
              check_ready();
              OrderedJson body = parse_body(req);
              if (!body.is_object()) throw ApiError(400, "the request body must be a JSON object");
              auto content = body.find("content");
              if (content == body.end() || !content->is_string()) {
                throw bad_field("content", "'content' (the text to tokenize) must be a string");
              }
              auto flag = [&](const char* name, bool def) {
                auto it = body.find(name);
                if (it == body.end() || it->is_null()) return def;
                if (!it->is_boolean()) throw bad_field(name, std::string("'") + name + "' must be true or false");
                return it->get<bool>();
              };
              EncodeOptions eo{.add_special = flag("add_special", true), .parse_special = flag("parse_special", true)};
              send_json(res, {{"tokens", model.tokenizer->encode(content->get<std::string>(), eo)}});
            }));
  http.Post("/detokenize", wrap([this](const httplib::Request& req, httplib::Response& res) {
              check_ready();
              OrderedJson body = parse_body(req);
              if (!body.is_object()) throw ApiError(400, "the request body must be a JSON object");
              auto tokens = body.find("tokens");
              if (tokens == body.end()) throw bad_field("tokens", "'tokens' (a list of token ids) is required");
              std::vector<int32_t> ids = parse_token_ids(*tokens, "tokens", model.tokenizer->n_vocab());
              send_json(res, {{"content", model.tokenizer->decode(ids)}});
            }));
}

std::vector<int32_t> Server::Impl::prompt_tokens(const CompletionRequest& cr) const {
  std::vector<int32_t> prompt;
  if (cr.kind == ApiKind::kChat) {
    try {
      prompt = model.chat_prompt(cr.messages);
    } catch (const std::exception& e) {
      throw ApiError(400, std::string("the chat template refused the conversation: ") + e.what(), "messages");
    }
  } else if (cr.prompt) {
    // As `forge run` does: BOS when the vocabulary wants one, special tokens written as text parsed.
    prompt = model.tokenizer->encode(*cr.prompt, {.add_special = true, .parse_special = true});
  } else {
    prompt = cr.prompt_ids;
  }
  if (prompt.empty()) throw ApiError(400, "the prompt is empty (no tokens)", "prompt");
  const int n_ctx = model.forward->info().n_ctx;
  if (static_cast<int>(prompt.size()) >= n_ctx) {
    throw ApiError(400,
                   "the prompt is " + std::to_string(prompt.size()) + " tokens but the context holds " +
                       std::to_string(n_ctx) + " (and at least one must be left to generate)",
                   cr.kind == ApiKind::kChat ? "messages" : "prompt", "context_length_exceeded");
  }
  return prompt;
}

void Server::Impl::completion(const httplib::Request& req, httplib::Response& res, ApiKind kind) {
  check_ready();
  if (draining.load()) throw ApiError(503, "the server is shutting down", "", "shutdown");
  OrderedJson body = parse_body(req);
  CompletionRequest cr = parse_completion_request(body, kind, model.tokenizer->n_vocab());
  std::vector<int32_t> prompt = prompt_tokens(cr);
  const int room = model.forward->info().n_ctx - static_cast<int>(prompt.size());

  auto st = std::make_shared<RequestState>();
  st->meta = new_response_meta(kind, model.id);
  st->tok = model.tokenizer;
  st->channel = std::make_shared<RequestChannel>(cr.n);
  st->choices.resize(cr.n);
  std::vector<GenJob> jobs;
  for (int i = 0; i < cr.n; ++i) {
    GenJob j;
    j.channel = st->channel;
    j.index = i;
    j.prompt = prompt;
    j.sampling = cr.sampling;
    // Choices of one seeded request differ from each other, and each is reproducible.
    if (j.sampling.seed) j.sampling.seed = *j.sampling.seed + static_cast<uint64_t>(i);
    j.max_tokens = std::min(cr.max_tokens.value_or(room), room);
    j.stop = cr.stop;
    j.top_logprobs = cr.top_logprobs;
    jobs.push_back(std::move(j));
  }
  st->req = std::move(cr);
  if (!scheduler->submit(std::move(jobs))) {
    metrics.rejected_full();
    res.set_header("Retry-After", "1");
    throw ApiError(503, "every slot is busy and the queue is full; retry later", "", "queue_full");
  }
  if (st->req.stream) {
    answer_stream(res, st);
  } else {
    answer_plain(res, st);
  }
}

void Server::Impl::answer_plain(httplib::Response& res, const std::shared_ptr<RequestState>& st) {
  const bool with_logprobs = st->req.top_logprobs >= 0;
  auto body = [st, with_logprobs]() -> std::pair<int, std::string> {
    if (auto err = st->failure()) return {err->status(), dump(err->body())};
    return {200, dump(completion_json(
                     st->meta,
                     [&] {
                       std::vector<ChoiceResult> r;
                       for (const ChoiceState& c : st->choices) r.push_back(c.result);
                       return r;
                     }(),
                     st->usage, *st->tok, with_logprobs, st->req.return_tokens))};
  };
  const auto deadline = Clock::now() + kPlainWait;
  while (!st->done() && Clock::now() < deadline) {
    for (const ChoiceEvent& e : st->channel->take(kPoll)) st->absorb(e);
  }
  if (st->done()) {
    auto [status, text] = body();
    res.status = status;
    res.set_content(text, "application/json");
    return;
  }
  // Long: answer chunked, with whitespace (valid before JSON) as a heartbeat.
  open_bodies.fetch_add(1);
  res.set_chunked_content_provider(
      "application/json",
      [st, body](size_t, httplib::DataSink& sink) {
        for (const ChoiceEvent& e : st->channel->take(kPoll)) st->absorb(e);
        if (st->done()) {
          std::string text = body().second;
          sink.write(text.data(), text.size());
          sink.done();
          return true;
        }
        if (Clock::now() - st->last_write >= kHeartbeat) {
          st->last_write = Clock::now();
          if (!sink.write(" ", 1)) {
            st->channel->cancel();
            return false;
          }
        }
        return true;
      },
      [this, st](bool) {
        st->channel->cancel();
        open_bodies.fetch_sub(1);
      });
}

void Server::Impl::answer_stream(httplib::Response& res, const std::shared_ptr<RequestState>& st) {
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  open_bodies.fetch_add(1);
  res.set_chunked_content_provider(
      "text/event-stream",
      [st](size_t, httplib::DataSink& sink) {
        const CompletionRequest& cr = st->req;
        const bool usage_null = cr.include_usage;
        auto send = [&](const std::string& data) {
          const std::string event = "data: " + data + "\n\n";
          st->last_write = Clock::now();
          if (sink.write(event.data(), event.size())) return true;
          st->channel->cancel();  // the client went away: stop generating now
          return false;
        };
        if (!st->started) {
          st->started = true;
          if (cr.kind == ApiKind::kChat) {
            for (int i = 0; i < cr.n; ++i) {
              if (!send(dump(chunk_json(st->meta, i, "", true, std::nullopt, nullptr, usage_null, nullptr))))
                return false;
            }
          }
        }
        std::vector<ChoiceEvent> events = st->channel->take(kPoll);
        if (events.empty()) {
          if (Clock::now() - st->last_write >= kHeartbeat) {
            const char ping[] = ": ping\n\n";  // an SSE comment: clients ignore it
            st->last_write = Clock::now();
            if (!sink.write(ping, sizeof ping - 1)) {
              st->channel->cancel();
              return false;
            }
          }
          return true;
        }
        // One chunk per event (a token's text, as it was produced); a finish
        // that carries no text of its own travels with the choice's text before it.
        for (size_t k = 0; k < events.size(); ++k) {
          ChoiceEvent& m = events[k];
          if (!m.finish) {
            auto next = std::find_if(events.begin() + k + 1, events.end(),
                                     [&](const ChoiceEvent& e) { return e.index == m.index; });
            if (next != events.end() && next->finish && next->text.empty() && next->error.empty() &&
                *next->finish != runtime::FinishReason::kCancelled) {
              next->text = std::move(m.text);
              next->tokens.insert(next->tokens.begin(), m.tokens.begin(), m.tokens.end());
              next->logprobs.insert(next->logprobs.begin(), m.logprobs.begin(), m.logprobs.end());
              continue;
            }
          }
          const int idx = m.index;
          st->absorb(m);
          if (m.finish && (!m.error.empty() || *m.finish == runtime::FinishReason::kCancelled)) {
            // Mid-stream failures are an error event, as OpenAI sends them; the stream ends there.
            st->channel->cancel();
            send(dump(st->failure()->body()));
            sink.done();
            return true;
          }
          Json lp = nullptr;
          if (cr.top_logprobs >= 0) lp = logprobs_json(cr.kind, m.logprobs, *st->tok, st->choices[idx].text_offset);
          if (m.text.empty() && !m.finish && m.logprobs.empty()) continue;
          if (!send(dump(chunk_json(st->meta, idx, m.text, false, m.finish, lp, usage_null,
                                    cr.return_tokens ? &m.tokens : nullptr)))) {
            return false;
          }
        }
        if (st->done()) {
          if (cr.include_usage && !send(dump(usage_chunk_json(st->meta, st->usage)))) return false;
          if (!send("[DONE]")) return false;
          sink.done();
        }
        return true;
      },
      [this, st](bool) {
        st->channel->cancel();
        open_bodies.fetch_sub(1);
      });
}

}  // namespace forge::server
