// `forge run`: generate text from a prompt, streamed as it is produced.
#include <memory>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/prompt_run.h"

namespace forge::cli {

void add_run_command(CLI::App& app, int& exit_code) {
  struct Options {
    ModelOptions model;
    PromptFlags run;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("run", "Generate text from a prompt with the interpreter");
  cmd->footer(
      "Example:\n"
      "  forge run -m ../shared/data/models/stories260K/stories260K.gguf -p \"Once upon a time\" --greedy -n 64\n\n"
      "Text goes to stdout as it is generated; prompt and generation speed go to stderr.");
  add_model_options(cmd, o->model);
  add_prompt_options(cmd, o->run);
  cmd->callback([o, &exit_code] {
    auto m = o->model.load();
    auto fwd = m->interpreter(o->model.interpreter_options());
    run_prompt(o->run, *m, *fwd);
    exit_code = 0;
  });
}

}  // namespace forge::cli
