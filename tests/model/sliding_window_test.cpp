// Mistral's GGUF records no sliding window (fixtures/README.md): read as is,
// it is full attention and matches logits_full_attention; with the window
// supplied by --override-kv it matches the windowed reference. The 32-token
// prompt and 16 decoded tokens run past the window of 8, in prefill and in
// decode.
#include <gtest/gtest.h>

#include "format/gguf_file.h"
#include "golden_check.h"
#include "model/gguf_model.h"
#include "model/metadata_override.h"
#include "model/model_error.h"

namespace forge::testing {
namespace {

TEST(SlidingWindow, MistralGgufIsFullAttention) {
  GgufFile f = GgufFile::open(kFixtures + "mistral/model-f32.gguf");
  model::ModelSpec spec = model::spec_from_gguf(f);
  EXPECT_EQ(spec.layers[0].sliding_window, 0);
  check_spec(spec, "mistral", {1e-4, "logits_full_attention"});
}

TEST(SlidingWindow, MistralGgufWithOverriddenWindow) {
  GgufFile f = GgufFile::open(kFixtures + "mistral/model-f32.gguf");
  const std::vector<std::string> args = {"llama.attention.sliding_window=int:8"};
  const model::MetadataOverrides o = model::parse_overrides(args);
  model::ModelSpec spec = model::spec_from_gguf(f, &o);
  for (const auto& l : spec.layers) EXPECT_EQ(l.sliding_window, 8);
  check_spec(spec, "mistral", {1e-4});
}

TEST(SlidingWindow, MistralF16AndQ8WithOverride) {
  const std::vector<std::string> args = {"llama.attention.sliding_window=int:8"};
  const model::MetadataOverrides o = model::parse_overrides(args);
  for (const auto& [file, tol] : {std::pair{"model-f16.gguf", 0.05}, std::pair{"model-q8_0.gguf", 1.05 * 0.31}}) {
    SCOPED_TRACE(file);
    GgufFile f = GgufFile::open(kFixtures + "mistral/" + file);
    model::ModelSpec spec = model::spec_from_gguf(f, &o);
    check_spec(spec, "mistral", {tol, "logits", false});
  }
}

TEST(OverrideKv, ParsesLlamaCppSyntax) {
  auto [k, v] = model::parse_override_kv("llama.attention.sliding_window=int:8");
  EXPECT_EQ(k, "llama.attention.sliding_window");
  EXPECT_EQ(v.as<uint32_t>(), 8u);
  EXPECT_EQ(model::parse_override_kv("a.b=float:0.5").second.as<float>(), 0.5f);
  EXPECT_EQ(model::parse_override_kv("a.b=bool:true").second.as<bool>(), true);
  EXPECT_EQ(*model::parse_override_kv("a.b=str:x=y:z").second.as_string(), "x=y:z");
  for (const char* bad :
       {"nokey", "=int:3", "a.b=int", "a.b=int:", "a.b=int:3x", "a.b=bool:yes", "a.b=u32:3", "a.b=float:nan"}) {
    EXPECT_THROW(model::parse_override_kv(bad), model::ModelError) << bad;
  }
}

TEST(OverrideKv, WrongTypeOrValueIsAnError) {
  GgufFile f = GgufFile::open(kFixtures + "mistral/model-f32.gguf");
  auto load = [&](const std::string& arg) {
    const std::vector<std::string> args = {arg};
    const model::MetadataOverrides o = model::parse_overrides(args);
    return model::spec_from_gguf(f, &o);
  };
  EXPECT_THROW(load("llama.attention.sliding_window=str:8"), model::ModelError);
  EXPECT_THROW(load("llama.embedding_length=int:96"), model::ModelError);  // contradicts the tensors
  EXPECT_THROW(load("general.architecture=str:falcon"), model::ModelError);
  EXPECT_EQ(load("llama.rope.freq_base=float:20000").layers[1].rope_base, 20000.0f);
}

}  // namespace
}  // namespace forge::testing
