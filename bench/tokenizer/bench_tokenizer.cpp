// Encode speed in MB/s on about 1 MB of text: the inputs of the reference
// tokenizer cases (prose, code, many scripts, emoji) repeated to 1 MB, through
// the GGUF vocabularies and a tokenizer.json.
//   bench_tokenizer [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "format/gguf_file.h"
#include "tokenizer/tokenizer.h"

namespace {

std::string data(const std::string& rel) { return std::string(FORGE_DATA_DIR) + "/" + rel; }

const std::string& text_1mb() {
  static const std::string text = [] {
    std::ifstream in(data("tokenizer-cases/llama3.1.jsonl"));
    if (!in) throw std::runtime_error("missing " + data("tokenizer-cases/llama3.1.jsonl"));
    std::string corpus, line;
    while (std::getline(in, line))
      if (!line.empty()) corpus += nlohmann::json::parse(line).at("input").get<std::string>() + "\n";
    std::string s;
    while (s.size() < (1u << 20)) s += corpus;
    return s;
  }();
  return text;
}

void run(benchmark::State& state, const forge::Tokenizer& tok) {
  const std::string& text = text_1mb();
  size_t n = 0;
  for (auto _ : state) {
    auto ids = tok.encode(text, {.add_special = false});
    n = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(n);
}

void gguf(benchmark::State& state, const char* name) {
  const auto f = forge::GgufFile::open(data(std::string("vocab/ggml-vocab-") + name + ".gguf"));
  const auto tok = forge::Tokenizer::from_gguf(f);
  run(state, tok);
}

void hf(benchmark::State& state, const char* dir) {
  const auto tok = forge::Tokenizer::from_hf_dir(data(dir));
  run(state, tok);
}

BENCHMARK_CAPTURE(gguf, llama_spm, "llama-spm")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(gguf, llama_bpe, "llama-bpe")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(gguf, qwen2, "qwen2")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(gguf, gpt2, "gpt-2")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(hf, llama3_1_json, "tokenizers/llama3.1")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(hf, mistral_json, "tokenizers/mistral-7b-v0.1")->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
