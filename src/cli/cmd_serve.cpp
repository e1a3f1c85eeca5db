// `forge serve`: the OpenAI-compatible HTTP server over the interpreter.
#include <filesystem>
#include <fstream>
#include <memory>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "runtime/server/interpreter_model.h"
#include "runtime/server/run_server.h"

namespace forge::cli {

namespace {

// The key from --api-key-file: its first line, surrounding whitespace dropped.
std::string read_key_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot read the API key file");
  std::string key;
  std::getline(in, key);
  const auto first = key.find_first_not_of(" \t\r\n");
  const auto last = key.find_last_not_of(" \t\r\n");
  key = first == std::string::npos ? "" : key.substr(first, last - first + 1);
  if (key.empty()) throw std::runtime_error(path + ": the API key file is empty");
  return key;
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  struct Options {
    ModelOptions model;
    server::ServerOptions server;
    std::string api_key_file;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve a model over an OpenAI-compatible HTTP API, with a chat page");
  cmd->footer(
      "Example:\n"
      "  forge serve -m ../shared/data/models/stories260K/stories260K.gguf --port 8080 --parallel 4\n"
      "  then open http://127.0.0.1:8080/ or POST to /v1/chat/completions, /v1/completions.\n\n"
      "Endpoints: /v1/chat/completions /v1/completions /v1/models /health /tokenize /detokenize /metrics /\n"
      "Stops cleanly on SIGINT or SIGTERM (in-flight requests get --shutdown-grace seconds to finish).");
  add_model_options(cmd, o->model);
  server::ServerOptions& s = o->server;
  cmd->add_option("--host", s.host, "Address to listen on (default loopback only)")->capture_default_str();
  cmd->add_option("--port", s.port, "Port (0: any free one, printed at start)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--parallel,--slots", s.parallel, "Requests generated together (continuous batching)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--queue", s.queue, "Requests that may wait for a slot; more get 503 with Retry-After")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  auto* key = cmd->add_option("--api-key", s.api_key, "Require 'Authorization: Bearer KEY' (all but /health and /)");
  cmd->add_option("--api-key-file", o->api_key_file, "Read the API key from the first line of this file")
      ->excludes(key);
  cmd->add_option("--max-body", s.max_body_bytes, "Largest request body in bytes (larger: 413)")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30))
      ->capture_default_str();
  cmd->add_option("--timeout", s.read_timeout_s, "Seconds to read a request or write a response")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->add_option("--idle-timeout", s.idle_timeout_s, "Seconds an idle keep-alive connection stays open")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->add_option("--shutdown-grace", s.shutdown_grace_s, "Seconds in-flight requests get to finish on shutdown")
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
  cmd->add_option("--alias", s.model_id, "Model name reported by /v1/models (default: the file name)");
  cmd->callback([o, &exit_code] {
    if (!o->api_key_file.empty()) o->server.api_key = read_key_file(o->api_key_file);
    const ModelOptions mo = o->model;
    auto load = [mo](int n_slots) {
      std::string note;
      server::ServedModel s = server::interpreter_model(mo.load(), mo.interpreter_options(), n_slots, &note);
      if (!note.empty()) std::fprintf(stderr, "forge serve: %s\n", note.c_str());
      s.id = std::filesystem::path(mo.model).filename().string();
      return s;
    };
    exit_code = server::run_server(load, o->server);
  });
}

}  // namespace forge::cli
