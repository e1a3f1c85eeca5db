// `forge serve`: the OpenAI-compatible HTTP server over the interpreter.
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/server_flags.h"
#include "runtime/server/interpreter_model.h"
#include "runtime/server/run_server.h"

namespace forge::cli {

void add_serve_command(CLI::App& app, int& exit_code) {
  struct Options {
    ModelOptions model;
    ServerFlags server;
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
  add_server_options(cmd, o->server);
  cmd->callback([o, &exit_code] {
    const server::ServerOptions options = o->server.resolve();
    const ModelOptions mo = o->model;
    auto load = [mo](int n_slots) {
      std::string note;
      server::ServedModel s = server::interpreter_model(mo.load(), mo.interpreter_options(), n_slots, &note);
      if (!note.empty()) std::fprintf(stderr, "forge serve: %s\n", note.c_str());
      s.id = std::filesystem::path(mo.model).filename().string();
      return s;
    };
    exit_code = server::run_server(load, options);
  });
}

}  // namespace forge::cli
