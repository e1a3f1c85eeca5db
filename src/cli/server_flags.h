// The command-line flags of the OpenAI-compatible server, shared by `forge
// serve` and every compiled program's `--serve`.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "runtime/server/server_options.h"

namespace forge::cli {

struct ServerFlags {
  server::ServerOptions options;
  std::string api_key_file;

  // Options with --api-key-file read (std::runtime_error for an unreadable or empty file).
  server::ServerOptions resolve() const;
};

void add_server_options(CLI::App* cmd, ServerFlags& f);

}  // namespace forge::cli
