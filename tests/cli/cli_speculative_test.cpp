// `forge speculative` end to end on stories260K with its own Q4_0
// quantization as the draft: greedy text is llama.cpp's reference
// continuation, seeded sampling writes what `forge run` writes.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>

#include "nlohmann/json.hpp"
#include "run_command.h"

namespace forge {
namespace {

using nlohmann::json;
using testing::forge_bin;
using testing::run_command;
using testing::shell_quote;
const std::string kData = FORGE_DATA_DIR;
const std::string kStories = kData + "/models/stories260K/stories260K.gguf";

// stories260K quantized to Q4_0 by `forge quantize`, made once.
std::string draft_model() {
  static const std::string path = [] {
    const auto p = testing::scratch_dir("cli_speculative") / "stories-q4_0.gguf";
    const auto r = run_command(forge_bin() + " quantize " + shell_quote(kStories) + " " + shell_quote(p.string()) +
                               " --type Q4_0");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return p.string();
  }();
  return path;
}

std::string speculative(const std::string& flags) {
  return forge_bin() + " speculative -m " + shell_quote(kStories) + " --draft " + shell_quote(draft_model()) + " " +
         flags;
}

TEST(CliSpeculative, GreedyTextIsTheReference) {
  std::ifstream in(kData + "/models/stories260K/reference-greedy.json");
  ASSERT_TRUE(in) << "missing models/stories260K/reference-greedy.json";
  const auto ref = json::parse(in);
  int64_t accepted = 0, drafted = 0;
  for (const auto& c : ref["cases"]) {
    const std::string prompt = c["prompt"];
    SCOPED_TRACE(prompt);
    const int n = static_cast<int>(c["generated_tokens"].size());
    const auto r = run_command(speculative("-p " + shell_quote(prompt) + " --greedy -n " + std::to_string(n) +
                                           " --json -t 1 --draft-tokens 6"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto got = json::parse(r.out);
    EXPECT_EQ(got["tokens"], c["generated_tokens"]);
    EXPECT_EQ(got["text"], c["generated_text"]);
    accepted += got["speculative"]["accepted"].get<int64_t>();
    drafted += got["speculative"]["drafted"].get<int64_t>();
  }
  EXPECT_GT(accepted, 0);  // the Q4_0 draft guesses some tokens right, and some wrong
  EXPECT_LT(accepted, drafted);
}

TEST(CliSpeculative, SampledTextIsForgeRunsWithTheSameSeed) {
  for (const std::string seed : {"3", "11"}) {
    const std::string flags =
        "-p 'The little dog' -n 80 --temp 0.9 --top-k 30 --repeat-penalty 1.2 --json -t 1 --seed " + seed;
    const auto alone = run_command(forge_bin() + " run -m " + shell_quote(kStories) + " " + flags);
    const auto spec = run_command(speculative(flags));
    ASSERT_EQ(alone.exit_code, 0) << alone.err;
    ASSERT_EQ(spec.exit_code, 0) << spec.err;
    EXPECT_EQ(json::parse(spec.out)["tokens"], json::parse(alone.out)["tokens"]) << "seed " << seed;
  }
  const auto r = run_command(speculative("-p 'Once' -n 20 --greedy"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("speculative: the draft guessed "), std::string::npos) << r.err;
}

// `forge chat --draft`: the replies of a conversation (the cache kept across
// turns, then reset) are those of `forge chat` alone with the same seed.
TEST(CliSpeculative, ChatWithADraftSaysWhatChatAloneSays) {
  const std::string input = "printf 'Tell me a story\\nAnd another one\\n/reset\\nOnce more\\n' | ";
  const std::string chat = forge_bin() + " chat -m " + shell_quote(kStories) + " --seed 4 --temp 0.9 -n 40 -t 1";
  const auto alone = run_command(input + chat);
  const auto drafted = run_command(input + chat + " --draft " + shell_quote(draft_model()));
  ASSERT_EQ(alone.exit_code, 0) << alone.err;
  ASSERT_EQ(drafted.exit_code, 0) << drafted.err;
  EXPECT_GE(std::count(alone.out.begin(), alone.out.end(), '\n'), 3) << alone.out;
  EXPECT_EQ(drafted.out, alone.out);
  // The second turn ran only its new tokens.
  EXPECT_TRUE(std::regex_search(drafted.err, std::regex(R"(new prompt tokens, [1-9]\d* reused from the cache)")))
      << drafted.err;
  EXPECT_NE(drafted.err.find("speculative: the draft guessed "), std::string::npos) << drafted.err;
}

TEST(CliSpeculative, BadInputIsAClearError) {
  auto r = run_command(forge_bin() + " speculative -m " + shell_quote(kStories) + " --draft " +
                       shell_quote(kData + "/fixtures/llama/model-f32.gguf") + " -p 'Once'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("speculative decoding needs the same vocabulary"), std::string::npos) << r.err;
  r = run_command(forge_bin() + " speculative -m " + shell_quote(kStories) + " -p 'Once'");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--draft is required"), std::string::npos) << r.err;
  r = run_command(speculative("-p 'Once' --draft-tokens 0"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--draft-tokens"), std::string::npos) << r.err;
  r = run_command(forge_bin() + " speculative -m " + shell_quote(kStories) + " --draft /nonexistent.gguf -p 'Once'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/nonexistent.gguf"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace forge
