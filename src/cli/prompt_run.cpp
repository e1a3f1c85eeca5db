#include "cli/prompt_run.h"

#include <algorithm>
#include <cstdio>

#include "runtime/generate.h"
#include "runtime/sampler.h"

namespace forge::cli {

void add_prompt_options(CLI::App* cmd, PromptFlags& f) {
  cmd->add_option("-p,--prompt", f.prompt, "The prompt")->required();
  add_sampling_options(cmd, f.sampling);
  cmd->add_flag("--no-stats", f.no_stats, "Do not print speed figures to stderr");
  cmd->add_flag("--json", f.json,
                "Print one JSON object at the end instead of streaming: prompt and generated token ids, text, "
                "finish reason, timings");
}

void run_prompt(const PromptFlags& f, const runtime::LoadedModel& m, model::Forward& fwd,
                const std::function<void(nlohmann::json&)>& add_json, const std::function<void()>& add_stats) {
  if (f.prompt.empty()) throw std::invalid_argument("the prompt is empty");
  runtime::SamplingParams params = f.sampling.resolve();
  const Tokenizer& tok = m.tokenizer();
  std::vector<int32_t> prompt = tok.encode(f.prompt, {.add_special = true, .parse_special = true});
  runtime::Sampler sampler(params, m.spec().n_vocab);
  runtime::Session session(fwd, tok);
  const bool stream = !f.json;
  auto res = session.generate(prompt, sampler, f.sampling.gen, [stream](std::string_view text) {
    if (stream) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    }
    return true;
  });
  if (f.json) {
    nlohmann::json j = runtime::result_json(prompt, res);
    if (add_json) add_json(j);
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::fputc('\n', stdout);
  }
  std::fflush(stdout);
  if (!f.no_stats) {
    const int n_gen = static_cast<int>(res.tokens.size());
    std::fprintf(stderr, "prompt: %d tokens in %.3f s (%.1f tok/s); generation: %d tokens in %.3f s (%.1f tok/s); %s\n",
                 res.prompt_tokens, res.prompt_seconds, res.prompt_tokens / std::max(res.prompt_seconds, 1e-9), n_gen,
                 res.gen_seconds, n_gen / std::max(res.gen_seconds, 1e-9),
                 res.finish == runtime::FinishReason::kContextFull ? "stopped: context full"
                                                                   : runtime::finish_reason_name(res.finish));
    if (add_stats) add_stats();
  }
}

}  // namespace forge::cli
