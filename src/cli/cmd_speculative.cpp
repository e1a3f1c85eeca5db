// `forge speculative`: `forge run` with a draft model guessing ahead
// (runtime/speculative.h); the text is the target model's own.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/draft_options.h"
#include "cli/model_options.h"
#include "cli/prompt_run.h"

namespace forge::cli {

void add_speculative_command(CLI::App& app, int& exit_code) {
  struct Options {
    ModelOptions model;
    PromptFlags run;
    DraftFlags draft;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "speculative", "Generate text from a prompt with speculative decoding: a small draft model guesses ahead");
  cmd->footer(
      "Example:\n"
      "  forge speculative -m llama-3.2-3b.gguf --draft llama-3.2-1b.gguf -p \"Once upon a time\" -n 128\n\n"
      "The draft model (same vocabulary) proposes up to --draft-tokens tokens greedily, while it is sure enough\n"
      "(--draft-p-min); the target model checks them in one batched pass, and each token is drawn from the\n"
      "target's logits as `forge run` draws it: the text is the one `forge run -m TARGET` writes with the same\n"
      "flags and seed. How many guesses were kept goes to stderr with the speed figures. `forge chat` takes\n"
      "--draft as well.");
  add_model_options(cmd, o->model);
  add_draft_options(cmd, o->draft, /*required=*/true);
  add_prompt_options(cmd, o->run);
  cmd->callback([o, &exit_code] {
    auto target = o->model.load();
    auto target_fwd = target->interpreter(o->model.interpreter_options());
    Drafted drafted(o->draft, o->model, target->tokenizer(), *target_fwd);
    const auto& s = drafted.forward().stats();
    run_prompt(
        o->run, *target, drafted.forward(),
        [&](nlohmann::json& j) {
          j["speculative"] = {{"drafted", s.drafted}, {"accepted", s.accepted}, {"target_passes", s.target_passes}};
        },
        [&] { std::fprintf(stderr, "%s\n", drafted.summary().c_str()); });
    exit_code = 0;
  });
}

}  // namespace forge::cli
