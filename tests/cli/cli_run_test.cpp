// `forge run` end to end on the real trained model stories260K: greedy
// decoding writes exactly llama.cpp's tokens (reference-greedy.json).
#include <gtest/gtest.h>

#include <fstream>

#include "nlohmann/json.hpp"
#include "run_command.h"

namespace forge {
namespace {

using testing::forge_bin;
using testing::run_command;
using testing::shell_quote;
const std::string kData = FORGE_DATA_DIR;
const std::string kStories = kData + "/models/stories260K/stories260K.gguf";

TEST(CliRun, Stories260KGreedyMatchesReference) {
  std::ifstream in(kData + "/models/stories260K/reference-greedy.json");
  ASSERT_TRUE(in) << "missing models/stories260K/reference-greedy.json";
  auto ref = nlohmann::json::parse(in);
  ASSERT_EQ(ref["cases"].size(), 5u);
  for (const auto& c : ref["cases"]) {
    const std::string prompt = c["prompt"];
    SCOPED_TRACE(prompt);
    const int n = static_cast<int>(c["generated_tokens"].size());
    auto r = run_command(forge_bin() + " run -m " + kStories + " -p " + shell_quote(prompt) + " --greedy -n " +
                         std::to_string(n) + " --json -t 2");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto got = nlohmann::json::parse(r.out);
    EXPECT_EQ(got["prompt_tokens"], c["prompt_tokens"]);
    EXPECT_EQ(got["tokens"], c["generated_tokens"]);
    EXPECT_EQ(got["text"], c["generated_text"]);
  }
}

TEST(CliRun, StreamsTextAndReportsSpeed) {
  auto r = run_command(forge_bin() + " run -m " + kStories + " -p 'Once upon a time' --greedy -n 16");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind(", there was a little girl", 0), 0u) << r.out;
  EXPECT_NE(r.err.find("tok/s"), std::string::npos) << r.err;
}

TEST(CliRun, SeedMakesSamplingReproducible) {
  const std::string cmd = forge_bin() + " run -m " + kStories + " -p 'The little dog' -n 32 --temp 1.0 --no-stats ";
  auto a = run_command(cmd + "--seed 42");
  auto b = run_command(cmd + "--seed 42");
  auto c = run_command(cmd + "--seed 7");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, c.out);
}

TEST(CliRun, StopStringEndsGeneration) {
  auto r = run_command(forge_bin() + " run -m " + kStories + " -p 'Once upon a time' --greedy -n 64 --stop Lily --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto got = nlohmann::json::parse(r.out);
  EXPECT_EQ(got["text"], ", there was a little girl named ");
  EXPECT_EQ(got["finish_reason"], "stop");
}

TEST(CliRun, BadInputIsAClearError) {
  auto empty = run_command(forge_bin() + " run -m " + kStories + " -p ''");
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("the prompt is empty"), std::string::npos) << empty.err;

  auto too_long = run_command(forge_bin() + " run -m " + kStories + " -c 8 -p 'Once upon a time there was a dog'");
  EXPECT_EQ(too_long.exit_code, 1);
  EXPECT_NE(too_long.err.find("context holds 8"), std::string::npos) << too_long.err;

  auto no_tok = run_command(forge_bin() + " run -m " + kStories + " --tokenizer /nonexistent/tokenizer.json -p hi");
  EXPECT_EQ(no_tok.exit_code, 1);
  EXPECT_NE(no_tok.err.find("/nonexistent/tokenizer.json"), std::string::npos) << no_tok.err;

  auto no_model = run_command(forge_bin() + " run -m /nonexistent.gguf -p hi");
  EXPECT_EQ(no_model.exit_code, 1);
  EXPECT_NE(no_model.err.find("/nonexistent.gguf"), std::string::npos) << no_model.err;

  auto bad_temp = run_command(forge_bin() + " run -m " + kStories + " -p hi --temp nan");
  EXPECT_NE(bad_temp.exit_code, 0);
}

}  // namespace
}  // namespace forge
