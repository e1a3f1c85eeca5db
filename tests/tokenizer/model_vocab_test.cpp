// Vocabularies inside real model files: stories260K (prompts as llama.cpp
// tokenized them, and llama.cpp's generated text) and the golden fixtures
// (reference token ids from transformers), through both the GGUF and the
// tokenizer.json of the same fixture.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "format/gguf_file.h"
#include "test_data.h"
#include "tokenizer/tokenizer.h"

namespace forge {
namespace {

using nlohmann::json;
using test::data_path;

TEST(ModelVocab, Stories260kPromptsAndGeneratedText) {
  const GgufFile f = GgufFile::open(data_path("models/stories260K/stories260K.gguf"));
  const Tokenizer tok = Tokenizer::from_gguf(f);
  EXPECT_EQ(tok.n_vocab(), 512);
  EXPECT_EQ(tok.bos_id(), 1);
  EXPECT_EQ(tok.eos_id(), 2);
  EXPECT_EQ(tok.pad_id(), -1);  // stored as 0xFFFFFFFF: none
  EXPECT_TRUE(tok.add_bos());
  const json ref = json::parse(test::read_text(data_path("models/stories260K/reference-greedy.json")));
  ASSERT_GE(ref.at("cases").size(), 5u);
  for (const auto& c : ref.at("cases")) {
    const std::string prompt = c.at("prompt");
    EXPECT_EQ(tok.encode(prompt), c.at("prompt_tokens").get<std::vector<int32_t>>()) << prompt;
    const auto gen = c.at("generated_tokens").get<std::vector<int32_t>>();
    // llama.cpp's server returns the continuation's pieces without the prompt,
    // so its first piece keeps its leading space: decode it as mid-stream.
    EXPECT_EQ(tok.decode_window(gen, false, false), c.at("generated_text").get<std::string>()) << prompt;
  }
}

void check_fixture(const Tokenizer& tok, const std::string& fixture) {
  const json ref = json::parse(test::read_text(data_path("fixtures/" + fixture + "/reference.json")));
  const auto want = ref.at("tokens").get<std::vector<int32_t>>();
  auto got = tok.encode(ref.at("text").get<std::string>());
  ASSERT_GE(got.size(), want.size());
  got.resize(want.size());
  EXPECT_EQ(got, want) << fixture;
}

TEST(ModelVocab, FixtureGgufVocabularies) {
  for (const char* fx : {"llama", "mistral", "qwen2", "phi3", "stablelm"}) {
    const GgufFile f = GgufFile::open(data_path(std::string("fixtures/") + fx + "/model-f32.gguf"));
    check_fixture(Tokenizer::from_gguf(f), fx);
  }
}

TEST(ModelVocab, FixtureTokenizerJson) {
  check_fixture(Tokenizer::from_hf_dir(data_path("fixtures/llama")), "llama");
}

TEST(ModelVocab, GemmaFixtureHasNoSpacePrefixAndAnEot) {
  const GgufFile f = GgufFile::open(data_path("fixtures/gemma/model-f32.gguf"));
  const Tokenizer tok = Tokenizer::from_gguf(f);
  EXPECT_EQ(tok.eot_id(), 107);
  EXPECT_TRUE(tok.is_eog(107));
  EXPECT_TRUE(tok.is_eog(tok.eos_id()));
  // add_space_prefix = false: "the" is not "▁the".
  const auto a = tok.encode("the", {.add_special = false});
  const auto b = tok.encode(" the", {.add_special = false});
  EXPECT_NE(a, b);
}

TEST(ModelVocab, TokenMetadata) {
  const GgufFile f = GgufFile::open(data_path("vocab/ggml-vocab-llama-spm.gguf"));
  const Tokenizer tok = Tokenizer::from_gguf(f);
  EXPECT_EQ(tok.token_type(0), TokenType::Unknown);
  EXPECT_EQ(tok.token_type(1), TokenType::Control);
  EXPECT_EQ(tok.token_type(13), TokenType::Byte);
  EXPECT_TRUE(tok.is_byte_token(13));
  EXPECT_EQ(tok.token_to_piece(13), "\n");
  EXPECT_EQ(tok.token_text(15043), "\xE2\x96\x81Hello");
  EXPECT_EQ(tok.token_to_piece(15043), " Hello");
  EXPECT_THROW(tok.token_text(32000), TokenizerError);
  // Control tokens in text are only parsed on request.
  EXPECT_EQ(tok.encode("<s>", {.add_special = false, .parse_special = true}), std::vector<int32_t>{1});
  EXPECT_NE(tok.encode("<s>", {.add_special = false, .parse_special = false}), std::vector<int32_t>{1});
  EXPECT_EQ(tok.decode(std::vector<int32_t>{1, 15043, 2}, true), "Hello");
}

}  // namespace
}  // namespace forge
