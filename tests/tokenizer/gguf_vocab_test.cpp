// llama.cpp's vocabulary test vectors: each ggml-vocab-*.gguf with its .inp
// (texts) and .out (reference ids, no BOS) must agree exactly, and the
// vocabularies we do not support must be refused by name.
#include <gtest/gtest.h>

#include "format/gguf_file.h"
#include "test_data.h"
#include "tokenizer/tokenizer.h"

namespace forge {
namespace {

using test::data_path;

std::vector<int32_t> parse_ids(const std::string& line) {
  std::vector<int32_t> ids;
  std::istringstream ss(line);
  int64_t v;
  while (ss >> v) ids.push_back(static_cast<int32_t>(v));
  return ids;
}

void check_vectors(const std::string& name) {
  const std::string base = data_path("vocab/ggml-vocab-" + name + ".gguf");
  const GgufFile file = GgufFile::open(base);
  const Tokenizer tok = Tokenizer::from_gguf(file);
  const std::string inp = test::read_text(base + ".inp");
  const std::string out = test::read_text(base + ".out");
  auto texts = test::split(inp, "\n__ggml_vocab_test__\n");
  auto lines = test::split(out, "\n");
  // Both files end with a separator / newline.
  if (!texts.empty() && texts.back().empty()) texts.pop_back();
  while (!lines.empty() && lines.back().empty() && lines.size() > texts.size()) lines.pop_back();
  ASSERT_EQ(texts.size(), lines.size()) << name;
  ASSERT_GT(texts.size(), 10u) << name;
  int bad = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto want = parse_ids(lines[i]);
    const auto got = tok.encode(texts[i], {.add_special = false, .parse_special = false});
    EXPECT_EQ(got, want) << name << " case " << i << ": '" << texts[i] << "'";
    if (got != want) ++bad;
    // Decoding gives the text back, except where the vocabulary cannot spell it.
  }
  EXPECT_EQ(bad, 0) << name;
}

TEST(GgufVocab, LlamaSpm) { check_vectors("llama-spm"); }
TEST(GgufVocab, Phi3) { check_vectors("phi-3"); }
TEST(GgufVocab, LlamaBpe) { check_vectors("llama-bpe"); }
TEST(GgufVocab, Qwen2) { check_vectors("qwen2"); }
TEST(GgufVocab, Gpt2) { check_vectors("gpt-2"); }
TEST(GgufVocab, Starcoder) { check_vectors("starcoder"); }
TEST(GgufVocab, Refact) { check_vectors("refact"); }
TEST(GgufVocab, Falcon) { check_vectors("falcon"); }
TEST(GgufVocab, DeepseekLlm) { check_vectors("deepseek-llm"); }
TEST(GgufVocab, DeepseekCoder) { check_vectors("deepseek-coder"); }

TEST(GgufVocab, BertIsRefusedByName) {
  const GgufFile file = GgufFile::open(data_path("vocab/ggml-vocab-bert-bge.gguf"));
  try {
    Tokenizer::from_gguf(file);
    FAIL() << "bert vocabulary accepted";
  } catch (const TokenizerError& e) {
    EXPECT_NE(std::string(e.what()).find("unsupported tokenizer model 'bert'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace forge
