#include "codegen/cpu/runtime/compiled_main.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/model_options.h"
#include "codegen/cpu/runtime/bundle.h"
#include "format/mapped_file.h"
#include "format/gguf_file.h"
#include "kernels/cpu/kernels.h"
#include "nlohmann/json.hpp"
#include "runtime/generate.h"
#include "runtime/sampler.h"
#include "tokenizer/tokenizer.h"

namespace forge::compiled {

namespace fs = std::filesystem;

namespace {

struct Options {
  std::string weights;
  std::string tokenizer;
  std::string prompt;
  std::string token_ids;  // "1,2,3": run these ids instead of encoding a prompt
  cli::SamplingFlags sampling;
  int threads = -1;
  bool json = false;
  bool logits = false;
  bool bench = false;
  bool no_stats = false;
};

std::string self_dir() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : p.parent_path().string();
}

std::vector<int32_t> parse_ids(const std::string& s) {
  std::vector<int32_t> ids;
  size_t at = 0;
  while (at <= s.size()) {
    const size_t comma = std::min(s.find(',', at), s.size());
    const std::string item = s.substr(at, comma - at);
    try {
      size_t used = 0;
      ids.push_back(std::stoi(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::logic_error&) {
      throw std::invalid_argument("--tokens: '" + item + "' is not a token id");
    }
    at = comma + 1;
  }
  return ids;
}

Tokenizer load_tokenizer(const std::string& path) {
  if (!fs::exists(path)) throw std::runtime_error(path + ": tokenizer not found (give --tokenizer PATH)");
  if (fs::is_directory(path)) return Tokenizer::from_hf_dir(path);
  if (path.size() >= 5 && path.substr(path.size() - 5) == ".gguf") return Tokenizer::from_gguf(GgufFile::open(path));
  return Tokenizer::from_hf_files(path);
}

int run(const Options& o, const CompiledModelInfo& info, ModelFactory make_model) {
#if !defined(__aarch64__)  // every AArch64 CPU has NEON
  if (!kernels::cpu::isa_available(kernels::cpu::Isa::kAvx2)) {
    throw std::runtime_error("this program was compiled for AVX2 (x86-64-v3) and this CPU lacks it");
  }
#endif
  // A bundled program (forge compile --embed-weights) is its own weights and tokenizer.
  const MappedFile self("/proc/self/exe");
  const bool bundled = read_bundle_trailer(self.bytes()).has_value();
  const std::string weights =
      !o.weights.empty() ? o.weights : (bundled ? std::string("/proc/self/exe") : self_dir() + "/weights.bin");
  if (!fs::exists(weights)) throw std::runtime_error(weights + ": weights file not found");
  runtime::SamplingParams params = o.sampling.resolve();
  auto fwd = make_model(weights, o.threads >= 0 ? o.threads : info.default_threads);
  const bool tokenizer_inside = o.tokenizer.empty() && bundled && o.weights.empty();
  const std::string tok_path =
      o.tokenizer.empty() ? (fs::path(weights).parent_path() / "tokenizer.gguf").string() : o.tokenizer;

  if (o.logits) {  // every prompt position's logits, for checking against the interpreter
    if (o.token_ids.empty()) throw std::invalid_argument("--logits needs --tokens");
    const std::vector<int32_t> ids = parse_ids(o.token_ids);
    auto all = fwd->prefill(ids, 0, model::Logits::kAll);
    const size_t v = static_cast<size_t>(fwd->info().n_vocab);
    nlohmann::json rows = nlohmann::json::array();
    for (size_t t = 0; t < ids.size(); ++t) rows.push_back(std::vector<float>(all.begin() + t * v, all.begin() + (t + 1) * v));
    std::printf("%s\n", nlohmann::json{{"tokens", ids}, {"logits", rows}}.dump().c_str());
    return 0;
  }

  const Tokenizer tok = [&] {
    if (!tokenizer_inside) return load_tokenizer(tok_path);
    const BundleTrailer t = *read_bundle_trailer(self.bytes());
    return Tokenizer::from_gguf(
        GgufFile::parse(self.bytes().subspan(t.tokenizer_offset, t.tokenizer_bytes), "embedded tokenizer"));
  }();
  std::vector<int32_t> prompt;
  if (!o.token_ids.empty()) {
    prompt = parse_ids(o.token_ids);
  } else {
    if (o.prompt.empty()) throw std::invalid_argument("no prompt (-p TEXT or --tokens IDS)");
    prompt = tok.encode(o.prompt, {.add_special = true, .parse_special = true});
  }
  runtime::Sampler sampler(params, fwd->info().n_vocab);
  runtime::Session session(*fwd, tok);
  runtime::GenerateOptions gen = o.sampling.gen;
  if (o.bench) gen.ignore_eos = true;
  const bool stream = !o.json && !o.bench;
  auto res = session.generate(prompt, sampler, gen, [stream](std::string_view text) {
    if (stream) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    }
    return true;
  });
  const int n_gen = static_cast<int>(res.tokens.size());
  const double pp = res.prompt_tokens / std::max(res.prompt_seconds, 1e-9);
  const double tg = n_gen / std::max(res.gen_seconds, 1e-9);
  if (o.bench) {
    std::printf("%s: prompt %d tokens %.1f tok/s, generation %d tokens %.1f tok/s\n", info.name, res.prompt_tokens, pp,
                n_gen, tg);
  } else if (o.json) {
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
  if (!o.no_stats && !o.bench) {
    std::fprintf(stderr, "prompt: %d tokens (%.1f tok/s); generation: %d tokens (%.1f tok/s); %s\n", res.prompt_tokens,
                 pp, n_gen, tg, runtime::finish_reason_name(res.finish));
  }
  return 0;
}

}  // namespace

int compiled_main(int argc, char** argv, const CompiledModelInfo& info, ModelFactory make_model) {
  const std::string prog = argc > 0 ? fs::path(argv[0]).filename().string() : "model";
  CLI::App app{std::string(info.name) + ", compiled by Forge from " + info.source + " (context " +
                   std::to_string(info.max_context) + " tokens).",
               prog};
  Options o;
  app.add_option("weights", o.weights, "weights.bin (default: weights.bin beside this program)");
  app.add_option("--tokenizer", o.tokenizer,
                 "tokenizer.gguf, tokenizer.json or a folder holding one (default: tokenizer.gguf beside the weights)");
  app.add_option("-p,--prompt", o.prompt, "The prompt");
  app.add_option("--tokens", o.token_ids, "Token ids (1,2,3) to run instead of a prompt");
  cli::add_sampling_options(&app, o.sampling);
  app.add_option("-t,--threads", o.threads, "Threads (default: as compiled; 0: physical cores)")->check(CLI::Range(0, 1024));
  app.add_flag("--json", o.json, "Print one JSON object at the end: prompt and generated ids, text, finish reason, timings");
  app.add_flag("--logits", o.logits, "Print the logits of every position of --tokens as JSON and exit");
  app.add_flag("--bench", o.bench, "Generate -n tokens ignoring end-of-text and print prompt and generation speed");
  app.add_flag("--no-stats", o.no_stats, "Do not print speed figures to stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    return run(o, info, make_model);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: error: %s\n", prog.c_str(), e.what());
    return 1;
  }
}

}  // namespace forge::compiled
