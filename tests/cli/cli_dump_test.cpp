// `forge dump` end to end, against the independent reference dequantization
// in shared/data/quant-vectors (one full tensor per type, made with gguf-py).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "run_command.h"

namespace forge {
namespace {

namespace fs = std::filesystem;
using testing::forge_bin;
using testing::run_command;
const std::string kData = FORGE_DATA_DIR;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(CliDump, RawFloatsEqualTheReferenceVectors) {
  const fs::path dir = kData + "/quant-vectors";
  const fs::path out = fs::temp_directory_path() / ("forge_cli_dump_" + std::to_string(::getpid()) + ".f32");
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".f32") continue;
    // <TYPE>--<file>--<tensor>.f32
    const std::string stem = e.path().stem().string();
    const size_t a = stem.find("--"), b = stem.find("--", a + 2);
    ASSERT_NE(b, std::string::npos) << stem;
    const std::string file = stem.substr(a + 2, b - a - 2), tensor = stem.substr(b + 2);
    SCOPED_TRACE(stem);
    auto r = run_command(forge_bin() + " dump '" + kData + "/fixtures/llama-k/" + file + ".gguf' " + tensor + " -o '" +
                         out.string() + "'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(slurp(out) == slurp(e.path())) << "dequantized values differ from " << e.path();
    ++n;
  }
  EXPECT_EQ(n, 12) << "quant-vectors should hold one .f32 per type (see its README)";
  fs::remove(out);
}

TEST(CliDump, SummaryMatchesTheReferenceValues) {
  const std::string ref = slurp(kData + "/quant-vectors/Q4_K--model-Q3_K_M--blk.0.attn_output.weight.f32");
  ASSERT_FALSE(ref.empty()) << "missing quant-vectors/Q4_K--model-Q3_K_M--blk.0.attn_output.weight.f32";
  std::vector<float> v(ref.size() / 4);
  std::memcpy(v.data(), ref.data(), ref.size());
  double sum = 0, sq = 0;
  for (float x : v) sum += x, sq += double(x) * x;
  const float lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());

  auto r = run_command(forge_bin() + " dump '" + kData + "/fixtures/llama-k/model-Q3_K_M.gguf' blk.0.attn_output.weight");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto field = [&](const std::string& key) {
    const size_t p = r.out.find("\n" + key);
    EXPECT_NE(p, std::string::npos) << key << " in:\n" << r.out;
    return p == std::string::npos ? NAN : std::stod(r.out.substr(p + 1 + key.size()));
  };
  EXPECT_NE(r.out.find("type      q4_K"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[256, 256]"), std::string::npos) << r.out;
  char first[32];
  std::snprintf(first, sizeof first, "first     %.6g ", v[0]);
  EXPECT_NE(r.out.find(first), std::string::npos) << r.out;
  EXPECT_NEAR(field("min"), lo, 1e-5 * std::fabs(lo));
  EXPECT_NEAR(field("max"), hi, 1e-5 * std::fabs(hi));
  EXPECT_NEAR(field("mean"), sum / v.size(), 1e-5 * std::fabs(sum / v.size()) + 1e-9);
  EXPECT_NEAR(field("rms"), std::sqrt(sq / v.size()), 1e-5 * std::sqrt(sq / v.size()));
}

TEST(CliDump, MissingTensorIsAClearError) {
  auto r = run_command(forge_bin() + " dump '" + kData + "/fixtures/llama-k/model-f32.gguf' blk.0.attn_q");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no tensor named 'blk.0.attn_q'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("blk.0.attn_q.weight"), std::string::npos) << "should suggest the close name: " << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
}  // namespace forge
