// Bit-exact dequantization against an independent implementation: for every
// GGUF of fixtures/llama-k/ and every tensor in it, the SHA-256 of our F32
// values equals the one in quant-vectors/index.json (see its README).
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "format/gguf_file.h"
#include "quant/quant.h"

namespace forge::quant {
namespace {

const std::string kData = FORGE_DATA_DIR;

std::string sha256_hex(const void* data, size_t len) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_Digest(data, len, md, &md_len, EVP_sha256(), nullptr);
  std::string hex;
  char buf[3];
  for (unsigned int i = 0; i < md_len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", md[i]);
    hex += buf;
  }
  return hex;
}

nlohmann::json load_index() {
  const std::string path = kData + "/quant-vectors/index.json";
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "missing test data " << path << " (see /work/shared/data/MANIFEST.md)";
    return {};
  }
  return nlohmann::json::parse(in);
}

std::vector<float> dequantize_tensor(const GgufTensorInfo& t) {
  std::vector<float> out(t.n_elements);
  const int64_t n = t.dims[0];
  const size_t row_bytes = row_size(t.type, n);
  for (int64_t r = 0; r < t.rows(); ++r) {
    dequantize_row(t.type, t.data.data() + r * row_bytes, out.data() + r * n, n);
  }
  return out;
}

TEST(DequantVectors, EveryLlamaKTensorMatchesReferenceSha256) {
  const nlohmann::json index = load_index();
  ASSERT_TRUE(index.contains("files")) << "index.json has no 'files'";
  std::set<std::string> types_seen;
  int checked = 0;
  for (const auto& [rel, tensors] : index["files"].items()) {
    const std::string path = kData + "/" + rel;
    ASSERT_TRUE(std::filesystem::exists(path)) << "missing test data " << path;
    const GgufFile file = GgufFile::open(path);
    EXPECT_EQ(file.tensors().size(), tensors.size()) << rel;
    for (const auto& [name, want] : tensors.items()) {
      const GgufTensorInfo* t = file.find_tensor(name);
      ASSERT_NE(t, nullptr) << rel << ": no tensor " << name;
      const std::string type_name(ggml_type_info(t->type).name);
      EXPECT_TRUE(ggml_type_from_name(want["type"].get<std::string>()) == t->type) << rel << " " << name;
      ASSERT_TRUE(is_supported(t->type)) << rel << " " << name << " type " << type_name;
      const std::vector<float> values = dequantize_tensor(*t);
      const auto& first = want["first"];
      for (size_t i = 0; i < first.size() && i < values.size(); ++i) {
        EXPECT_EQ(values[i], first[i].get<float>()) << rel << " " << name << " value " << i;
      }
      EXPECT_EQ(sha256_hex(values.data(), values.size() * sizeof(float)), want["sha256_f32"].get<std::string>())
          << rel << " " << name << " (" << type_name << ")";
      types_seen.insert(type_name);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 13 * 21);
  // Every weight format the fixtures were made with was covered.
  for (const char* t : {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_K", "q3_K", "q4_K", "q5_K",
                        "q6_K"}) {
    EXPECT_TRUE(types_seen.count(t)) << "no fixture tensor of type " << t;
  }
}

// The full-value dumps, compared element by element: a mismatch names the
// first differing index, which the hash alone cannot.
TEST(DequantVectors, FullDumpsMatchElementwise) {
  const std::string dir = kData + "/quant-vectors";
  int dumps = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string fname = entry.path().filename().string();
    if (entry.path().extension() != ".f32") continue;
    // <TYPE>--<file>--<tensor>.f32
    const size_t a = fname.find("--"), b = fname.find("--", a + 2);
    ASSERT_NE(b, std::string::npos) << fname;
    const std::string gguf = kData + "/fixtures/llama-k/" + fname.substr(a + 2, b - a - 2) + ".gguf";
    const std::string tensor = fname.substr(b + 2, fname.size() - 4 - b - 2);
    const GgufFile file = GgufFile::open(gguf);
    const std::vector<float> got = dequantize_tensor(file.tensor(tensor));
    std::vector<float> want(got.size());
    std::ifstream in(entry.path(), std::ios::binary);
    in.read(reinterpret_cast<char*>(want.data()), static_cast<std::streamsize>(want.size() * sizeof(float)));
    ASSERT_EQ(in.gcount(), static_cast<std::streamsize>(want.size() * sizeof(float))) << fname;
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i], want[i]) << fname << " element " << i;
    }
    ++dumps;
  }
  EXPECT_EQ(dumps, 12) << "expected 12 .f32 dumps in " << dir;
}

}  // namespace
}  // namespace forge::quant
