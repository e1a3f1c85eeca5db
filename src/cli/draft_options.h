// --draft, --draft-tokens and --draft-p-min: speculative decoding
// (runtime/speculative.h) for `forge speculative`, `forge chat` and
// `forge serve`.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "cli/model_options.h"
#include "runtime/loaded_model.h"
#include "runtime/speculative.h"

namespace forge::cli {

struct DraftFlags {
  std::string model;  // empty: no draft
  runtime::SpeculativeOptions spec;
};
void add_draft_options(CLI::App* cmd, DraftFlags& f, bool required);

// A target model's Forward with a draft model guessing ahead.
class Drafted {
 public:
  // Loads f.model with the target's threads and cache type, holding the
  // target's context, and checks that its vocabulary is the target's
  // (std::invalid_argument).
  Drafted(const DraftFlags& f, const ModelOptions& target_options, const Tokenizer& target_tokenizer,
          model::Forward& target_fwd);
  runtime::SpeculativeForward& forward() { return *fwd_; }
  // "speculative: the draft guessed ... tokens in ... rounds, ... kept (...%)"
  std::string summary() const;

 private:
  std::unique_ptr<runtime::LoadedModel> model_;
  std::unique_ptr<model::Forward> draft_;
  std::unique_ptr<runtime::SpeculativeForward> fwd_;
};

}  // namespace forge::cli
