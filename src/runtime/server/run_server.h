// The blocking entry point shared by `forge serve` and a compiled binary's
// --serve: listen, load the model (answering 503 on /health meanwhile),
// serve until SIGINT or SIGTERM, then shut down gracefully.
#pragma once

#include <cstdio>

#include "runtime/server/served_model.h"
#include "runtime/server/server_options.h"

namespace forge::server {

// Returns the process exit code (0 after a signal-initiated shutdown).
// Throws std::runtime_error when the address cannot be bound, and whatever
// `load` throws. Prints "listening on http://HOST:PORT" and "ready" lines to `log`.
int run_server(const ModelLoader& load, const ServerOptions& opts, std::FILE* log = stderr);

}  // namespace forge::server
