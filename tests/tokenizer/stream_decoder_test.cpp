// The streaming detokenizer emits only whole characters, never a part of a
// byte-fallback run, and in total exactly what decoding all ids gives.
#include <gtest/gtest.h>

#include "format/gguf_file.h"
#include "test_data.h"
#include "tokenizer/stream_decoder.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace forge {
namespace {

using test::data_path;

void check_stream(const Tokenizer& tok, const std::string& text, bool skip_special) {
  const auto ids = tok.encode(text, {.add_special = true, .parse_special = true});
  StreamDecoder sd(tok, skip_special);
  std::string all;
  for (int32_t id : ids) {
    const std::string part = sd.push(id);
    EXPECT_TRUE(utf8::is_valid(part)) << "half a character emitted for '" << text << "'";
    all += part;
  }
  all += sd.finish();
  EXPECT_EQ(all, tok.decode(ids, skip_special)) << text;
}

const char* kTexts[] = {
    "Hello world",
    " leading space and   runs of spaces  ",
    "Emoji: 😀🎉👍🏽 👨‍👩‍👧‍👦 🇺🇸 and 🦙🦙",
    "Mixed 日本語のテキスト한국어 текст ∑∫√",
    "<s>special</s> <|im_start|>user\nhi<|im_end|>",
    "bytes \xF0\x9F\x98 cut and \xC3 lone",
};

TEST(StreamDecoder, SpmWithByteFallback) {
  const GgufFile f = GgufFile::open(data_path("vocab/ggml-vocab-llama-spm.gguf"));
  const Tokenizer tok = Tokenizer::from_gguf(f);
  for (const char* t : kTexts) {
    check_stream(tok, t, false);
    check_stream(tok, t, true);
  }
}

TEST(StreamDecoder, ByteLevelBpe) {
  const GgufFile f = GgufFile::open(data_path("vocab/ggml-vocab-qwen2.gguf"));
  const Tokenizer tok = Tokenizer::from_gguf(f);
  for (const char* t : kTexts) {
    check_stream(tok, t, false);
    check_stream(tok, t, true);
  }
}

TEST(StreamDecoder, HoldsAByteFallbackRunUntilItEnds) {
  const GgufFile f = GgufFile::open(data_path("vocab/ggml-vocab-llama-spm.gguf"));
  const Tokenizer tok = Tokenizer::from_gguf(f);
  // 🦙 is not in this vocabulary: four byte tokens.
  const auto ids = tok.encode("🦙x", {.add_special = false});
  ASSERT_GE(ids.size(), 5u);
  StreamDecoder sd(tok);
  size_t first = 0;
  while (first < ids.size() && !tok.is_byte_token(ids[first])) ++first;
  size_t end = first;
  while (end < ids.size() && tok.is_byte_token(ids[end])) ++end;
  ASSERT_EQ(end - first, 4u);
  std::string out;
  for (size_t k = 0; k < ids.size(); ++k) {
    const std::string part = sd.push(ids[k]);
    if (k >= first && k < end) {
      EXPECT_EQ(part, "") << "emitted part of a byte run at " << k;
    }
    out += part;
  }
  out += sd.finish();
  EXPECT_EQ(out, tok.decode(ids));
  EXPECT_NE(out.find("🦙"), std::string::npos);
}

TEST(StreamDecoder, ByteLevelHoldsIncompleteCharacter) {
  const GgufFile f = GgufFile::open(data_path("vocab/ggml-vocab-gpt-2.gguf"));
  const Tokenizer tok = Tokenizer::from_gguf(f);
  const auto ids = tok.encode("🦙", {.add_special = false});
  ASSERT_GE(ids.size(), 2u);  // GPT-2 spells it in several byte tokens
  StreamDecoder sd(tok);
  for (size_t k = 0; k + 1 < ids.size(); ++k) EXPECT_EQ(sd.push(ids[k]), "");
  EXPECT_EQ(sd.push(ids.back()), "🦙");
  EXPECT_EQ(sd.finish(), "");
}

}  // namespace
}  // namespace forge
