// `forge quantize` end to end, against llama.cpp's own llama-quantize outputs
// in fixtures/llama-k (the same F32 model quantized by llama.cpp): the same
// type for every tensor, the same bytes, and no worse RMSE.
#include <gtest/gtest.h>


#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <vector>

#include "nlohmann/json.hpp"
#include "run_command.h"

namespace forge {
namespace {

namespace fs = std::filesystem;
using testing::forge_bin;
using testing::run_command;
const std::string kData = FORGE_DATA_DIR;
const std::string kLlamaK = kData + "/fixtures/llama-k";

fs::path temp_dir() {
  static const fs::path dir = testing::scratch_dir("cli_quantize");
  return dir;
}

nlohmann::json tensors_of(const std::string& path) {
  auto r = run_command(forge_bin() + " info --json --tensors '" + path + "'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json::object();
}

std::string file_bytes(const std::string& path, uint64_t offset, uint64_t n) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::string s(n, '\0');
  in.read(s.data(), static_cast<std::streamsize>(n));
  EXPECT_TRUE(in) << path << " offset " << offset;
  return s;
}

std::vector<float> dump(const std::string& model, const std::string& tensor) {
  const fs::path out = temp_dir() / "dump.f32";
  auto r = run_command(forge_bin() + " dump '" + model + "' " + tensor + " -o '" + out.string() + "'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(out, std::ios::binary);
  std::vector<float> v(fs::file_size(out) / sizeof(float));
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
  return v;
}

// Quantizes llama-k's F32 model once per type and keeps the result.
std::string quantized(const std::string& type) {
  static std::map<std::string, std::string> done;
  auto it = done.find(type);
  if (it != done.end()) return it->second;
  const std::string out = (temp_dir() / ("model-" + type + ".gguf")).string();
  auto r = run_command(forge_bin() + " quantize '" + kLlamaK + "/model-f32.gguf' '" + out + "' --type " + type +
                       " --threads 2");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("blk.1.ffn_down.weight"), std::string::npos) << "progress should name each tensor";
  return done[type] = out;
}

// llama.cpp's fixture file name for each type (llama-quantize outputs).
const std::vector<std::pair<std::string, std::string>> kFixtures = {
    {"F16", "model-f16.gguf"},     {"BF16", "model-bf16.gguf"},     {"Q8_0", "model-q8_0.gguf"},
    {"Q4_0", "model-Q4_0.gguf"},   {"Q4_1", "model-Q4_1.gguf"},     {"Q5_0", "model-Q5_0.gguf"},
    {"Q5_1", "model-Q5_1.gguf"},   {"Q2_K", "model-Q2_K.gguf"},     {"Q3_K_M", "model-Q3_K_M.gguf"},
    {"Q4_K_M", "model-Q4_K_M.gguf"}, {"Q5_K_M", "model-Q5_K_M.gguf"}, {"Q6_K", "model-Q6_K.gguf"},
};

TEST(CliQuantize, EveryTensorHasLlamaQuantizesTypeAndBytes) {
  for (const auto& [type, file] : kFixtures) {
    SCOPED_TRACE(type);
    const std::string ref_path = kLlamaK + "/" + file;
    ASSERT_TRUE(fs::exists(ref_path)) << "missing fixture " << ref_path << " (see shared/data/MANIFEST.md)";
    const std::string ours_path = quantized(type);
    auto ref = tensors_of(ref_path);
    auto ours = tensors_of(ours_path);
    EXPECT_EQ(ours["general"]["file_type"], ref["general"]["file_type"]);
    EXPECT_EQ(ours["hyperparameters"], ref["hyperparameters"]);
    std::map<std::string, nlohmann::json> by_name;
    for (const auto& t : ours["tensors"]) by_name[t["name"]] = t;
    ASSERT_EQ(by_name.size(), ref["tensors"].size());
    for (const auto& t : ref["tensors"]) {
      const std::string name = t["name"];
      SCOPED_TRACE(name);
      ASSERT_TRUE(by_name.count(name));
      const auto& o = by_name[name];
      EXPECT_EQ(o["type"], t["type"]);
      EXPECT_EQ(o["shape"], t["shape"]);
      ASSERT_EQ(o["bytes"], t["bytes"]);
      // Our reference quantizers follow ggml's, so the bytes are the same.
      EXPECT_TRUE(file_bytes(ours_path, o["offset"], o["bytes"]) == file_bytes(ref_path, t["offset"], t["bytes"]))
          << "bytes differ";
    }
  }
}

TEST(CliQuantize, RmsePerTypeNoWorseThanLlamaCpp) {
  const std::string f32 = kLlamaK + "/model-f32.gguf";
  std::map<std::string, std::vector<float>> originals;
  struct Err {
    double ours = 0, ref = 0;
    uint64_t n = 0;
  };
  std::map<std::string, Err> by_type;
  for (const auto& [type, file] : kFixtures) {
    if (type == "F16" || type == "BF16") continue;
    const std::string ref_path = kLlamaK + "/" + file;
    const std::string ours_path = quantized(type);
    auto ref = tensors_of(ref_path);
    for (const auto& t : ref["tensors"]) {
      const std::string name = t["name"], tt = t["type"];
      if (tt == "f32") continue;
      if (!originals.count(name)) originals[name] = dump(f32, name);
      const auto& x = originals[name];
      const auto theirs = dump(ref_path, name);
      const auto ours = dump(ours_path, name);
      ASSERT_EQ(theirs.size(), x.size());
      ASSERT_EQ(ours.size(), x.size());
      Err& e = by_type[tt];
      for (size_t i = 0; i < x.size(); ++i) {
        e.ours += (double(ours[i]) - x[i]) * (double(ours[i]) - x[i]);
        e.ref += (double(theirs[i]) - x[i]) * (double(theirs[i]) - x[i]);
      }
      e.n += x.size();
    }
  }
  EXPECT_GE(by_type.size(), 10u);  // q2_K q3_K q4_K q5_K q6_K q4_0 q4_1 q5_0 q5_1 q8_0
  std::printf("| type | RMSE forge quantize | RMSE llama-quantize | ratio |\n|---|---:|---:|---:|\n");
  for (const auto& [tt, e] : by_type) {
    const double ours = std::sqrt(e.ours / e.n), ref = std::sqrt(e.ref / e.n);
    std::printf("| %s | %.6g | %.6g | %.4f |\n", tt.c_str(), ours, ref, ours / ref);
    EXPECT_LE(ours, 1.02 * ref) << tt;
  }
}

TEST(CliQuantize, RowsNotAMultipleOf256FallBackAsLlamaCpp) {
  // fixtures/llama: hidden 64, intermediate 128, vocab 512, untied. K-quants need
  // rows of 256; llama.cpp falls back Q4_K -> Q5_0, Q6_K -> Q8_0, Q2_K/Q3_K -> Q4_0,
  // and gives output.weight Q8_0 outright when its rows do not fit.
  const std::string in = kData + "/fixtures/llama/model-f32.gguf";
  const std::string out = (temp_dir() / "llama-q4km.gguf").string();
  auto r = run_command(forge_bin() + " quantize '" + in + "' '" + out + "' --type Q4_K_M");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: blk.0.attn_q.weight: rows of 64 are not a multiple of 256 (needed by q4_K): "
                       "falling back to q5_0"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("blk.1.attn_v.weight: rows of 64 are not a multiple of 256 (needed by q6_K): falling back "
                       "to q8_0"),
            std::string::npos)
      << r.err;
  std::map<std::string, std::string> types;
  const auto info = tensors_of(out);
  for (const auto& t : info["tensors"]) types[t["name"]] = t["type"];
  EXPECT_EQ(types["output.weight"], "q8_0");
  EXPECT_EQ(types["token_embd.weight"], "q5_0");
  EXPECT_EQ(types["blk.0.attn_v.weight"], "q5_0");
  EXPECT_EQ(types["blk.1.attn_v.weight"], "q8_0");  // use_more_bits(1 of 2): Q6_K
  EXPECT_EQ(types["blk.0.ffn_down.weight"], "q5_0");
  EXPECT_EQ(types["blk.1.ffn_down.weight"], "q8_0");
  EXPECT_EQ(types["blk.0.attn_norm.weight"], "f32");

  const std::string out2 = (temp_dir() / "llama-q2k.gguf").string();
  r = run_command(forge_bin() + " quantize '" + in + "' '" + out2 + "' --type q2_k");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  types.clear();
  const auto info2 = tensors_of(out2);
  for (const auto& t : info2["tensors"]) types[t["name"]] = t["type"];
  EXPECT_EQ(types["blk.0.attn_q.weight"], "q4_0");
  EXPECT_EQ(types["blk.0.ffn_down.weight"], "q4_0");  // Q3_K by the mix, then the fallback
  // The result still runs.
  auto run = run_command(forge_bin() + " run -m '" + out + "' -p 'Hello' -n 4 --greedy");
  EXPECT_EQ(run.exit_code, 0) << run.err;
}

TEST(CliQuantize, Refusals) {
  // Already quantized input.
  auto r = run_command(forge_bin() + " quantize '" + kLlamaK + "/model-Q4_0.gguf' '" +
                       (temp_dir() / "requant.gguf").string() + "' --type Q8_0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is already quantized (q"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--allow-requantize"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(temp_dir() / "requant.gguf"));
  r = run_command(forge_bin() + " quantize '" + kLlamaK + "/model-Q4_0.gguf' '" +
                  (temp_dir() / "requant.gguf").string() + "' --type Q8_0 --allow-requantize");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto requant = tensors_of((temp_dir() / "requant.gguf").string());
  ASSERT_EQ(requant["tensors"].size(), 21u);
  for (const auto& t : requant["tensors"]) {
    if (t["shape"].size() == 2) {
      EXPECT_EQ(t["type"], "q8_0") << t["name"];
    }
  }

  // Output equal to the input: same path, or the same file by another name.
  const fs::path copy = temp_dir() / "same.gguf";
  fs::copy_file(kData + "/fixtures/llama/model-f32.gguf", copy, fs::copy_options::overwrite_existing);
  const auto size = fs::file_size(copy);
  r = run_command(forge_bin() + " quantize '" + copy.string() + "' '" + copy.string() + "' --type Q8_0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is the input file"), std::string::npos) << r.err;
  fs::create_symlink(copy, temp_dir() / "link.gguf");
  r = run_command(forge_bin() + " quantize '" + copy.string() + "' '" + (temp_dir() / "link.gguf").string() +
                  "' --type Q8_0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is the input file"), std::string::npos) << r.err;
  EXPECT_EQ(fs::file_size(copy), size);

  // Unknown type: the valid ones are listed.
  r = run_command(forge_bin() + " quantize '" + copy.string() + "' '" + (temp_dir() / "x.gguf").string() +
                  "' --type Q9_9");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown type 'Q9_9'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Q4_K_M"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(CliQuantize, PureGivesOneTypeEverywhere) {
  const std::string out = (temp_dir() / "pure-q4k.gguf").string();
  auto r = run_command(forge_bin() + " quantize '" + kLlamaK + "/model-f32.gguf' '" + out +
                       "' --type Q4_K_M --pure --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int n = 0;
  const auto info = tensors_of(out);
  for (const auto& t : info["tensors"]) {
    if (t["shape"].size() == 2) {
      EXPECT_EQ(t["type"], "q4_K") << t["name"];
      ++n;
    }
  }
  EXPECT_EQ(n, 2 * 7 + 2);
}

}  // namespace
}  // namespace forge
