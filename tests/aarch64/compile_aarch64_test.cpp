// `forge compile --cpu aarch64` end to end: stories260K cross-compiled for
// AArch64 (static), run under qemu-aarch64. Its greedy text must be the
// reference's (llama.cpp, reference-greedy.json) and its greedy tokens and
// logits the x86-64 interpreter's (tokens exactly, logits within 1e-4
// relative RMS, as for the native compiled programs).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "nlohmann/json.hpp"
#include "run_command.h"
#include "runtime/generate.h"
#include "runtime/loaded_model.h"
#include "runtime/sampler.h"

namespace forge {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::forge_bin;
using testing::run_command;
using testing::shell_quote;
const std::string kData = FORGE_DATA_DIR;
const std::string kStories = kData + "/models/stories260K/stories260K.gguf";
constexpr int kCtx = 96;

json load_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("missing test data " + path + " (the shared data must be at ../shared/data)");
  return json::parse(in);
}

// The arm64 static libraries the tokenizer needs (see tests/aarch64/unpack_arm64_deps.sh).
bool arm64_deps_present() {
  if (const char* env = std::getenv("FORGE_AARCH64_DEPS"); env && *env) {
    return fs::exists(fs::path(env) / "usr/lib/aarch64-linux-gnu/libpcre2-8.a");
  }
  return fs::exists("/opt/forge-aarch64-deps/.complete") || fs::exists("/usr/lib/aarch64-linux-gnu/libpcre2-8.a");
}

// stories260K compiled for AArch64 once per build tree (rebuilt when forge
// is newer); flock keeps concurrent tests from building one folder twice.
fs::path compiled_for_aarch64() {
  const fs::path dir = fs::path(FORGE_A64_COMPILE_DIR) / "stories260K";
  fs::create_directories(dir.parent_path());
  const std::string compile = forge_bin() + " compile -m " + shell_quote(kStories) + " -o " + shell_quote(dir.string()) +
                              " --cpu aarch64 --max-context " + std::to_string(kCtx) + " --max-batch 16 -t 2 --opt -O1";
  const std::string script = "[ " + shell_quote((dir / "model").string()) + " -nt " + shell_quote(FORGE_BIN) + " ] || " + compile;
  auto r = run_command("flock " + shell_quote(dir.string() + ".lock") + " sh -c " + shell_quote(script));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return dir;
}

std::string qemu(const fs::path& dir) { return std::string(FORGE_QEMU_AARCH64) + " " + shell_quote((dir / "model").string()); }

class CompileAarch64 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!arm64_deps_present()) {
      GTEST_FAIL() << "the arm64 builds of libpcre2-8, libutf8proc and zlib are missing: run "
                      "tests/aarch64/unpack_arm64_deps.sh /opt/forge-aarch64-deps (scripts/setup.sh does)";
    }
  }
};

TEST_F(CompileAarch64, Stories260KUnderQemuWritesTheReferenceText) {
  const json ref = load_json(kData + "/models/stories260K/reference-greedy.json");
  const fs::path dir = compiled_for_aarch64();
  ASSERT_TRUE(fs::exists(dir / "model")) << "no program was built";

  // An AArch64 ELF (e_machine 183, EM_AARCH64), not a host program.
  std::ifstream elf(dir / "model", std::ios::binary);
  unsigned char head[20] = {};
  elf.read(reinterpret_cast<char*>(head), sizeof head);
  EXPECT_EQ(head[18] | (head[19] << 8), 183) << "model is not an AArch64 program";

  const json& c = ref["cases"][0];
  const int n = static_cast<int>(c["generated_tokens"].size());
  auto r = run_command(qemu(dir) + " -p " + shell_quote(c["prompt"].get<std::string>()) + " --greedy -n " +
                       std::to_string(n) + " --json -t 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json got = json::parse(r.out);
  EXPECT_EQ(got["prompt_tokens"], c["prompt_tokens"]);
  EXPECT_EQ(got["tokens"], c["generated_tokens"]);
  EXPECT_EQ(got["text"], c["generated_text"]);

  // The x86-64 interpreter: the same greedy tokens, and logits within 1e-4 relative RMS.
  runtime::LoadOptions lo;
  lo.model_path = kStories;
  auto m = runtime::LoadedModel::load(lo);
  interp::InterpreterOptions io;
  io.n_ctx = kCtx;
  io.threads = 2;
  auto it = m->interpreter(io);
  const std::vector<int32_t> prompt = c["prompt_tokens"].get<std::vector<int32_t>>();
  runtime::SamplingParams p;
  p.temperature = 0;
  runtime::Sampler sampler(p, m->spec().n_vocab);
  runtime::Session session(*it, m->tokenizer());
  runtime::GenerateOptions g;
  g.max_tokens = n;
  g.ignore_eos = true;
  const auto want = session.generate(prompt, sampler, g, [](std::string_view) { return true; }).tokens;
  EXPECT_EQ(got["tokens"].get<std::vector<int32_t>>(), want);

  std::string ids;
  for (int32_t t : prompt) {
    if (!ids.empty()) ids += ',';
    ids += std::to_string(t);
  }
  auto l = run_command(qemu(dir) + " --tokens " + ids + " --logits -t 2");
  ASSERT_EQ(l.exit_code, 0) << l.err;
  const json rows = json::parse(l.out)["logits"];
  it->truncate(0);
  auto all = it->prefill(prompt, 0, model::Logits::kAll);
  const size_t v = m->spec().n_vocab;
  ASSERT_EQ(rows.size(), prompt.size());
  double num = 0, den = 0;
  for (size_t t = 0; t < prompt.size(); ++t) {
    ASSERT_EQ(rows[t].size(), v);
    for (size_t j = 0; j < v; ++j) {
      const double d = rows[t][j].get<double>() - all[t * v + j];
      num += d * d;
      den += static_cast<double>(all[t * v + j]) * all[t * v + j];
    }
  }
  EXPECT_LE(std::sqrt(num / den), 1e-4);
  std::printf("  aarch64 stories260K: relative RMS vs the x86-64 interpreter %.3g\n", std::sqrt(num / den));
}

}  // namespace
}  // namespace forge
