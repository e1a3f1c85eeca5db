// `forge info` end to end: every GGUF under the shared data, checked against
// what the fixtures' config.json and the data manifest say.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "nlohmann/json.hpp"
#include "run_command.h"

namespace forge {
namespace {

using testing::forge_bin;
using testing::run_command;
const std::string kData = FORGE_DATA_DIR;

nlohmann::json info_json(const std::string& path) {
  auto r = run_command(forge_bin() + " info --json '" + path + "'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

TEST(CliInfo, EveryShippedGgufWorks) {
  int n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(kData)) {
    if (e.path().extension() != ".gguf" || e.path().string().find("ggufv1") != std::string::npos) continue;
    SCOPED_TRACE(e.path().string());
    auto r = run_command(forge_bin() + " info '" + e.path().string() + "'");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("architecture"), std::string::npos);
    ++n;
  }
  EXPECT_GT(n, 40);
}

TEST(CliInfo, FixturesAgreeWithConfigJson) {
  for (const char* name : {"llama", "llama-tied-rope3", "llama-k", "qwen2", "phi3", "mistral", "gemma", "gemma2",
                           "gemma3", "stablelm", "stablelm-par"}) {
    SCOPED_TRACE(name);
    const std::string dir = kData + "/fixtures/" + name;
    std::ifstream in(dir + "/config.json");
    ASSERT_TRUE(in) << "missing " << dir << "/config.json";
    auto cfg = nlohmann::json::parse(in);
    for (const char* file : {"model-f32.gguf", "model-f16.gguf", "model-q8_0.gguf"}) {
      SCOPED_TRACE(file);
      auto s = info_json(dir + "/" + file);
      const auto& hp = s["hyperparameters"];
      EXPECT_EQ(hp["layers"], cfg["num_hidden_layers"]);
      EXPECT_EQ(hp["hidden_size"], cfg["hidden_size"]);
      EXPECT_EQ(hp["heads"], cfg["num_attention_heads"]);
      EXPECT_EQ(hp["kv_heads"], cfg["num_key_value_heads"]);
      EXPECT_EQ(hp["ffn_size"], cfg["intermediate_size"]);
      EXPECT_EQ(hp["context_length"], cfg["max_position_embeddings"]);
      EXPECT_EQ(hp["vocab_size"], cfg["vocab_size"]);
      if (cfg.contains("head_dim")) {
        EXPECT_EQ(hp["head_dim"], cfg["head_dim"]);
      }
      EXPECT_EQ(s["tokenizer"]["bos_id"], cfg["bos_token_id"]);
      EXPECT_EQ(s["tokenizer"]["eos_id"], cfg["eos_token_id"]);
    }
  }
}

TEST(CliInfo, ParameterCountsMatchTheFixturesReadme) {
  // fixtures/README.md: "llama ... 139,584 params", "llama-k ... 1,443,072".
  EXPECT_EQ(info_json(kData + "/fixtures/llama/model-f32.gguf")["parameters"], 139584);
  EXPECT_EQ(info_json(kData + "/fixtures/llama-k/model-f32.gguf")["parameters"], 1443072);
  EXPECT_EQ(info_json(kData + "/fixtures/gemma3/model-f32.gguf")["parameters"], 255744);
}

TEST(CliInfo, QuantMixOfLlamaQuantizeFiles) {
  // fixtures/README.md: Q4_K_M is Q4_K plus Q6_K for one layer's attn_v and ffn_down, output Q6_K.
  auto s = info_json(kData + "/fixtures/llama-k/model-Q4_K_M.gguf");
  std::map<std::string, int> counts;
  for (const auto& m : s["quant_mix"]) counts[m["type"]] = m["tensors"];
  EXPECT_EQ(counts["q6_K"], 3);
  EXPECT_GT(counts["q4_K"], 0);
  EXPECT_EQ(s["general"]["file_type"], "Q4_K_M");
  bool output_is_q6k = false;
  for (const auto& t : s["tensors"]) {
    if (t["name"] == "output.weight") output_is_q6k = t["type"] == "q6_K";
  }
  EXPECT_TRUE(output_is_q6k);
}

TEST(CliInfo, Stories260K) {
  auto s = info_json(kData + "/models/stories260K/stories260K.gguf");
  EXPECT_EQ(s["general"]["architecture"], "llama");
  EXPECT_EQ(s["tokenizer"]["vocab_size"], 512);
  EXPECT_EQ(s["tokenizer"]["model"], "llama");
  EXPECT_EQ(s["quant_mix"].size(), 1u);
  EXPECT_EQ(s["quant_mix"][0]["type"], "f32");
  auto r = run_command(forge_bin() + " info --tensors '" + kData + "/models/stories260K/stories260K.gguf'");
  EXPECT_NE(r.out.find("token_embd.weight"), std::string::npos);
  EXPECT_NE(r.out.find("blk.4.ffn_down.weight"), std::string::npos);
}

TEST(CliInfo, MalformedFileIsOneLineErrorAndExit1) {
  const auto bad = std::filesystem::temp_directory_path() / "forge_cli_bad.gguf";
  {
    std::ofstream out(bad, std::ios::binary);
    std::ifstream in(kData + "/fixtures/llama/model-f32.gguf", std::ios::binary);
    std::vector<char> head(5000);
    in.read(head.data(), head.size());
    out.write(head.data(), head.size());  // truncated inside the vocabulary
  }
  auto r = run_command(forge_bin() + " info '" + bad.string() + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("forge: error: " + bad.string() + ": file is truncated"), std::string::npos) << r.err;
  std::filesystem::remove(bad);

  auto missing = run_command(forge_bin() + " info /nonexistent.gguf");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("cannot open"), std::string::npos);
}

TEST(CliInfo, HelpIsUseful) {
  auto r = run_command(forge_bin() + " --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("info"), std::string::npos);
  auto i = run_command(forge_bin() + " info --help");
  EXPECT_EQ(i.exit_code, 0);
  EXPECT_NE(i.out.find("--tensors"), std::string::npos);
  EXPECT_NE(i.out.find("--json"), std::string::npos);
  auto none = run_command(forge_bin());
  EXPECT_NE(none.exit_code, 0);
}

}  // namespace
}  // namespace forge
