// `forge perplexity` end to end. The golden fixtures' reference logits
// (Hugging Face transformers, float64) give each fixture's negative
// log-likelihoods of its text's tokens, computed here; the first chunk of
// the text must score what they give. A later chunk (BOS in place of its
// first token) must score what `forge logits` gives for the same ids.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "nlohmann/json.hpp"
#include "run_command.h"

namespace forge {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::forge_bin;
using testing::run_command;
using testing::shell_quote;
const std::string kFixtures = std::string(FORGE_DATA_DIR) + "/fixtures/";

json load_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("missing test data " + path + " (the shared data must be at ../shared/data)");
  return json::parse(in);
}

// The mean negative log-likelihood of tokens[j + 1] under logits row j, for
// j = first .. last (float64 throughout).
double mean_nll(const json& rows, const std::vector<int>& tokens, int first, int last) {
  double sum = 0;
  for (int j = first; j <= last; ++j) {
    const std::vector<double> row = rows[j];
    double m = -INFINITY, s = 0;
    for (double l : row) m = std::max(m, l);
    for (double l : row) s += std::exp(l - m);
    sum += std::log(s) + m - row[tokens[j + 1]];
  }
  return sum / (last - first + 1);
}

// The fixture's text in a file of its own.
fs::path text_file(const json& ref) {
  static const fs::path dir = testing::scratch_dir("cli_perplexity");
  const fs::path p = dir / (ref["fixture"].get<std::string>() + ".txt");
  std::ofstream(p, std::ios::binary) << ref["text"].get<std::string>();
  return p;
}

json perplexity(const std::string& args) {
  const auto r = run_command(forge_bin() + " perplexity " + args + " --json -t 2");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? json::parse(r.out) : json::object();
}

struct Case {
  const char* fixture;
  const char* model;       // relative to the fixture's folder ("" = the folder itself)
  const char* logits_key;  // the reference rows this model must give
  // The fixture's tokenizer.json instead of the GGUF's vocabulary: Gemma
  // GGUFs add no space before the text (llama.cpp's rule for Gemma), the
  // fixture's Hugging Face tokenizer, which made the reference tokens, does.
  bool hf_tokenizer = false;
};

class CliPerplexity : public ::testing::TestWithParam<Case> {};

// Chunks of 32 and of 16 tokens (the text has more than 32): the first chunk
// scores positions 16..30 (8..14) by the reference's rows.
TEST_P(CliPerplexity, FirstChunkScoresWhatTheReferenceLogitsGive) {
  const Case c = GetParam();
  const json ref = load_json(kFixtures + c.fixture + "/reference.json");
  const std::vector<int> tokens = ref["tokens"];
  ASSERT_EQ(tokens.size(), 32u);
  std::string model = kFixtures + c.fixture + "/" + c.model;
  std::string extra = c.hf_tokenizer ? " --tokenizer " + shell_quote(kFixtures + c.fixture) : "";
  if (std::string(c.fixture) == "llama-lora") {
    model = kFixtures + "llama/model-f32.gguf";
    extra += " --lora " + shell_quote(kFixtures + "llama-lora/adapter-f32.gguf");
  }
  for (int chunk : {32, 16}) {
    SCOPED_TRACE("chunk " + std::to_string(chunk));
    const json got = perplexity("-m " + shell_quote(model) + extra + " -f " + shell_quote(text_file(ref).string()) +
                                " -c " + std::to_string(chunk) + " --chunks 1 --kv-f32");
    ASSERT_FALSE(got.empty());
    const double want = mean_nll(ref[c.logits_key], tokens, chunk / 2, chunk - 2);
    EXPECT_EQ(got["chunks"], 1);
    EXPECT_EQ(got["scored_tokens"], chunk - 1 - chunk / 2);
    // The fixtures promise f32 logits within 1e-4 of the reference's: each
    // term moves by at most twice that.
    EXPECT_NEAR(got["nll_mean"].get<double>(), want, 2e-4);
    EXPECT_NEAR(got["ppl"].get<double>(), std::exp(want), 2e-4 * std::exp(want));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, CliPerplexity,
    ::testing::Values(Case{"llama", "model-f32.gguf", "logits"}, Case{"llama-k", "model-f32.gguf", "logits"},
                      Case{"llama-tied-rope3", "model-f32.gguf", "logits"}, Case{"llama-lora", "", "logits"},
                      Case{"mistral", "model-f32.gguf", "logits_full_attention"},
                      Case{"mistral", "", "logits"},  // the HF folder: sliding window 8
                      Case{"qwen2", "model-f32.gguf", "logits"}, Case{"phi3", "model-f32.gguf", "logits"},
                      Case{"gemma", "model-f32.gguf", "logits", true}, Case{"gemma", "", "logits"},
                      Case{"gemma2", "model-f32.gguf", "logits", true},
                      Case{"gemma3", "model-f32.gguf", "logits", true}, Case{"stablelm", "model-f32.gguf", "logits"},
                      Case{"stablelm-par", "model-f32.gguf", "logits"}),
    [](const auto& info) {
      std::string n = std::string(info.param.fixture) + (*info.param.model ? "_gguf" : "_hf");
      for (char& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
      return n;
    });

// Every whole chunk of 16 (the text's 89 tokens make 5); the second starts
// with BOS in place of the text's 17th token, as llama.cpp's tool does.
TEST(CliPerplexityChunks, LaterChunksStartWithBos) {
  const json ref = load_json(kFixtures + "llama/reference.json");
  const std::string model = shell_quote(kFixtures + "llama/model-f32.gguf");
  const auto ids = run_command(forge_bin() + " tokenize -m " + model + " --ids-only -p " +
                               shell_quote(ref["text"].get<std::string>()));
  ASSERT_EQ(ids.exit_code, 0) << ids.err;
  std::vector<int> text_tokens;
  for (size_t at = 0; at < ids.out.size();) {
    size_t used = 0;
    text_tokens.push_back(std::stoi(ids.out.substr(at), &used));
    at += used + 1;
  }
  ASSERT_EQ(text_tokens.size(), 89u);
  ASSERT_EQ(text_tokens[0], 1);  // BOS

  const json got = perplexity("-m " + model + " -f " + shell_quote(text_file(ref).string()) + " -c 16 --kv-f32");
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got["chunks"], 5);
  EXPECT_EQ(got["text_tokens"], 89);
  EXPECT_EQ(got["scored_tokens"], 35);
  ASSERT_EQ(got["chunk_nll"].size(), 5u);

  std::vector<int> second = {1};
  second.insert(second.end(), text_tokens.begin() + 17, text_tokens.begin() + 32);
  std::string list;
  for (int t : second) {
    if (!list.empty()) list += ',';
    list += std::to_string(t);
  }
  const auto logits =
      run_command(forge_bin() + " logits -m " + model + " --tokens " + list + " --positions all --json");
  ASSERT_EQ(logits.exit_code, 0) << logits.err;
  const json positions = json::parse(logits.out)["positions"];
  json rows = json::array();
  for (const auto& p : positions) rows.push_back(p["logits"]);
  EXPECT_NEAR(got["chunk_nll"][1].get<double>(), mean_nll(rows, second, 8, 14), 1e-5);
  EXPECT_NEAR(got["chunk_nll"][0].get<double>(), mean_nll(ref["logits"], ref["tokens"], 8, 14), 2e-4);
  double sum = 0;
  for (double n : got["chunk_nll"]) sum += n;
  EXPECT_NEAR(got["nll_mean"].get<double>(), sum / 5, 1e-12);
}

// Without --kv-f32 the cache holds F16 (as in `forge run`): close, not exact.
TEST(CliPerplexityChunks, F16CacheStaysClose) {
  const json ref = load_json(kFixtures + "llama/reference.json");
  const json got = perplexity("-m " + shell_quote(kFixtures + "llama/model-f32.gguf") + " -f " +
                              shell_quote(text_file(ref).string()) + " -c 32 --chunks 1");
  ASSERT_FALSE(got.empty());
  EXPECT_NEAR(got["nll_mean"].get<double>(), mean_nll(ref["logits"], ref["tokens"], 16, 30), 5e-3);
}

TEST(CliPerplexityChunks, BadInputIsAClearError) {
  const json ref = load_json(kFixtures + "llama/reference.json");
  const std::string base = forge_bin() + " perplexity -m " + shell_quote(kFixtures + "llama/model-f32.gguf") + " -f ";
  const std::string text = shell_quote(text_file(ref).string());
  auto r = run_command(base + text + " -c 512");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the text has 89 tokens, fewer than one chunk of 512"), std::string::npos) << r.err;
  r = run_command(base + text + " -c 2");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("a chunk must hold at least 3 tokens, not 2"), std::string::npos) << r.err;
  r = run_command(base + shell_quote("/nonexistent/text.txt"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot read the text file '/nonexistent/text.txt'"), std::string::npos) << r.err;
  r = run_command(base + text + " --chunks -1");
  EXPECT_NE(r.exit_code, 0);
}

}  // namespace
}  // namespace forge
