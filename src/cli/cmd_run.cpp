// `forge run`: generate text from a prompt, streamed as it is produced.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "nlohmann/json.hpp"
#include "runtime/sampler.h"

namespace forge::cli {

void add_run_command(CLI::App& app, int& exit_code) {
  struct Options {
    ModelOptions model;
    SamplingFlags sampling;
    std::string prompt;
    bool no_stats = false;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("run", "Generate text from a prompt with the interpreter");
  cmd->footer(
      "Example:\n"
      "  forge run -m ../shared/data/models/stories260K/stories260K.gguf -p \"Once upon a time\" --greedy -n 64\n\n"
      "Text goes to stdout as it is generated; prompt and generation speed go to stderr.");
  add_model_options(cmd, o->model);
  cmd->add_option("-p,--prompt", o->prompt, "The prompt")->required();
  add_sampling_options(cmd, o->sampling);
  cmd->add_flag("--no-stats", o->no_stats, "Do not print speed figures to stderr");
  cmd->add_flag("--json", o->json,
                "Print one JSON object at the end instead of streaming: prompt and generated token ids, text, "
                "finish reason, timings");
  cmd->callback([o, &exit_code] {
    if (o->prompt.empty()) throw std::invalid_argument("the prompt is empty");
    runtime::SamplingParams params = o->sampling.resolve();
    auto m = o->model.load();
    auto fwd = m->interpreter(o->model.interpreter_options());
    const Tokenizer& tok = m->tokenizer();
    std::vector<int32_t> prompt = tok.encode(o->prompt, {.add_special = true, .parse_special = true});
    runtime::Sampler sampler(params, m->spec().n_vocab);
    runtime::Session session(*fwd, tok);
    const bool stream = !o->json;
    auto res = session.generate(prompt, sampler, o->sampling.gen, [stream](std::string_view text) {
      if (stream) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
      }
      return true;
    });
    if (o->json) {
      nlohmann::json j = {{"prompt_tokens", prompt},
                          {"tokens", res.tokens},
                          {"text", res.text},
                          {"finish_reason", runtime::finish_reason_name(res.finish)},
                          {"prompt_seconds", res.prompt_seconds},
                          {"generation_seconds", res.gen_seconds}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::fputc('\n', stdout);
    }
    std::fflush(stdout);
    if (!o->no_stats) {
      const int n_gen = static_cast<int>(res.tokens.size());
      std::fprintf(stderr, "prompt: %d tokens in %.3f s (%.1f tok/s); generation: %d tokens in %.3f s (%.1f tok/s); %s\n",
                   res.prompt_tokens, res.prompt_seconds, res.prompt_tokens / std::max(res.prompt_seconds, 1e-9),
                   n_gen, res.gen_seconds, n_gen / std::max(res.gen_seconds, 1e-9),
                   res.finish == runtime::FinishReason::kContextFull ? "stopped: context full"
                                                                     : runtime::finish_reason_name(res.finish));
    }
    exit_code = 0;
  });
}

}  // namespace forge::cli
