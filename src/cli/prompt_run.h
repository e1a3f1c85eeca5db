// What `forge run` and `forge speculative` share: the prompt and output
// flags, and generating from a prompt with text streamed to stdout (or one
// JSON object at the end) and speed figures on stderr.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "cli/model_options.h"
#include "model/forward.h"
#include "nlohmann/json.hpp"
#include "runtime/loaded_model.h"

namespace forge::cli {

struct PromptFlags {
  SamplingFlags sampling;
  std::string prompt;
  bool no_stats = false;
  bool json = false;
};
void add_prompt_options(CLI::App* cmd, PromptFlags& f);

// Generates from f.prompt with `fwd` (a model of `m`'s vocabulary) and prints
// the result. `add_json` adds to --json's object, `add_stats` prints more
// figures to stderr after the speed line (unless --no-stats).
void run_prompt(const PromptFlags& f, const runtime::LoadedModel& m, model::Forward& fwd,
                const std::function<void(nlohmann::json&)>& add_json = {}, const std::function<void()>& add_stats = {});

}  // namespace forge::cli
