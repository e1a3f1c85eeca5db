// The real checkpoints: every fixture's model.safetensors opens, holds the
// parameter count the fixtures README states, and agrees byte for byte with
// the same weights as llama.cpp's converter wrote them to model-f32.gguf.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "format/gguf_file.h"
#include "format/hf_config.h"
#include "format/safetensors_set.h"
#include "hf_test_util.h"

namespace forge {
namespace {

using testing::fixtures_dir;

struct Fixture {
  const char* name;
  uint64_t params;  // fixtures/README.md, "params" column
};

constexpr Fixture kFixtures[] = {
    {"llama", 139584},  {"llama-tied-rope3", 106816}, {"llama-k", 1443072},     {"qwen2", 139840},
    {"phi3", 139584},   {"mistral", 139584},          {"gemma", 106816},        {"gemma2", 181312},
    {"gemma3", 255744}, {"stablelm", 140160},         {"stablelm-par", 139840},
};

TEST(SafetensorsFixtures, EveryFixtureFolderIsPresent) {
  // No silent skip: the list above must match what is on disk.
  size_t with_weights = 0;
  for (const auto& e : std::filesystem::directory_iterator(fixtures_dir())) {
    if (std::filesystem::exists(e.path() / "model.safetensors")) ++with_weights;
  }
  EXPECT_EQ(with_weights, std::size(kFixtures)) << "fixture folders with model.safetensors under " << fixtures_dir();
}

class SafetensorsFixture : public ::testing::TestWithParam<Fixture> {};

TEST_P(SafetensorsFixture, OpensWithTheStatedParameterCount) {
  const std::string dir = fixtures_dir() + "/" + GetParam().name;
  ASSERT_TRUE(std::filesystem::exists(dir + "/model.safetensors"))
      << dir << "/model.safetensors is missing: the shared test data is incomplete";
  SafetensorsSet set = SafetensorsSet::open(dir);
  ASSERT_EQ(set.files().size(), 1u);
  uint64_t params = 0;
  for (const SafetensorsTensor* t : set.tensors()) {
    EXPECT_EQ(t->dtype, SafetensorsDtype::F32) << t->name;  // README: float32 weights
    params += t->n_elements;
  }
  EXPECT_EQ(params, GetParam().params);
  ASSERT_NE(set.files()[0].find_metadata("format"), nullptr);
  EXPECT_EQ(*set.files()[0].find_metadata("format"), "pt");
}

TEST_P(SafetensorsFixture, EmbeddingMatchesConfigAndGguf) {
  const std::string dir = fixtures_dir() + "/" + GetParam().name;
  SafetensorsSet set = SafetensorsSet::open(dir);
  HfConfig config = HfConfig::open(dir);
  const SafetensorsTensor& emb = set.tensor("model.embed_tokens.weight");
  // HF order: [vocab, hidden], outermost first.
  ASSERT_EQ(emb.shape.size(), 2u);
  EXPECT_EQ(emb.shape[0], config.get<int64_t>("vocab_size"));
  EXPECT_EQ(emb.shape[1], config.get<int64_t>("hidden_size"));

  GgufFile gguf = GgufFile::open(dir + "/model-f32.gguf");
  const GgufTensorInfo& g = gguf.tensor("token_embd.weight");
  // GGML order is innermost first: the same matrix reads [hidden, vocab].
  ASSERT_EQ(g.dims.size(), 2u);
  EXPECT_EQ(g.dims[0], emb.shape[1]);
  EXPECT_EQ(g.dims[1], emb.shape[0]);
  ASSERT_EQ(g.data.size(), emb.data.size());
  EXPECT_EQ(std::memcmp(g.data.data(), emb.data.data(), emb.data.size()), 0)
      << "model.safetensors and model-f32.gguf disagree on the embedding bytes";
}

INSTANTIATE_TEST_SUITE_P(All, SafetensorsFixture, ::testing::ValuesIn(kFixtures), [](const auto& info) {
  std::string n = info.param.name;
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
});

}  // namespace
}  // namespace forge
