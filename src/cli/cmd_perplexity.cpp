// `forge perplexity`: how well a model predicts a text (runtime/perplexity.h),
// figured as llama.cpp's perplexity tool figures it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "nlohmann/json.hpp"
#include "runtime/perplexity.h"

namespace forge::cli {
namespace {

std::string read_text(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read the text file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

void add_perplexity_command(CLI::App& app, int& exit_code) {
  struct Options {
    ModelOptions model;
    std::string file;
    int chunks = 0;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("perplexity", "Measure how well a model predicts a text (perplexity)");
  cmd->footer(
      "Examples:\n"
      "  forge perplexity -m model.gguf -f wiki.test.raw -c 512\n"
      "  forge perplexity -m model.gguf -f text.txt --chunks 10 --json\n\n"
      "The text's tokens are cut into chunks of --ctx tokens (default 512, or the model's training context\n"
      "if that is shorter); each chunk starts from an empty cache with BOS as its first token (where the\n"
      "tokenizer adds one), and the tokens of its second half are scored by the logits before them. This\n"
      "is how llama.cpp's llama-perplexity counts, so the figures compare. Progress goes to stderr.");
  add_model_options(cmd, o->model);
  cmd->add_option("-f,--file", o->file, "The text to score (- reads standard input)")->required();
  cmd->add_option("--chunks", o->chunks, "Score at most this many chunks (default: every whole chunk)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", o->json, "Print the result as JSON (with each chunk's mean negative log-likelihood)");
  cmd->callback([o, &exit_code] {
    const std::string text = read_text(o->file);
    auto m = o->model.load();
    const Tokenizer& tok = m->tokenizer();
    const auto tokens = tok.encode(text, {.add_special = true, .parse_special = false});
    runtime::PerplexityOptions po;
    const int trained = m->spec().n_ctx_train;
    po.chunk = o->model.ctx > 0 ? o->model.ctx : std::min(512, trained > 0 ? trained : 512);
    if (trained > 0 && po.chunk > trained) {
      std::fprintf(stderr, "warning: chunks of %d tokens are longer than the model's training context (%d)\n", po.chunk,
                   trained);
    }
    po.max_chunks = o->chunks;
    po.bos = tok.add_bos() ? tok.bos_id() : -1;
    interp::InterpreterOptions io = o->model.interpreter_options();
    io.n_ctx = po.chunk;
    auto fwd = m->interpreter(io);
    const auto start = std::chrono::steady_clock::now();
    const auto r =
        runtime::perplexity(*fwd, tokens, po, [&](int done, int chunks, const runtime::PerplexityResult& so_far) {
          const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          std::fprintf(stderr, "perplexity: chunk %d/%d: PPL %.4f (%.2f s a chunk, %.0f s left)\n", done, chunks,
                       so_far.ppl(), s / done, s / done * (chunks - done));
        });
    if (o->json) {
      nlohmann::json j = {{"ppl", r.ppl()},
                          {"ppl_stderr", r.ppl_stderr()},
                          {"nll_mean", r.nll_mean()},
                          {"nll_stderr", r.nll_stderr()},
                          {"text_tokens", tokens.size()},
                          {"chunk_tokens", r.chunk},
                          {"chunks", r.chunk_nll.size()},
                          {"scored_tokens", r.scored},
                          {"chunk_nll", r.chunk_nll}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("PPL = %.4f +/- %.4f (%d tokens scored in %zu chunks of %d)\n", r.ppl(), r.ppl_stderr(), r.scored,
                  r.chunk_nll.size(), r.chunk);
    }
    exit_code = 0;
  });
}

}  // namespace forge::cli
