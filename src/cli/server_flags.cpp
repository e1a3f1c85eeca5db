#include "cli/server_flags.h"

#include <fstream>
#include <stdexcept>

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

server::ServerOptions ServerFlags::resolve() const {
  server::ServerOptions o = options;
  if (!api_key_file.empty()) o.api_key = read_key_file(api_key_file);
  return o;
}

void add_server_options(CLI::App* cmd, ServerFlags& f) {
  server::ServerOptions& s = f.options;
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
  cmd->add_option("--api-key-file", f.api_key_file, "Read the API key from the first line of this file")
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
}

}  // namespace forge::cli
