// LoadedModel (what every forge command loads) from a Hugging Face folder,
// with LoRA adapters and with --override-kv, checked on the fixtures'
// reference logits through the same interpreter the commands use.
#include "runtime/loaded_model.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "golden_check.h"
#include "model/model_error.h"

namespace forge::testing {
namespace {

// Logits of the reference prompt's last position against reference.json.
double last_position_diff(const runtime::LoadedModel& m, const std::string& fixture, const std::string& key) {
  const auto ref = load_json(kFixtures + fixture + "/reference.json");
  const auto tokens = ref.at("tokens").get<std::vector<int32_t>>();
  interp::InterpreterOptions o;
  o.n_ctx = 64;
  o.threads = 2;
  o.kv_f32 = true;
  auto it = m.interpreter(o);
  auto logits = it->prefill(tokens, 0, model::Logits::kLast);
  double worst = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    worst = std::max(worst, std::abs(logits[i] - ref.at(key).back()[i].get<double>()));
  }
  return worst;
}

runtime::LoadOptions options(const std::string& model) {
  runtime::LoadOptions o;
  o.model_path = model;
  return o;
}

TEST(LoadedModel, HfFolderWithItsTokenizer) {
  auto m = runtime::LoadedModel::load(options(kFixtures + "mistral"));
  EXPECT_FALSE(m->has_gguf());
  EXPECT_THROW(m->file(), model::ModelError);
  // The folder's tokenizer.json gives the reference ids (BOS, then the text's).
  const auto ref = load_json(kFixtures + "mistral/reference.json");
  const auto want = ref.at("tokens").get<std::vector<int32_t>>();
  auto ids = m->tokenizer().encode(ref.at("text").get<std::string>());
  if (!ids.empty() && ids[0] == 1) ids.erase(ids.begin());
  ASSERT_GE(ids.size(), want.size() - 1);
  EXPECT_EQ(std::vector<int32_t>(ids.begin(), ids.begin() + want.size() - 1),
            std::vector<int32_t>(want.begin() + 1, want.end()));
  EXPECT_LE(last_position_diff(*m, "mistral", "logits"), 1e-4);  // windowed: from config.json
}

TEST(LoadedModel, GgufWithOverrideKv) {
  runtime::LoadOptions o = options(kFixtures + "mistral/model-f32.gguf");
  EXPECT_GT(last_position_diff(*runtime::LoadedModel::load(o), "mistral", "logits"), 1.0);
  o.override_kv = {"llama.attention.sliding_window=int:8"};
  EXPECT_LE(last_position_diff(*runtime::LoadedModel::load(o), "mistral", "logits"), 1e-4);
  o.override_kv = {"llama.attention.sliding_window=8"};
  EXPECT_THROW(runtime::LoadedModel::load(o), model::ModelError);
}

TEST(LoadedModel, OverrideKvOnHfFolderIsAnError) {
  runtime::LoadOptions o = options(kFixtures + "mistral");
  o.override_kv = {"llama.attention.sliding_window=int:8"};
  EXPECT_THROW(runtime::LoadedModel::load(o), model::ModelError);
}

TEST(LoadedModel, Loras) {
  for (const std::string base : {"llama/model-f32.gguf", "llama"}) {
    for (const std::string adapter : {"llama-lora", "llama-lora/adapter-f32.gguf"}) {
      SCOPED_TRACE(base + " + " + adapter);
      runtime::LoadOptions o = options(kFixtures + base);
      o.loras = {{kFixtures + adapter, 1.0}};
      EXPECT_LE(last_position_diff(*runtime::LoadedModel::load(o), "llama-lora", "logits"), 1e-4);
    }
  }
  // Two half-scale copies of one adapter are the adapter.
  runtime::LoadOptions o = options(kFixtures + "llama/model-f32.gguf");
  o.loras = {{kFixtures + "llama-lora", 0.5}, {kFixtures + "llama-lora/adapter-f32.gguf", 0.5}};
  EXPECT_LE(last_position_diff(*runtime::LoadedModel::load(o), "llama-lora", "logits"), 1e-4);
}

}  // namespace
}  // namespace forge::testing
