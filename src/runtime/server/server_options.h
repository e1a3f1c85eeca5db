// What `forge serve` (and a compiled binary's --serve) can be told.
#pragma once

#include <cstddef>
#include <string>

namespace forge::server {

struct ServerOptions {
  std::string host = "127.0.0.1";   // loopback unless asked otherwise
  int port = 8080;                  // 0: any free port (start() returns it)
  int parallel = 1;                 // slots: sequences decoded together
  int queue = 16;                   // requests (choices) waiting for a slot; past it: 503
  std::string api_key;              // empty: no authentication
  size_t max_body_bytes = 1 << 20;  // larger bodies: 413
  int read_timeout_s = 30;          // reading a request, writing a response
  int idle_timeout_s = 5;           // an idle keep-alive connection is closed after this
  int shutdown_grace_s = 5;         // on stop: in-flight requests get this long to finish
  std::string model_id;             // the name /v1/models reports; default: the model's name
};

}  // namespace forge::server
