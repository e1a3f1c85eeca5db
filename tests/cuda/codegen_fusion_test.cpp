// What `forge compile --target cuda` fuses in the one-token decode step
// (cuda_codegen.cpp Emitter::decode_fusion), read from the generated
// model.cu of the llama fixture (64 wide, FFN 128, two layers; --emit-only:
// no nvcc, no GPU): by default every norm is computed by the projection
// after it and the GLU by ffn_down's blocks, the first projection embeds the
// token and the output projection takes the argmax; with FORGE_CUDA_FUSE_WIDTH=64
// the 128-wide GLU is done by the gate/up blocks (matvec_glu) instead; with
// 0 nothing is fused into a projection; a width that is not a number is a
// clear error. Also: --max-batch is rounded up to a multiple of 4, so that
// every quantized activation region's int8 levels start 16-byte aligned; the
// kernels that choose their own grid are launched through their launchers.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <vector>

#include <unistd.h>

#include "run_command.h"

namespace forge {
namespace {

namespace fs = std::filesystem;
using testing::forge_bin;
using testing::run_command;
using testing::shell_quote;

const std::string kModel = std::string(FORGE_DATA_DIR) + "/fixtures/llama/model-q8_0.gguf";

// model.cu generated with FORGE_CUDA_FUSE_WIDTH=fuse_width ("" unset).
std::string generated(const std::string& fuse_width, int max_batch = 8) {
  if (!fs::exists(kModel)) throw std::runtime_error("missing test data " + kModel + " (the shared data must be at ../shared/data)");
  const fs::path dir = fs::temp_directory_path() / ("forge_cuda_fusion_" + std::to_string(::getpid()) + "_" +
                                                    (fuse_width.empty() ? "default" : fuse_width) + "_" +
                                                    std::to_string(max_batch));
  fs::remove_all(dir);
  const std::string env = fuse_width.empty() ? "" : "FORGE_CUDA_FUSE_WIDTH=" + shell_quote(fuse_width) + " ";
  const auto r = run_command(env + forge_bin() + " compile -m " + shell_quote(kModel) + " -o " +
                             shell_quote(dir.string()) + " --target cuda --max-context 64 --max-batch " +
                             std::to_string(max_batch) + " --emit-only");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(dir / "model.cu");
  std::stringstream text;
  text << in.rdbuf();
  fs::remove_all(dir);
  return text.str();
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(CudaCodegenFusion, DefaultFusesNormsAndTheGluIntoTheNextProjection) {
  const std::string cu = generated("");
  ASSERT_FALSE(cu.empty());
  EXPECT_EQ(count(cu, "kc::launch_matvec_split<BlockQ8_0, 64, 3>"), 2);  // q, k, v with the norm, each layer
  EXPECT_EQ(count(cu, "kc::NormInput{"), 5);                             // + gate/up each layer, + the output
  EXPECT_EQ(count(cu, "kc::GluInput{"), 2);                              // ffn_down computes the GLU
  EXPECT_EQ(count(cu, "attention_rope_step(F("), 2);                       // RoPE and the KV write in attention
  EXPECT_EQ(count(cu, "launch_matvec_glu"), 0);
  EXPECT_EQ(count(cu, "kc::EmbedInput<BlockQ8_0>{"), 1);  // the first q, k, v embed the token themselves
  EXPECT_EQ(count(cu, "kc::launch(kc::embed<"), 1);        // the else branch (prompt steps)
  EXPECT_EQ(count(cu, ", take_argmax());"), 1);            // the output projection takes the greedy token
}

TEST(CudaCodegenFusion, WideGluGoesToTheGateUpBlocks) {
  const std::string cu = generated("64");
  ASSERT_FALSE(cu.empty());
  EXPECT_EQ(count(cu, "kc::launch_matvec_glu<BlockQ8_0, 64, 2>"), 2);
  EXPECT_EQ(count(cu, "kc::GluOut{"), 2);
  EXPECT_EQ(count(cu, "kc::GluInput{"), 0);
  EXPECT_EQ(count(cu, "kc::NormInput{"), 5);  // the 64-wide norms still fused
}

TEST(CudaCodegenFusion, WidthZeroFusesNothingIntoProjections) {
  const std::string cu = generated("0");
  ASSERT_FALSE(cu.empty());
  EXPECT_EQ(count(cu, "kc::NormInput{"), 0);
  EXPECT_EQ(count(cu, "kc::GluInput{"), 0);
  EXPECT_EQ(count(cu, "launch_matvec_glu"), 0);
  EXPECT_EQ(count(cu, "attention_rope_step(F("), 2);  // not a width decision
  EXPECT_EQ(count(cu, "kc::EmbedInput<"), 0);            // the embedding's norm is not fused either
  EXPECT_EQ(count(cu, "take_argmax()"), 0);              // nor the output's: argmax_next does it
}

TEST(CudaCodegenFusion, BadWidthIsAClearError) {
  const fs::path dir = fs::temp_directory_path() / ("forge_cuda_fusion_bad_" + std::to_string(::getpid()));
  const auto r = run_command("FORGE_CUDA_FUSE_WIDTH=wide " + forge_bin() + " compile -m " + shell_quote(kModel) +
                             " -o " + shell_quote(dir.string()) + " --target cuda --emit-only");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("FORGE_CUDA_FUSE_WIDTH=wide: expected a width"), std::string::npos) << r.err;
  fs::remove_all(dir);
}

// The kernels whose grid depends on how they split the work (4 values a
// thread, a row a block, ...) are launched through their launchers, never
// with a grid written by the codegen: a fake_quant_q8_0 launched with the old
// grid (a thread a block) quantized an eighth of its input on the GPU.
TEST(CudaCodegen, LaunchersChooseTheGrids) {
  const std::string cu = generated("", 16);
  ASSERT_FALSE(cu.empty());
  for (const char* kernel : {"fake_quant_q8_0", "glu", "norm_rows", "mmq"}) {
    EXPECT_EQ(count(cu, std::string("kc::launch(kc::") + kernel + ","), 0) << kernel;
    EXPECT_EQ(count(cu, std::string("kc::") + kernel + "<<<"), 0) << kernel;
  }
  EXPECT_GT(count(cu, "kc::launch_fake_quant_q8_0(stream_, "), 0);
  EXPECT_GT(count(cu, "kc::launch_norm_rows(stream_, "), 0);
  EXPECT_GT(count(cu, "kc::launch_glu(stream_, "), 0);
}

TEST(CudaCodegen, MaxBatchRoundsUpSoThatLevelsAre16ByteAligned) {
  const std::string cu = generated("", 17);
  ASSERT_FALSE(cu.empty());
  EXPECT_EQ(count(cu, "constexpr int kMaxBatch = 20;"), 1);
  // kc::Q8Out{vals, sums, reinterpret_cast<int8_t*>(acts() + region + offset), scales}: offsets in floats.
  const std::regex levels(R"(reinterpret_cast<int8_t\*>\(acts\(\) \+ (\d+) \+ (\d+)\))");
  int regions = 0;
  for (auto it = std::sregex_iterator(cu.begin(), cu.end(), levels); it != std::sregex_iterator(); ++it, ++regions) {
    const long floats = std::stol((*it)[1]) + std::stol((*it)[2]);
    EXPECT_EQ(floats % 4, 0) << (*it)[0];
  }
  EXPECT_GT(regions, 0);
}

// L2 prefetch across the decode step (kc::L2Prefetch): kDecodeReads lists
// the weights of each projection launch once, in the order the step reads
// them; every launch that reads weights passes pf(k), k being its own entry
// (pf(k) is the entry after it), and the attention between two projections
// passes the entry after the next projection's.
TEST(CudaCodegen, EachLaunchPrefetchesTheWeightsReadNext) {
  const std::string cu = generated("", 16);
  ASSERT_FALSE(cu.empty());
  const size_t table = cu.find("kDecodeReads[] = {");
  ASSERT_NE(table, std::string::npos);
  std::vector<long> offsets;
  const std::string entries = cu.substr(table, cu.find(";\n", table) - table);
  const std::regex entry(R"(\{(\d+), (\d+)\})");
  for (auto it = std::sregex_iterator(entries.begin(), entries.end(), entry); it != std::sregex_iterator(); ++it) {
    offsets.push_back(std::stol((*it)[1]));
    EXPECT_GT(std::stol((*it)[2]), 0);
  }
  ASSERT_EQ(offsets.size(), 9u);  // 2 layers of q+k+v, o, gate+up, down; the output
  for (size_t i = 1; i < offsets.size(); ++i) EXPECT_GT(offsets[i], offsets[i - 1]);  // weights.bin is in reading order
  EXPECT_EQ(count(cu, "constexpr int kDecodeReadCount = 9;"), 1);

  // The step's statements in order: each launch's own entry, and the attention's.
  const std::string body = cu.substr(cu.find("void Model::enqueue("));
  const std::regex launch(R"(W\((\d+)\)[^;]*pf\((\d+)\))"), attention(R"(attention_rope_step\([^;]*pf\((\d+)\)\);)");
  int last = -1, launches = 0, attentions = 0;
  std::istringstream statements(body);
  for (std::string st; std::getline(statements, st, ';');) {
    std::smatch m;
    if (std::regex_search(st, m, launch)) {
      const int k = std::stoi(m[2]);
      ASSERT_LT(k, static_cast<int>(offsets.size()));
      EXPECT_EQ(std::stol(m[1]), offsets[k]) << st;  // its own weights are entry k
      EXPECT_TRUE(k == last || k == last + 1) << st;  // in reading order (a fusion's two branches: the same k)
      last = k;
      ++launches;
    } else if (std::regex_search(st += ";", m, attention)) {
      // after q+k+v (entry last): o's entry is last + 1, and pf(last + 1) gives the one after it
      EXPECT_EQ(std::stoi(m[1]), last + 1) << st;
      ++attentions;
    }
  }
  EXPECT_EQ(last, 8);
  EXPECT_GE(launches, 9);
  EXPECT_EQ(attentions, 2);
}

}  // namespace

}  // namespace forge
