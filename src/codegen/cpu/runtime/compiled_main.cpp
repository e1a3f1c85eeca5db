#include "codegen/cpu/runtime/compiled_main.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>

#include "cli/model_options.h"
#include "codegen/cpu/runtime/bundle.h"
#include "format/mapped_file.h"
#include "format/gguf_file.h"
#include "kernels/cpu/kernels.h"
#include "nlohmann/json.hpp"
#include "runtime/chat_format.h"
#include "runtime/generate.h"
#ifdef FORGE_COMPILED_SERVER
#include "cli/server_flags.h"
#include "runtime/server/run_server.h"
#endif
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
  bool serve = false;
#ifdef FORGE_COMPILED_SERVER
  cli::ServerFlags server;
#endif
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

// The tokenizer, and what a chat needs besides it: the model's chat template
// and architecture (from the GGUF vocabulary file, when the tokenizer is one).
struct TokenizerSource {
  std::optional<Tokenizer> tokenizer;
  std::optional<std::string> chat_template;
  std::string arch;

  void from_gguf(const GgufFile& f) {
    tokenizer = Tokenizer::from_gguf(f);
    chat_template = f.get_optional<std::string>("tokenizer.chat_template");
    arch = f.get_or<std::string>("general.architecture", "");
  }
};

TokenizerSource load_tokenizer(const std::string& path) {
  if (!fs::exists(path)) throw std::runtime_error(path + ": tokenizer not found (give --tokenizer PATH)");
  TokenizerSource src;
  if (fs::is_directory(path)) {
    src.tokenizer = Tokenizer::from_hf_dir(path);
  } else if (path.size() >= 5 && path.substr(path.size() - 5) == ".gguf") {
    src.from_gguf(GgufFile::open(path));
  } else {
    src.tokenizer = Tokenizer::from_hf_files(path);
  }
  return src;
}

#ifdef FORGE_COMPILED_SERVER
// --serve: the OpenAI-compatible server (the same as `forge serve`) over this
// program's model; one sequence, so one slot.
int serve(const Options& o, std::unique_ptr<model::Forward> fwd, TokenizerSource src, const CompiledModelInfo& info) {
  struct Owned {
    TokenizerSource src;
    runtime::ChatFormat format;
    std::mutex render_mu;
    explicit Owned(TokenizerSource s) : src(std::move(s)), format(src.chat_template, src.arch, *src.tokenizer) {}
  };
  auto owned = std::make_shared<Owned>(std::move(src));
  if (owned->format.is_fallback()) std::fprintf(stderr, "%s\n", owned->format.fallback_note().c_str());
  std::shared_ptr<model::Forward> shared_fwd = std::move(fwd);
  server::ServerOptions opts = o.server.resolve();
  if (opts.model_id.empty()) opts.model_id = info.name;
  auto load = [owned, shared_fwd](int) {
    server::ServedModel m;
    m.owner = owned;
    m.forward = shared_fwd;
    m.tokenizer = &*owned->src.tokenizer;
    Owned* w = owned.get();
    m.chat_prompt = [w](const nlohmann::ordered_json& messages) {
      std::lock_guard<std::mutex> lock(w->render_mu);
      return w->format.tokenize(messages);
    };
    return m;
  };
  return server::run_server(load, opts);
}
#else
int serve(const Options&, std::unique_ptr<model::Forward>, TokenizerSource, const CompiledModelInfo&) {
  throw std::runtime_error("this program was built without the server (cross-compiled builds have none)");
}
#endif

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

  TokenizerSource src = [&] {
    if (!tokenizer_inside) return load_tokenizer(tok_path);
    const BundleTrailer t = *read_bundle_trailer(self.bytes());
    TokenizerSource inside;
    inside.from_gguf(GgufFile::parse(self.bytes().subspan(t.tokenizer_offset, t.tokenizer_bytes), "embedded tokenizer"));
    return inside;
  }();
  if (o.serve) return serve(o, std::move(fwd), std::move(src), info);
  const Tokenizer& tok = *src.tokenizer;
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
    std::printf("%s\n", runtime::result_json(prompt, res).dump().c_str());
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
  app.add_flag("--serve", o.serve, "Serve the model over the OpenAI-compatible HTTP API (as `forge serve`)");
#ifdef FORGE_COMPILED_SERVER
  cli::add_server_options(app.add_option_group("server", "With --serve"), o.server);
#endif
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
