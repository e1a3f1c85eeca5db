// `forge serve` as a process: it prints its port, answers like `forge run`
// (greedy tokens equal), reads --api-key-file, refuses a taken port, and
// exits 0 on SIGTERM and SIGINT.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "server_test_support.h"

namespace forge {
namespace {

using nlohmann::json;

std::string forge_bin() {
  return FORGE_BIN;
}

// A running `forge serve`, its stderr read by a thread.
class ServeProcess {
 public:
  explicit ServeProcess(std::vector<std::string> args) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 2);
      close(fds[0]);
      close(fds[1]);
      std::vector<std::string> all = {forge_bin(), "serve"};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    fd_ = fds[0];
  }
  ~ServeProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
  }
  // Reads stderr until `what` appears (or EOF); returns everything read so far.
  std::string wait_for(const std::string& what) {
    char buf[512];
    while (err_.find(what) == std::string::npos) {
      const ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      err_.append(buf, static_cast<size_t>(n));
    }
    return err_;
  }
  int port() {
    std::smatch m;
    const std::string e = wait_for("ready");
    if (!std::regex_search(e, m, std::regex("listening on http://127\\.0\\.0\\.1:(\\d+)"))) return -1;
    return std::stoi(m[1]);
  }
  // Sends `sig` and returns the exit status (-1 if it did not exit within 10 s).
  int stop(int sig) {
    kill(pid_, sig);
    for (int i = 0; i < 1000; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        wait_for("\x01");  // drain
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }
  // Waits for the process to exit by itself (killed after 10 s: a failure).
  int exit_code() {
    for (int i = 0; i < 1000; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        wait_for("\x01");
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -2;
  }
  const std::string& err() const { return err_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  bool exited_ = false;
  std::string err_;
};

std::string run_capture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

TEST(ServeCli, GreedyOverHttpEqualsForgeRun) {
  ServeProcess s({"-m", testing::kStoriesPath, "--port", "0", "-t", "1", "--parallel", "2"});
  const int port = s.port();
  ASSERT_GT(port, 0) << s.err();
  for (const char* prompt : {"Once upon a time", "Sam had a red ball"}) {
    const json run = json::parse(run_capture(forge_bin() + " run -m " + testing::kStoriesPath + " -p '" + prompt +
                                             "' --greedy -n 48 --json -t 1 2>/dev/null"));
    auto r =
        testing::http_post(port, "/v1/completions",
                           json{{"prompt", prompt}, {"max_tokens", 48}, {"temperature", 0}, {"return_tokens", true}});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json["choices"][0]["token_ids"], run["tokens"]) << prompt;
    EXPECT_EQ(r.json["choices"][0]["text"], run["text"]) << prompt;
  }
  EXPECT_EQ(testing::http_get(port, "/v1/models").json["data"][0]["id"], "stories260K.gguf");
  EXPECT_EQ(s.stop(SIGTERM), 0) << s.err();
  EXPECT_NE(s.err().find("SIGTERM, shutting down"), std::string::npos) << s.err();
  EXPECT_NE(s.err().find("stopped"), std::string::npos) << s.err();
}

// --draft (stories260K's own Q4_0 quantization guessing ahead): sampled
// replies are `forge run`'s with the same seed; a draft of another
// vocabulary, or more than one slot, is refused.
TEST(ServeCli, DraftGivesForgeRunsReplies) {
  const std::string draft =
      std::filesystem::temp_directory_path() / ("forge-serve-draft-" + std::to_string(::getpid()) + ".gguf");
  std::filesystem::remove(draft);
  run_capture(forge_bin() + " quantize " + testing::kStoriesPath + " " + draft + " --type Q4_0 2>/dev/null");
  ASSERT_TRUE(std::filesystem::exists(draft));
  {
    ServeProcess s({"-m", testing::kStoriesPath, "--draft", draft, "--port", "0", "-t", "1"});
    const int port = s.port();
    ASSERT_GT(port, 0) << s.err();
    for (int seed : {5, 6}) {
      const json run = json::parse(run_capture(forge_bin() + " run -m " + testing::kStoriesPath +
                                               " -p 'Once upon a time' --temp 0.9 -n 40 --json -t 1 --seed " +
                                               std::to_string(seed) + " 2>/dev/null"));
      auto r = testing::http_post(port, "/v1/completions",
                                  json{{"prompt", "Once upon a time"},
                                       {"max_tokens", 40},
                                       {"temperature", 0.9},
                                       {"seed", seed},
                                       {"return_tokens", true}});
      ASSERT_EQ(r.status, 200) << r.body;
      EXPECT_EQ(r.json["choices"][0]["token_ids"], run["tokens"]) << seed;
    }
    EXPECT_NE(s.err().find("forge-serve-draft-"), std::string::npos) << s.err();
    EXPECT_NE(s.err().find(" guesses ahead (at most 8 tokens a round)"), std::string::npos) << s.err();
    EXPECT_EQ(s.stop(SIGTERM), 0) << s.err();
  }
  ServeProcess other({"-m", testing::kStoriesPath, "--draft",
                      std::string(FORGE_DATA_DIR) + "/fixtures/llama/model-f32.gguf", "--port", "0", "-t", "1"});
  EXPECT_EQ(other.exit_code(), 1);
  EXPECT_NE(other.err().find("speculative decoding needs the same vocabulary"), std::string::npos) << other.err();
  ServeProcess slots({"-m", testing::kStoriesPath, "--draft", draft, "--parallel", "2", "--port", "0"});
  EXPECT_EQ(slots.exit_code(), 1);
  EXPECT_NE(slots.err().find("serve it with --parallel 1"), std::string::npos) << slots.err();
  std::filesystem::remove(draft);
}

TEST(ServeCli, SigintDuringAStreamExitsCleanly) {
  ServeProcess s({"-m", testing::kStoriesPath, "--port", "0", "-t", "1", "--shutdown-grace", "0"});
  const int port = s.port();
  ASSERT_GT(port, 0) << s.err();
  std::thread client([&] {
    testing::http_stream(
        port, "/v1/completions",
        json{{"prompt", "Once"}, {"max_tokens", 2000}, {"stream", true}, {"logit_bias", {{"2", -100}}}});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(s.stop(SIGINT), 0) << s.err();
  client.join();
}

TEST(ServeCli, ApiKeyFile) {
  const std::string path = std::filesystem::temp_directory_path() / ("forge-key-" + std::to_string(getpid()));
  std::ofstream(path) << "  key-from-file \n";
  ServeProcess s({"-m", testing::kStoriesPath, "--port", "0", "-t", "1", "--api-key-file", path});
  const int port = s.port();
  ASSERT_GT(port, 0) << s.err();
  EXPECT_EQ(testing::http_get(port, "/v1/models").status, 401);
  EXPECT_EQ(testing::http_get(port, "/v1/models", {{"Authorization", "Bearer key-from-file"}}).status, 200);
  EXPECT_EQ(testing::http_get(port, "/health").status, 200);
  EXPECT_EQ(s.stop(SIGTERM), 0);
  std::filesystem::remove(path);
}

TEST(ServeCli, BadSetupIsAClearError) {
  ServeProcess a({"-m", testing::kStoriesPath, "--port", "0", "-t", "1"});
  const int port = a.port();
  ASSERT_GT(port, 0) << a.err();
  ServeProcess b({"-m", testing::kStoriesPath, "--port", std::to_string(port), "-t", "1"});
  EXPECT_EQ(b.exit_code(), 1);
  EXPECT_NE(b.err().find("cannot listen on 127.0.0.1:" + std::to_string(port)), std::string::npos) << b.err();
  ServeProcess c({"-m", testing::kStoriesPath, "--port", "0", "--api-key-file", "/nonexistent/key"});
  EXPECT_EQ(c.exit_code(), 1);
  EXPECT_NE(c.err().find("/nonexistent/key"), std::string::npos) << c.err();
  ServeProcess d({"-m", "/nonexistent/model.gguf", "--port", "0"});
  EXPECT_EQ(d.exit_code(), 1);
  EXPECT_NE(d.err().find("/nonexistent/model.gguf"), std::string::npos) << d.err();
  EXPECT_EQ(a.stop(SIGTERM), 0);
}

}  // namespace
}  // namespace forge
