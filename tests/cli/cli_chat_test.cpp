// `forge chat` driven through stdin: replies come out, the second turn reuses
// the KV cache of the first, /reset forgets it.
#include <gtest/gtest.h>

#include <regex>

#include "run_command.h"

namespace forge {
namespace {

using testing::forge_bin;
using testing::run_command;
const std::string kStories = std::string(FORGE_DATA_DIR) + "/models/stories260K/stories260K.gguf";

TEST(CliChat, KeepsTheCacheAcrossTurnsAndResets) {
  auto r = run_command("printf 'Hello there\\nHow are you\\n/reset\\nTell me a story\\n/quit\\n' | " + forge_bin() +
                       " chat -m " + kStories + " --greedy -n 12 -t 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Three replies, one line each.
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << r.out;
  // stories260K has no template of its own: the fallback is announced.
  EXPECT_NE(r.err.find("no chat template"), std::string::npos) << r.err;
  std::regex stat(R"(\((\d+) new prompt tokens, (\d+) reused from the cache of (\d+);)");
  std::vector<std::array<int, 3>> turns;
  for (auto it = std::sregex_iterator(r.err.begin(), r.err.end(), stat); it != std::sregex_iterator(); ++it) {
    turns.push_back({std::stoi((*it)[1]), std::stoi((*it)[2]), std::stoi((*it)[3])});
  }
  ASSERT_EQ(turns.size(), 3u) << r.err;
  EXPECT_EQ(turns[0][1], 0);                 // nothing cached at first
  EXPECT_GT(turns[1][1], turns[0][0] - 1);   // the first turn's prompt is reused
  EXPECT_EQ(turns[2][1], 0);                 // after /reset
  EXPECT_NE(r.err.find("(conversation reset)"), std::string::npos);
}

TEST(CliChat, SystemPromptAndEndOfInput) {
  auto r = run_command("printf 'Hi\\n' | " + forge_bin() + " chat -m " + kStories +
                       " --greedy -n 4 --system 'You are a storyteller.'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
}

}  // namespace
}  // namespace forge
