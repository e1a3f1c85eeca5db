// `forge speculative`: `forge run` with a draft model guessing ahead
// (runtime/speculative.h); the text is the target model's own.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/prompt_run.h"
#include "runtime/speculative.h"

namespace forge::cli {

void add_speculative_command(CLI::App& app, int& exit_code) {
  struct Options {
    ModelOptions model;
    PromptFlags run;
    std::string draft;
    runtime::SpeculativeOptions spec;
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
      "flags and seed. How many guesses were kept goes to stderr with the speed figures.");
  add_model_options(cmd, o->model);
  cmd->add_option("--draft", o->draft, "The draft model: a .gguf file or a Hugging Face folder")->required();
  cmd->add_option("--draft-tokens", o->spec.draft_tokens, "Tokens the draft guesses a round, at most")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--draft-p-min", o->spec.p_min,
                  "A round's guesses stop where the draft gives its best token less probability than this "
                  "(0: always guess --draft-tokens)")
      ->check(CLI::Range(0.0f, 1.0f))
      ->capture_default_str();
  add_prompt_options(cmd, o->run);
  cmd->callback([o, &exit_code] {
    auto target = o->model.load();
    auto target_fwd = target->interpreter(o->model.interpreter_options());
    ModelOptions draft_options;  // the draft's own file and vocabulary; adapters are the target's
    draft_options.model = o->draft;
    draft_options.threads = o->model.threads;
    draft_options.kv_f32 = o->model.kv_f32;
    draft_options.ctx = target_fwd->info().n_ctx;
    auto draft = draft_options.load();
    runtime::check_same_vocabulary(target->tokenizer(), draft->tokenizer());
    auto draft_fwd = draft->interpreter(draft_options.interpreter_options());
    runtime::SpeculativeForward fwd(*target_fwd, *draft_fwd, o->spec);
    const auto& s = fwd.stats();
    run_prompt(
        o->run, *target, fwd,
        [&](nlohmann::json& j) {
          j["speculative"] = {{"drafted", s.drafted}, {"accepted", s.accepted}, {"target_passes", s.target_passes}};
        },
        [&] {
          std::fprintf(stderr, "speculative: the draft guessed %lld tokens in %lld rounds, %lld kept (%.1f%%)\n",
                       static_cast<long long>(s.drafted), static_cast<long long>(s.target_passes),
                       static_cast<long long>(s.accepted), s.drafted > 0 ? 100.0 * s.accepted / s.drafted : 0.0);
        });
    exit_code = 0;
  });
}

}  // namespace forge::cli
