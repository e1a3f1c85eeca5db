// The GGUF reader on well-formed input: a hand-built file with every value
// type, and the real files under the shared data.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "format/gguf_file.h"
#include "gguf_builder.h"
#include "nlohmann/json.hpp"

namespace forge {
namespace {

const std::string kData = FORGE_DATA_DIR;

std::string data_file(const std::string& rel) {
  std::string p = kData + "/" + rel;
  if (!std::filesystem::exists(p)) {
    ADD_FAILURE() << "missing test data " << p << ": the shared data must be at ../shared/data";
  }
  return p;
}

TEST(GgufReader, ReadsEveryValueType) {
  auto bytes = testing::small_valid_gguf();
  GgufFile f = GgufFile::parse(bytes, "small.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.get<std::string>("general.architecture"), "llama");
  EXPECT_EQ(f.get<uint8_t>("t.u8"), 200);
  EXPECT_EQ(f.get<int8_t>("t.i8"), -5);
  EXPECT_EQ(f.get<uint16_t>("t.u16"), 65000);
  EXPECT_EQ(f.get<int16_t>("t.i16"), -30000);
  EXPECT_EQ(f.get<uint32_t>("t.u32"), 4000000000u);
  EXPECT_EQ(f.get<int32_t>("t.i32"), -2000000000);
  EXPECT_EQ(f.get<float>("t.f32"), 1.5f);
  EXPECT_EQ(f.get<bool>("t.bool"), true);
  EXPECT_EQ(f.get<uint64_t>("t.u64"), 1ull << 40);
  EXPECT_EQ(f.get<int64_t>("t.i64"), -(1ll << 40));
  EXPECT_EQ(f.get<double>("t.f64"), 0.25);
  EXPECT_EQ(f.get_array<std::string>("t.strings"), (std::vector<std::string>{"a", "", "ccc"}));
  const GgufArray* nested = f.find("t.nested")->as_array();
  ASSERT_NE(nested, nullptr);
  ASSERT_EQ(nested->items.size(), 2u);
  EXPECT_EQ(nested->items[0].as_array()->items.size(), 2u);
  EXPECT_EQ(nested->items[1].as_array()->items[0].as<int32_t>(), 3);
  ASSERT_EQ(f.tensors().size(), 2u);
  const auto& b = f.tensor("b");
  EXPECT_EQ(b.dims, (std::vector<int64_t>{3}));
  float v[3];
  std::memcpy(v, b.data.data(), sizeof v);
  EXPECT_EQ(v[2], 12.0f);
  EXPECT_EQ(f.tensor("a").rows(), 2);
}

TEST(GgufReader, LosslessIntegerWidening) {
  auto bytes = testing::small_valid_gguf();
  GgufFile f = GgufFile::parse(bytes, "small.gguf");
  EXPECT_EQ(f.get<uint64_t>("t.u8"), 200u);  // widening is fine
  EXPECT_EQ(f.get<int64_t>("t.u32"), 4000000000ll);
  EXPECT_THROW(f.get<int32_t>("t.u32"), FormatError);  // does not fit
  EXPECT_THROW(f.get<uint32_t>("t.i8"), FormatError);  // negative
  EXPECT_EQ(f.get<double>("t.f32"), 1.5);
}

TEST(GgufReader, ClearErrorsOnMissingKeyAndWrongType) {
  auto bytes = testing::small_valid_gguf();
  GgufFile f = GgufFile::parse(bytes, "small.gguf");
  try {
    f.get<uint32_t>("llama.block_count");
    FAIL() << "expected an error";
  } catch (const FormatError& e) {
    EXPECT_STREQ(e.what(), "small.gguf: metadata key 'llama.block_count' is missing");
  }
  try {
    f.get<uint32_t>("general.architecture");
    FAIL() << "expected an error";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("'general.architecture' has type string"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("expected uint32"), std::string::npos) << e.what();
  }
  EXPECT_THROW(f.get_array<int32_t>("t.strings"), FormatError);
  EXPECT_THROW(f.tensor("nope"), FormatError);
  EXPECT_EQ(f.get_or<uint32_t>("absent", 7u), 7u);
}

TEST(GgufReader, Stories260K) {
  GgufFile f = GgufFile::open(data_file("models/stories260K/stories260K.gguf"));
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.get<std::string>("general.architecture"), "llama");
  EXPECT_EQ(f.get<uint32_t>("llama.block_count"), 5u);
  EXPECT_EQ(f.get<uint32_t>("llama.embedding_length"), 64u);
  EXPECT_EQ(f.get_array<std::string>("tokenizer.ggml.tokens").size(), 512u);
  const auto& emb = f.tensor("token_embd.weight");
  EXPECT_EQ(emb.type, GgmlType::F32);
  EXPECT_EQ(emb.dims, (std::vector<int64_t>{64, 512}));
  // The data view points into the mapping, aligned as the file says.
  EXPECT_EQ((emb.data.data() - f.bytes().data()) % f.alignment(), 0);
}

// Every fixture's GGUF agrees with the HF config.json written beside it.
TEST(GgufReader, FixturesMatchTheirConfig) {
  for (const char* name : {"llama", "qwen2", "phi3", "gemma", "gemma2", "gemma3", "stablelm", "mistral", "llama-k"}) {
    SCOPED_TRACE(name);
    std::ifstream cfg_in(data_file(std::string("fixtures/") + name + "/config.json"));
    auto cfg = nlohmann::json::parse(cfg_in);
    GgufFile f = GgufFile::open(data_file(std::string("fixtures/") + name + "/model-f32.gguf"));
    std::string arch = f.get<std::string>("general.architecture");
    EXPECT_EQ(f.get<uint32_t>(arch + ".block_count"), cfg["num_hidden_layers"].get<uint32_t>());
    EXPECT_EQ(f.get<uint32_t>(arch + ".embedding_length"), cfg["hidden_size"].get<uint32_t>());
    EXPECT_EQ(f.get<uint32_t>(arch + ".attention.head_count"), cfg["num_attention_heads"].get<uint32_t>());
    EXPECT_EQ(f.get<uint32_t>(arch + ".attention.head_count_kv"), cfg["num_key_value_heads"].get<uint32_t>());
    EXPECT_EQ(f.get<uint32_t>(arch + ".feed_forward_length"), cfg["intermediate_size"].get<uint32_t>());
    EXPECT_EQ(f.get_array<std::string>("tokenizer.ggml.tokens").size(), cfg["vocab_size"].get<size_t>());
  }
}

// Every GGUF file under the shared data parses, except the one GGUF v1 file,
// which is refused by name.
TEST(GgufReader, EveryShippedFileParses) {
  int parsed = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(kData)) {
    if (e.path().extension() != ".gguf") continue;
    SCOPED_TRACE(e.path().string());
    if (e.path().string().find("ggufv1") != std::string::npos) {
      try {
        GgufFile::open(e.path().string());
        ADD_FAILURE() << "v1 file accepted";
      } catch (const FormatError& err) {
        EXPECT_NE(std::string(err.what()).find("version 1 is not supported"), std::string::npos) << err.what();
      }
      continue;
    }
    GgufFile f = GgufFile::open(e.path().string());
    EXPECT_TRUE(f.has("general.architecture"));
    ++parsed;
  }
  EXPECT_GT(parsed, 40);
}

}  // namespace
}  // namespace forge
