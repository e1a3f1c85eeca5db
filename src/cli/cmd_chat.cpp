// `forge chat`: an interactive conversation. The KV cache is kept across
// turns: each turn renders the whole conversation with the model's chat
// template, and only the part after the cached prefix is processed.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/draft_options.h"
#include "cli/model_options.h"
#include "runtime/chat_format.h"
#include "runtime/sampler.h"

namespace forge::cli {

namespace {

// Set by SIGINT while a reply is being generated; the reply stops, the
// session goes on. A second Ctrl-C outside a reply ends the program.
std::atomic<bool> g_interrupted{false};
std::atomic<bool> g_generating{false};

void on_sigint(int) {
  if (g_generating.load()) {
    g_interrupted.store(true);
  } else {
    std::_Exit(130);
  }
}

}  // namespace

void add_chat_command(CLI::App& app, int& exit_code) {
  struct Options {
    ModelOptions model;
    SamplingFlags sampling;
    DraftFlags draft;
    std::string system;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("chat", "Chat with a model interactively (uses its chat template)");
  cmd->footer(
      "Type a message and press Enter. Commands:\n"
      "  /reset         forget the conversation\n"
      "  /system TEXT   set the system prompt (and reset)\n"
      "  /quit          leave (or Ctrl-D)\n"
      "Ctrl-C stops a reply without ending the session.");
  add_model_options(cmd, o->model);
  add_sampling_options(cmd, o->sampling);
  cmd->add_option("--system", o->system, "System prompt");
  add_draft_options(cmd, o->draft, /*required=*/false);
  cmd->callback([o, &exit_code] {
    runtime::SamplingParams params = o->sampling.resolve();
    auto m = o->model.load();
    runtime::ChatFormat format(*m);
    if (format.is_fallback()) std::fprintf(stderr, "note: %s\n", format.fallback_note().c_str());
    auto fwd = m->interpreter(o->model.interpreter_options());
    std::unique_ptr<Drafted> drafted;
    if (!o->draft.model.empty()) drafted = std::make_unique<Drafted>(o->draft, o->model, m->tokenizer(), *fwd);
    runtime::Session session(drafted ? static_cast<model::Forward&>(drafted->forward()) : *fwd, m->tokenizer());
    runtime::Sampler sampler(params, m->spec().n_vocab);
    const bool tty = isatty(STDIN_FILENO);
    std::signal(SIGINT, on_sigint);

    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    auto reset = [&] {
      messages = nlohmann::ordered_json::array();
      if (!o->system.empty()) messages.push_back({{"role", "system"}, {"content", o->system}});
      session.reset();
      sampler.reset();
    };
    reset();
    std::string line;
    for (;;) {
      if (tty) std::fprintf(stderr, "> ");
      if (!std::getline(std::cin, line)) break;
      if (line.empty()) continue;
      if (line == "/quit" || line == "/exit") break;
      if (line == "/reset") {
        reset();
        std::fprintf(stderr, "(conversation reset)\n");
        continue;
      }
      if (line.rfind("/system", 0) == 0) {
        o->system = line.size() > 8 ? line.substr(8) : "";
        reset();
        std::fprintf(stderr, "(system prompt set; conversation reset)\n");
        continue;
      }
      messages.push_back({{"role", "user"}, {"content", line}});
      std::vector<int32_t> prompt;
      try {
        prompt = format.tokenize(messages);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        messages.erase(messages.end() - 1);
        continue;
      }
      const size_t reused_before = session.cached().size();
      g_interrupted = false;
      g_generating = true;
      runtime::GenerateResult res;
      try {
        res = session.generate(prompt, sampler, o->sampling.gen, [](std::string_view text) {
          std::fwrite(text.data(), 1, text.size(), stdout);
          std::fflush(stdout);
          return !g_interrupted.load();
        });
      } catch (const std::length_error& e) {
        g_generating = false;
        std::fprintf(stderr, "error: %s; use /reset\n", e.what());
        messages.erase(messages.end() - 1);
        continue;
      }
      g_generating = false;
      std::fputc('\n', stdout);
      std::fflush(stdout);
      messages.push_back({{"role", "assistant"}, {"content", res.text}});
      const size_t reused = prompt.size() - static_cast<size_t>(res.prompt_tokens);
      std::fprintf(stderr, "(%d new prompt tokens, %zu reused from the cache of %zu; %zu generated at %.1f tok/s%s)\n",
                   res.prompt_tokens, reused, reused_before, res.tokens.size(),
                   res.tokens.size() / std::max(res.gen_seconds, 1e-9),
                   res.finish == runtime::FinishReason::kCancelled ? "; stopped" : "");
      if (drafted) std::fprintf(stderr, "(%s, this session)\n", drafted->summary().c_str());
    }
    exit_code = 0;
  });
}

}  // namespace forge::cli
