// `forge info MODEL`: what a model file holds.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/model_info.h"

namespace forge::cli {

void add_info_command(CLI::App& app, int& exit_code) {
  struct Options {
    std::string model;
    bool tensors = false;
    bool json = false;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("info", "Show what a GGUF model holds: architecture, size, quant mix, "
                                             "hyper-parameters, tokenizer");
  cmd->footer(
      "Examples:\n"
      "  forge info model.gguf\n"
      "  forge info model.gguf --tensors\n"
      "  forge info model.gguf --json | jq .hyperparameters\n\n"
      "A malformed file is reported in one line naming what is wrong and where, with exit code 1.");
  cmd->add_option("model", opts->model, "Path to a .gguf file")->required();
  cmd->add_flag("--tensors", opts->tensors, "Also list every tensor: name, type, shape, offset, bytes");
  cmd->add_flag("--json", opts->json, "Print everything as JSON (for scripts)");
  cmd->callback([opts, &exit_code] {
    GgufFile f = GgufFile::open(opts->model);
    nlohmann::json s = gguf_summary(f, opts->tensors || opts->json);
    if (opts->json) {
      std::printf("%s\n", s.dump(2).c_str());
    } else {
      std::fputs(render_summary_text(s).c_str(), stdout);
    }
    exit_code = 0;
  });
}

}  // namespace forge::cli
