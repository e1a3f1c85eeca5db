// `forge serve`: the OpenAI-compatible HTTP server over the interpreter.
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "cli/draft_options.h"
#include "cli/model_options.h"
#include "cli/server_flags.h"
#include "runtime/server/interpreter_model.h"
#include "runtime/server/run_server.h"

namespace forge::cli {

void add_serve_command(CLI::App& app, int& exit_code) {
  struct Options {
    ModelOptions model;
    ServerFlags server;
    DraftFlags draft;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve a model over an OpenAI-compatible HTTP API, with a chat page");
  cmd->footer(
      "Example:\n"
      "  forge serve -m ../shared/data/models/stories260K/stories260K.gguf --port 8080 --parallel 4\n"
      "  then open http://127.0.0.1:8080/ or POST to /v1/chat/completions, /v1/completions.\n\n"
      "Endpoints: /v1/chat/completions /v1/completions /v1/models /health /tokenize /detokenize /metrics /\n"
      "Stops cleanly on SIGINT or SIGTERM (in-flight requests get --shutdown-grace seconds to finish).\n"
      "--draft (with --parallel 1) decodes speculatively, as `forge speculative` does; the replies stay the same.");
  add_model_options(cmd, o->model);
  add_server_options(cmd, o->server);
  add_draft_options(cmd, o->draft, /*required=*/false);
  cmd->callback([o, &exit_code] {
    const server::ServerOptions options = o->server.resolve();
    if (!o->draft.model.empty() && options.parallel != 1) {
      throw std::invalid_argument("--draft decodes one sequence at a time: serve it with --parallel 1");
    }
    const ModelOptions mo = o->model;
    const DraftFlags draft = o->draft;
    auto load = [mo, draft](int n_slots) {
      std::string note;
      server::ServedModel s = server::interpreter_model(mo.load(), mo.interpreter_options(), n_slots, &note);
      if (!note.empty()) std::fprintf(stderr, "forge serve: %s\n", note.c_str());
      s.id = std::filesystem::path(mo.model).filename().string();
      if (!draft.model.empty()) {
        // The draft guessing ahead of the target, which it keeps alive (s.owner,
        // the loaded model, outlives s.forward).
        struct WithDraft {
          std::shared_ptr<model::Forward> target;
          std::unique_ptr<Drafted> drafted;
        };
        auto w = std::make_shared<WithDraft>();
        w->target = s.forward;
        w->drafted = std::make_unique<Drafted>(draft, mo, *s.tokenizer, *s.forward);
        s.forward = std::shared_ptr<model::Forward>(w, &w->drafted->forward());
        std::fprintf(stderr, "forge serve: %s guesses ahead (at most %d tokens a round)\n",
                     std::filesystem::path(draft.model).filename().c_str(), draft.spec.draft_tokens);
      }
      return s;
    };
    exit_code = server::run_server(load, options);
  });
}

}  // namespace forge::cli
