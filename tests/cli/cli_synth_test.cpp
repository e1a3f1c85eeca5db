// `forge synth` end to end: the shapes the presets promise (from each model's
// published config), a vocabulary that tokenizes as the reference tokenizer
// does, rope factors computed as llama.cpp's converter computes them, and
// outputs that `forge run` loads and runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/rope_factors.h"
#include "nlohmann/json.hpp"
#include "run_command.h"

namespace forge {
namespace {

namespace fs = std::filesystem;
using testing::forge_bin;
using testing::run_command;
const std::string kData = FORGE_DATA_DIR;

fs::path temp_dir() {
  static const fs::path dir = testing::scratch_dir("cli_synth");
  return dir;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json info(const std::string& path) {
  auto r = run_command(forge_bin() + " info --json --tensors '" + path + "'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json::object();
}

std::string synth(const std::string& args, const std::string& name) {
  const std::string out = (temp_dir() / name).string();
  auto r = run_command(forge_bin() + " synth " + args + " -o '" + out + "' --threads 2");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return out;
}

std::vector<float> dump(const std::string& model, const std::string& tensor) {
  const fs::path out = temp_dir() / "dump.f32";
  auto r = run_command(forge_bin() + " dump '" + model + "' " + tensor + " -o '" + out.string() + "'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string bytes = slurp(out);
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

TEST(CliSynth, SmolLM2ShapeVocabularyAndRun) {
  const std::string m = synth("--preset smollm2-135m --type Q8_0 --layers 2 --data '" + kData + "'", "smollm.gguf");
  const auto s = info(m);
  const auto& hp = s["hyperparameters"];
  // HuggingFaceTB/SmolLM2-135M config.json.
  EXPECT_EQ(hp["hidden_size"], 576);
  EXPECT_EQ(hp["layers"], 2);
  EXPECT_EQ(hp["heads"], 9);
  EXPECT_EQ(hp["kv_heads"], 3);
  EXPECT_EQ(hp["head_dim"], 64);
  EXPECT_EQ(hp["ffn_size"], 1536);
  EXPECT_EQ(hp["context_length"], 8192);
  EXPECT_EQ(hp["vocab_size"], 49152);
  EXPECT_EQ(hp["rope_theta"], 100000);
  EXPECT_EQ(s["general"]["architecture"], "llama");
  EXPECT_EQ(s["general"]["file_type"], "Q8_0");
  EXPECT_EQ(s["tokenizer"]["model"], "gpt2");
  EXPECT_EQ(s["tokenizer"]["vocab_size"], 49152);
  bool has_output = false;
  for (const auto& t : s["tensors"]) {
    if (t["name"] == "output.weight") has_output = true;
    if (t["name"] == "token_embd.weight") {
      EXPECT_EQ(t["shape"], nlohmann::json::array({576, 49152}));
      EXPECT_EQ(t["type"], "q8_0");  // tied: the output rule keeps Q8_0 for a Q8_0 file
    }
  }
  EXPECT_FALSE(has_output) << "SmolLM2 ties its embeddings";

  // The vocabulary tokenizes as Hugging Face tokenizers does with SmolLM's tokenizer.json.
  std::ifstream cases(kData + "/tokenizer-cases/smollm-135m.jsonl");
  ASSERT_TRUE(cases) << "missing tokenizer-cases/smollm-135m.jsonl";
  int checked = 0;
  for (std::string line; std::getline(cases, line) && checked < 12;) {
    const auto c = nlohmann::json::parse(line);
    const std::string input = c["input"];
    if (input.empty() || input.find_first_of("'\n\r\\") != std::string::npos) continue;
    auto r = run_command(forge_bin() + " tokenize -m '" + m + "' --no-special --ids-only -p '" + input + "'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string want;
    for (size_t i = 0; i < c["ids"].size(); ++i) {
      if (i) want += ',';
      want += c["ids"][i].dump();
    }
    EXPECT_EQ(r.out, want + "\n") << c["name"];
    ++checked;
  }
  EXPECT_GE(checked, 8);

  auto run = run_command(forge_bin() + " run -m '" + m + "' -p 'Once upon a time' -n 8 --greedy");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_FALSE(run.out.empty());
}

TEST(CliSynth, SameSeedSameBytesOtherSeedOtherWeights) {
  const std::string a = synth("--preset smollm2-135m --type Q4_0 --layers 1 --vocab generated --seed 7", "a.gguf");
  const std::string b = synth("--preset smollm2-135m --type Q4_0 --layers 1 --vocab generated --seed 7", "b.gguf");
  const std::string c = synth("--preset smollm2-135m --type Q4_0 --layers 1 --vocab generated --seed 8", "c.gguf");
  EXPECT_TRUE(slurp(a) == slurp(b));
  EXPECT_EQ(slurp(a).size(), slurp(c).size());
  EXPECT_FALSE(slurp(a) == slurp(c));
  // Matrices are N(0, 1/fan_in); norms are 1.
  const auto q = dump(a, "blk.0.attn_q.weight");
  double sq = 0, sum = 0;
  for (float x : q) sq += double(x) * x, sum += x;
  EXPECT_NEAR(std::sqrt(sq / q.size()), 1.0 / std::sqrt(576.0), 0.02 / std::sqrt(576.0));
  EXPECT_NEAR(sum / q.size(), 0.0, 0.01 / std::sqrt(576.0));
  for (float x : dump(a, "blk.0.attn_norm.weight")) ASSERT_EQ(x, 1.0f);
}

TEST(CliSynth, Llama3RopeFactorsAsTheConverterComputesThem) {
  // fixtures/llama-tied-rope3 was converted by llama.cpp's convert_hf_to_gguf.py
  // from a config with llama3 rope scaling (config.json: factor 8, low 1, high 4,
  // original context 64, theta 5e5, head_dim 16).
  const auto ref = dump(kData + "/fixtures/llama-tied-rope3/model-f32.gguf", "rope_freqs.weight");
  ASSERT_EQ(ref.size(), 8u);
  const auto ours = cli::llama3_rope_factors(5e5f, 16, {8.0f, 1.0f, 4.0f, 64});
  ASSERT_EQ(ours.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(ours[i], ref[i], 1e-6f * ref[i]) << i;

  // Llama 3.2 1B: factor 32, low 1, high 4, original 8192 (its config.json), with a generated
  // vocabulary of the full size that Forge's tokenizer and interpreter accept.
  const std::string m = synth("--preset llama-3.2-1b --type Q8_0 --layers 1 --vocab generated", "llama1b.gguf");
  const auto s = info(m);
  EXPECT_EQ(s["hyperparameters"]["hidden_size"], 2048);
  EXPECT_EQ(s["hyperparameters"]["heads"], 32);
  EXPECT_EQ(s["hyperparameters"]["kv_heads"], 8);
  EXPECT_EQ(s["hyperparameters"]["ffn_size"], 8192);
  EXPECT_EQ(s["hyperparameters"]["vocab_size"], 128256);
  EXPECT_EQ(s["hyperparameters"]["rope_theta"], 500000);
  const auto freqs = dump(m, "rope_freqs.weight");
  const auto want = cli::llama3_rope_factors(5e5f, 64, {32.0f, 1.0f, 4.0f, 8192});
  EXPECT_EQ(freqs, want);
  EXPECT_EQ(freqs.front(), 1.0f);
  EXPECT_EQ(freqs.back(), 32.0f);
  auto run = run_command(forge_bin() + " run -m '" + m + "' -p 'Hello there' -n 4 --greedy");
  EXPECT_EQ(run.exit_code, 0) << run.err;
}

TEST(CliSynth, Qwen25HasBiasesAndItsVocabulary) {
  const std::string m = synth("--preset qwen2.5-0.5b --type Q8_0 --layers 1 --data '" + kData + "'", "qwen.gguf");
  const auto s = info(m);
  EXPECT_EQ(s["general"]["architecture"], "qwen2");
  EXPECT_EQ(s["hyperparameters"]["hidden_size"], 896);
  EXPECT_EQ(s["hyperparameters"]["heads"], 14);
  EXPECT_EQ(s["hyperparameters"]["kv_heads"], 2);
  EXPECT_EQ(s["hyperparameters"]["ffn_size"], 4864);
  EXPECT_EQ(s["hyperparameters"]["vocab_size"], 151936);
  EXPECT_EQ(s["tokenizer"]["vocab_size"], 151936);  // padded with [PAD<id>] as the converter pads
  int biases = 0;
  for (const auto& t : s["tensors"]) {
    const std::string n = t["name"];
    if (n.find(".bias") != std::string::npos) {
      ++biases;
      EXPECT_EQ(t["type"], "f32") << n;
    }
  }
  EXPECT_EQ(biases, 3);
}

TEST(CliSynth, ClearErrors) {
  auto r = run_command(forge_bin() + " synth --preset gpt-5 --type Q8_0 -o /tmp/x.gguf");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown preset 'gpt-5'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tinyllama-1.1b"), std::string::npos) << r.err;
  r = run_command(forge_bin() + " synth --preset smollm2-135m --type Q8_0 --layers 31 -o /tmp/x.gguf");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("has 30"), std::string::npos) << r.err;
  r = run_command(forge_bin() + " synth --preset smollm2-135m --type Q8_0 --layers 1 --data /nonexistent -o " +
                  (temp_dir() / "x.gguf").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/nonexistent/tokenizers/smollm-135m/tokenizer.json' is missing"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace forge
