// `forge logits`: the logits a model computes, for debugging and for
// comparing with other implementations.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <numeric>
#include <sstream>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "nlohmann/json.hpp"

namespace forge::cli {

namespace {
std::vector<int32_t> parse_ids(const std::string& s) {
  std::vector<int32_t> ids;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      ids.push_back(std::stoi(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::logic_error&) {
      throw std::invalid_argument("--tokens: '" + item + "' is not a token id");
    }
  }
  return ids;
}
}  // namespace

void add_logits_command(CLI::App& app, int& exit_code) {
  struct Options {
    ModelOptions model;
    std::string prompt;
    std::string tokens;
    std::string positions = "last";
    bool json = false;
    int top = 5;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("logits", "Print the logits the model computes for a prompt or token ids");
  cmd->footer(
      "Examples:\n"
      "  forge logits -m model.gguf --tokens 1,403,407 --positions all\n"
      "  forge logits -m model.gguf -p \"Hello\" --json > logits.json\n\n"
      "The KV cache is always F32 here (the most exact numbers), whatever --kv-f32 says: `forge run`\n"
      "and compiled programs keep it in F16, so their logits differ from these slightly.");
  add_model_options(cmd, o->model);
  auto* p = cmd->add_option("-p,--prompt", o->prompt, "Text to tokenize (BOS added as the tokenizer says)");
  auto* t = cmd->add_option("--tokens", o->tokens, "Comma-separated token ids, used as given");
  p->excludes(t);
  cmd->add_option("--positions", o->positions, "last or all")->check(CLI::IsMember({"last", "all"}))->capture_default_str();
  cmd->add_flag("--json", o->json, "Every logit as JSON: {tokens, positions: [{position, logits}]}");
  cmd->add_option("--top", o->top, "Without --json: how many of the largest logits to show per position")
      ->capture_default_str();
  cmd->callback([o, &exit_code] {
    o->model.kv_f32 = true;  // the most exact numbers
    auto m = o->model.load();
    std::vector<int32_t> ids;
    if (!o->tokens.empty()) ids = parse_ids(o->tokens);
    else if (!o->prompt.empty()) ids = m->tokenizer().encode(o->prompt, {.add_special = true, .parse_special = true});
    if (ids.empty()) throw std::invalid_argument("give --prompt TEXT or --tokens IDS (non-empty)");
    interp::InterpreterOptions io = o->model.interpreter_options();
    if (io.n_ctx <= 0) io.n_ctx = std::max<int>(static_cast<int>(ids.size()), std::min(m->spec().n_ctx_train, 4096));
    auto fwd = m->interpreter(io);
    const bool all = o->positions == "all";
    auto logits = fwd->prefill(ids, 0, all ? model::Logits::kAll : model::Logits::kLast);
    const int n_vocab = m->spec().n_vocab;
    const int rows = all ? static_cast<int>(ids.size()) : 1;
    nlohmann::json j = {{"tokens", ids}, {"positions", nlohmann::json::array()}};
    for (int r = 0; r < rows; ++r) {
      const int position = all ? r : static_cast<int>(ids.size()) - 1;
      auto row = logits.subspan(static_cast<size_t>(r) * n_vocab, n_vocab);
      if (o->json) {
        j["positions"].push_back({{"position", position}, {"logits", std::vector<float>(row.begin(), row.end())}});
        continue;
      }
      std::vector<int> order(n_vocab);
      std::iota(order.begin(), order.end(), 0);
      const int k = std::clamp(o->top, 1, n_vocab);
      std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) { return row[a] > row[b]; });
      std::printf("position %d (token %d):", position, ids[position]);
      for (int i = 0; i < k; ++i) {
        std::printf(" %d:%s=%.5f", order[i], m->tokenizer().token_text(order[i]).c_str(), row[order[i]]);
      }
      std::printf("\n");
    }
    if (o->json) std::printf("%s\n", j.dump().c_str());
    exit_code = 0;
  });
}

}  // namespace forge::cli
