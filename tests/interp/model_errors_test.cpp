// A GGUF whose tensors disagree with its metadata is refused with a message
// naming the key or tensor.
#include <gtest/gtest.h>

#include "format/gguf_file.h"
#include "format/gguf_writer.h"
#include "model/gguf_model.h"
#include "model/model_error.h"

namespace forge {
namespace {

const std::string kLlama = std::string(FORGE_DATA_DIR) + "/fixtures/llama/model-f32.gguf";

std::string error_of(GgufWriter& w) {
  auto bytes = w.to_bytes();
  GgufFile f = GgufFile::parse(bytes, "edited.gguf");
  try {
    model::spec_from_gguf(f);
  } catch (const model::ModelError& e) {
    return e.what();
  }
  return "";
}

TEST(ModelErrors, LoadsTheUneditedFile) {
  GgufFile f = GgufFile::open(kLlama);
  GgufWriter w = GgufWriter::copy_of(f);
  EXPECT_EQ(error_of(w), "");
}

TEST(ModelErrors, MissingKey) {
  GgufFile f = GgufFile::open(kLlama);
  GgufWriter w = GgufWriter::copy_of(f);
  w.remove("llama.block_count");
  EXPECT_EQ(error_of(w), "edited.gguf: metadata key 'llama.block_count' is missing (llama models need it)");
}

TEST(ModelErrors, ShapeDisagreesWithMetadata) {
  GgufFile f = GgufFile::open(kLlama);
  GgufWriter w = GgufWriter::copy_of(f);
  w.set_u32("llama.embedding_length", 32);
  EXPECT_NE(error_of(w).find("tensor 'token_embd.weight' has shape [64, 512], expected [32, 512]"), std::string::npos)
      << error_of(w);
}

TEST(ModelErrors, MissingTensorAndVocabMismatch) {
  GgufFile f = GgufFile::open(kLlama);
  GgufWriter w;
  for (const auto& [k, v] : f.metadata()) w.set(k, v);
  for (const auto& t : f.tensors()) {
    if (t.name != "blk.1.ffn_up.weight") w.add_tensor(t.name, t.type, t.dims, t.data);
  }
  EXPECT_NE(error_of(w).find("tensor 'blk.1.ffn_up.weight' is missing"), std::string::npos) << error_of(w);

  GgufWriter v = GgufWriter::copy_of(f);
  v.set_u32("llama.vocab_size", 600);
  EXPECT_NE(error_of(v).find("'llama.vocab_size' is 600 but 'token_embd.weight' has 512 rows"), std::string::npos)
      << error_of(v);
}

TEST(ModelErrors, UnsupportedArchitectureAndRopeScaling) {
  GgufFile f = GgufFile::open(kLlama);
  GgufWriter w = GgufWriter::copy_of(f);
  w.set_string("general.architecture", "mamba");
  EXPECT_NE(error_of(w).find("architecture 'mamba' is not supported"), std::string::npos) << error_of(w);
  GgufWriter r = GgufWriter::copy_of(f);
  r.set_string("llama.rope.scaling.type", "yarn");
  EXPECT_NE(error_of(r).find("rope scaling type 'yarn'"), std::string::npos) << error_of(r);
}

}  // namespace
}  // namespace forge
