#include "cli/draft_options.h"

#include <cstdio>

namespace forge::cli {

void add_draft_options(CLI::App* cmd, DraftFlags& f, bool required) {
  cmd->add_option("--draft", f.model, "A draft model of the same vocabulary guessing ahead: a .gguf file or a folder")
      ->required(required);
  cmd->add_option("--draft-tokens", f.spec.draft_tokens, "Tokens the draft guesses a round, at most")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--draft-p-min", f.spec.p_min,
                  "A round's guesses stop where the draft gives its best token less probability than this "
                  "(0: always guess --draft-tokens)")
      ->check(CLI::Range(0.0f, 1.0f))
      ->capture_default_str();
}

Drafted::Drafted(const DraftFlags& f, const ModelOptions& target_options, const Tokenizer& target_tokenizer,
                 model::Forward& target_fwd) {
  ModelOptions o;  // the draft's own file and vocabulary; adapters and overrides are the target's
  o.model = f.model;
  o.threads = target_options.threads;
  o.kv_f32 = target_options.kv_f32;
  o.ctx = target_fwd.info().n_ctx;
  model_ = o.load();
  runtime::check_same_vocabulary(target_tokenizer, model_->tokenizer());
  draft_ = model_->interpreter(o.interpreter_options());
  fwd_ = std::make_unique<runtime::SpeculativeForward>(target_fwd, *draft_, f.spec);
}

std::string Drafted::summary() const {
  const auto& s = fwd_->stats();
  char line[160];
  std::snprintf(line, sizeof line, "speculative: the draft guessed %lld tokens in %lld rounds, %lld kept (%.1f%%)",
                static_cast<long long>(s.drafted), static_cast<long long>(s.target_passes),
                static_cast<long long>(s.accepted), s.drafted > 0 ? 100.0 * s.accepted / s.drafted : 0.0);
  return line;
}

}  // namespace forge::cli
