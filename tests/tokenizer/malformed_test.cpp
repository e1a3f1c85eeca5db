// Malformed vocabularies are refused with a TokenizerError that says what is
// wrong; nothing crashes.
#include <gtest/gtest.h>

#include "format/gguf_file.h"
#include "format/gguf_writer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace forge {
namespace {

GgufValue strings(const std::vector<std::string>& v) {
  std::vector<GgufValue> items;
  for (const auto& s : v) items.push_back(GgufValue::string(s));
  return GgufValue::array(GgufValueType::STRING, std::move(items));
}
template <class T>
GgufValue array_of(GgufValueType t, const std::vector<T>& v) {
  std::vector<GgufValue> items;
  for (T x : v) items.push_back(GgufValue(GgufValue::Storage(x)));
  return GgufValue::array(t, std::move(items));
}

// A small valid SentencePiece vocabulary: <unk> <s> </s>, 256 byte tokens, a few pieces.
struct SpmVocab {
  std::vector<std::string> tokens{"<unk>", "<s>", "</s>"};
  std::vector<float> scores{0, 0, 0};
  std::vector<int32_t> types{2, 3, 3};
  SpmVocab() {
    for (int b = 0; b < 256; ++b) {
      tokens.push_back(byte_token_text(static_cast<uint8_t>(b)));
      scores.push_back(0);
      types.push_back(6);
    }
    for (const char* p : {"\xE2\x96\x81", "a", "b", "\xE2\x96\x81" "a", "ab"}) {
      tokens.push_back(p);
      scores.push_back(-static_cast<float>(tokens.size()));
      types.push_back(1);
    }
  }
  GgufWriter writer() const {
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.set_string("tokenizer.ggml.model", "llama");
    w.set("tokenizer.ggml.tokens", strings(tokens));
    w.set("tokenizer.ggml.scores", array_of(GgufValueType::F32, scores));
    w.set("tokenizer.ggml.token_type", array_of(GgufValueType::I32, types));
    return w;
  }
};

std::string error_of(const GgufWriter& w) {
  const std::vector<uint8_t> bytes = w.to_bytes();
  try {
    const GgufFile f = GgufFile::parse(bytes, "test.gguf");
    Tokenizer::from_gguf(f);
  } catch (const TokenizerError& e) {
    return e.what();
  }
  return "(no error)";
}

#define EXPECT_ERROR_HAS(w, text) EXPECT_NE(error_of(w).find(text), std::string::npos) << error_of(w)

TEST(Malformed, ValidBaseLoads) {
  const SpmVocab v;
  const auto bytes = v.writer().to_bytes();
  const GgufFile f = GgufFile::parse(bytes, "test.gguf");
  const Tokenizer tok = Tokenizer::from_gguf(f);
  EXPECT_EQ(tok.encode("ab a", {.add_special = false}).size(), 3u);
}

TEST(Malformed, MissingTokens) {
  GgufWriter w = SpmVocab().writer();
  w.remove("tokenizer.ggml.tokens");
  EXPECT_ERROR_HAS(w, "tokenizer.ggml.tokens");
}

TEST(Malformed, ScoresShorterThanVocab) {
  SpmVocab v;
  v.scores.resize(10);
  EXPECT_ERROR_HAS(v.writer(), "tokenizer.ggml.scores has 10 entries");
}

TEST(Malformed, TypesShorterThanVocab) {
  SpmVocab v;
  v.types.resize(3);
  EXPECT_ERROR_HAS(v.writer(), "tokenizer.ggml.token_type has 3 entries");
}

TEST(Malformed, BadByteToken) {
  SpmVocab v;
  v.tokens[3] = "<0x-1>";
  EXPECT_ERROR_HAS(v.writer(), "type byte but its text '<0x-1>'");
}

TEST(Malformed, BadUtf8InToken) {
  SpmVocab v;
  v.tokens.back() = "a\xFF";
  EXPECT_ERROR_HAS(v.writer(), "is not valid UTF-8");
}

TEST(Malformed, SpecialIdOutOfRange) {
  GgufWriter w = SpmVocab().writer();
  w.set_u32("tokenizer.ggml.bos_token_id", 100000);
  EXPECT_ERROR_HAS(w, "bos_token_id' = 100000 is outside the vocabulary");
}

TEST(Malformed, UnknownTokenType) {
  SpmVocab v;
  v.types[5] = 42;
  EXPECT_ERROR_HAS(v.writer(), "unknown type 42");
}

TEST(Malformed, DuplicateToken) {
  SpmVocab v;
  v.tokens.back() = "a";
  EXPECT_ERROR_HAS(v.writer(), "repeats token");
}

TEST(Malformed, Gpt2WithoutMerges) {
  GgufWriter w = SpmVocab().writer();
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "gpt-2");
  EXPECT_ERROR_HAS(w, "needs tokenizer.ggml.merges");
}

TEST(Malformed, UnsupportedPreTokenizer) {
  GgufWriter w = SpmVocab().writer();
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "chameleon");
  EXPECT_ERROR_HAS(w, "unsupported pre-tokenizer 'chameleon'");
}

TEST(Malformed, UnsupportedModel) {
  GgufWriter w = SpmVocab().writer();
  w.set_string("tokenizer.ggml.model", "t5");
  EXPECT_ERROR_HAS(w, "unsupported tokenizer model 't5'");
}

std::string hf_error(const std::string& json) {
  try {
    Tokenizer::from_hf_json(json, "", "tokenizer.json");
  } catch (const TokenizerError& e) {
    return e.what();
  }
  return "(no error)";
}

const std::string kHfHead = R"({"added_tokens":[],"normalizer":null,"pre_tokenizer":null,"post_processor":null,"decoder":null,)";

TEST(Malformed, HfValidBaseLoads) {
  const Tokenizer tok = Tokenizer::from_hf_json(
      kHfHead + R"("model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}})", "", "t");
  EXPECT_EQ(tok.encode("ab", {.add_special = false}), std::vector<int32_t>{2});
}

TEST(Malformed, HfNotJson) { EXPECT_NE(hf_error("{not json").find("not valid JSON"), std::string::npos); }

TEST(Malformed, HfMissingMerges) {
  EXPECT_NE(hf_error(kHfHead + R"("model":{"type":"BPE","vocab":{"a":0}}})").find("has no merges"), std::string::npos);
}

TEST(Malformed, HfMergeOfUnknownToken) {
  EXPECT_NE(hf_error(kHfHead + R"("model":{"type":"BPE","vocab":{"a":0,"b":1},"merges":["a c"]}})")
                .find("not in the vocabulary"),
            std::string::npos);
}

TEST(Malformed, HfIdsNotContiguous) {
  EXPECT_NE(hf_error(kHfHead + R"("model":{"type":"BPE","vocab":{"a":0,"b":7},"merges":[]}})").find("not contiguous"),
            std::string::npos);
}

TEST(Malformed, HfUnsupportedParts) {
  EXPECT_NE(hf_error(R"({"normalizer":{"type":"Precompiled"},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}})")
                .find("unsupported normalizer 'Precompiled'"),
            std::string::npos);
  EXPECT_NE(hf_error(R"({"model":{"type":"Unigram","vocab":[]}})").find("unsupported model type 'Unigram'"),
            std::string::npos);
}

TEST(Malformed, HfBadRegex) {
  const std::string j = R"({"pre_tokenizer":{"type":"Split","pattern":{"Regex":"(unclosed"},"behavior":"Isolated"},)"
                        R"("model":{"type":"BPE","vocab":{"a":0},"merges":[]}})";
  EXPECT_NE(hf_error(j).find("bad regular expression"), std::string::npos) << hf_error(j);
}

TEST(Malformed, MissingFile) {
  EXPECT_THROW(Tokenizer::from_hf_dir("/nonexistent/dir"), TokenizerError);
}

}  // namespace
}  // namespace forge
