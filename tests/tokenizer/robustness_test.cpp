// Untrusted text: invalid UTF-8 and very long inputs tokenize without a crash
// and in near-linear time (checked by size only; timing is in bench/).
#include <gtest/gtest.h>

#include "format/gguf_file.h"
#include "test_data.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace forge {
namespace {

using test::data_path;

std::string long_text(size_t bytes) {
  const std::string para =
      "Once upon a time, there was a little girl named Lily. She loved to play outside in the park! "
      "Numbers 1234567 and symbols (#&*) with ünïcödé, 日本語, and emoji 🦙.\n";
  std::string s;
  s.reserve(bytes + para.size());
  while (s.size() < bytes) s += para;
  s.resize(bytes);
  return s;
}

class Robustness : public ::testing::TestWithParam<const char*> {
 protected:
  Tokenizer load() const {
    const GgufFile f = GgufFile::open(data_path(std::string("vocab/ggml-vocab-") + GetParam() + ".gguf"));
    return Tokenizer::from_gguf(f);
  }
};

TEST_P(Robustness, InvalidUtf8BecomesReplacementCharacters) {
  const Tokenizer tok = load();
  const std::string bad = "ok \xFF\xFE \xC3( \xE2\x82 \xF0\x9F\x98 \xED\xA0\x80 end\xC0";
  const auto ids = tok.encode(bad, {.add_special = false});
  EXPECT_FALSE(ids.empty());
  const std::string back = tok.decode(ids);
  EXPECT_TRUE(utf8::is_valid(back));
  EXPECT_EQ(tok.encode(utf8::sanitize(bad), {.add_special = false}), ids);
}

TEST_P(Robustness, TenMegabytesOfText) {
  const Tokenizer tok = load();
  const std::string text = long_text(10u << 20);
  const auto ids = tok.encode(text, {.add_special = false});
  EXPECT_GT(ids.size(), text.size() / 16);
  EXPECT_LT(ids.size(), text.size());
}

TEST_P(Robustness, OneMegabyteWordWithoutSpaces) {
  const Tokenizer tok = load();
  std::string word;
  for (size_t i = 0; word.size() < (1u << 20); ++i) word += static_cast<char>('a' + (i * 7 + i / 26) % 26);
  const auto ids = tok.encode(word, {.add_special = false});
  EXPECT_GT(ids.size(), 1000u);
  EXPECT_EQ(tok.decode(ids).size(), word.size() + 0);
  // The same letter a million times, the worst case for merging.
  const auto same = tok.encode(std::string(1u << 20, 'a'), {.add_special = false});
  EXPECT_GT(same.size(), 1000u);
}

INSTANTIATE_TEST_SUITE_P(Vocabs, Robustness, ::testing::Values("llama-spm", "llama-bpe", "qwen2", "gpt-2"));

}  // namespace
}  // namespace forge
