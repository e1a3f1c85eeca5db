// config.json: every fixture's file reads with the values the fixtures README
// states; v4 and v5 RoPE layouts read alike; wrong types and missing keys get
// one-line errors naming the file and the key.
#include "format/hf_config.h"

#include <gtest/gtest.h>

#include "hf_test_util.h"

namespace forge {
namespace {

using testing::fixtures_dir;

struct ConfigCase {
  const char* fixture;
  const char* architecture;  // README: "HF class"
  int64_t hidden, layers;
};

constexpr ConfigCase kConfigs[] = {
    {"llama", "LlamaForCausalLM", 64, 2},
    {"llama-tied-rope3", "LlamaForCausalLM", 64, 2},
    {"llama-k", "LlamaForCausalLM", 256, 2},
    {"qwen2", "Qwen2ForCausalLM", 64, 2},
    {"phi3", "Phi3ForCausalLM", 64, 2},
    {"mistral", "MistralForCausalLM", 64, 2},
    {"gemma", "GemmaForCausalLM", 64, 2},
    {"gemma2", "Gemma2ForCausalLM", 64, 4},
    {"gemma3", "Gemma3ForCausalLM", 64, 6},
    {"stablelm", "StableLmForCausalLM", 64, 2},
    {"stablelm-par", "StableLmForCausalLM", 64, 2},
};

class FixtureConfig : public ::testing::TestWithParam<ConfigCase> {};

TEST_P(FixtureConfig, ReadsTheReadmeValues) {
  const ConfigCase& c = GetParam();
  HfConfig config = HfConfig::open(fixtures_dir() + "/" + c.fixture);  // a folder: its config.json
  EXPECT_EQ(config.architecture(), c.architecture);
  EXPECT_EQ(config.get<int64_t>("hidden_size"), c.hidden);
  EXPECT_EQ(config.get<int>("num_hidden_layers"), c.layers);
  // README: "unless noted, ... 4 heads, 2 KV heads, vocab 512, BOS 1, EOS 2, no pad, max positions 256".
  EXPECT_EQ(config.get<int64_t>("num_attention_heads"), 4);
  EXPECT_EQ(config.get<int64_t>("num_key_value_heads"), 2);
  EXPECT_EQ(config.get<int64_t>("vocab_size"), 512);
  EXPECT_EQ(config.get<int64_t>("bos_token_id"), 1);
  EXPECT_EQ(config.get<int64_t>("eos_token_id"), 2);
  EXPECT_EQ(config.get<int64_t>("max_position_embeddings"), 256);
  EXPECT_FALSE(config.has("pad_token_id"));  // null counts as absent
  EXPECT_FALSE(config.get_optional<int64_t>("pad_token_id").has_value());
  EXPECT_EQ(config.get<std::string>("transformers_version"), "5.17.0");
}

INSTANTIATE_TEST_SUITE_P(All, FixtureConfig, ::testing::ValuesIn(kConfigs), [](const auto& info) {
  std::string n = info.param.fixture;
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
});

HfConfig fixture(const char* name) {
  return HfConfig::open(fixtures_dir() + "/" + name + "/config.json");
}

TEST(HfConfigRope, V5SingleSet) {
  RopeParameters r = fixture("llama").rope();
  EXPECT_EQ(r.rope_type, "default");
  EXPECT_EQ(r.theta, 1e4);
  EXPECT_EQ(fixture("qwen2").rope().theta, 1e6);
  // A single set serves every layer type.
  EXPECT_EQ(fixture("llama").rope("sliding_attention").theta, 1e4);
}

TEST(HfConfigRope, V5Llama3Scaling) {
  // README: rope_theta 5e5 with llama3 scaling (factor 8, low 1, high 4, original context 64).
  RopeParameters r = fixture("llama-tied-rope3").rope();
  EXPECT_EQ(r.rope_type, "llama3");
  EXPECT_EQ(r.theta, 5e5);
  EXPECT_EQ(r.number("factor"), 8.0);
  EXPECT_EQ(r.number("low_freq_factor"), 1.0);
  EXPECT_EQ(r.number("high_freq_factor"), 4.0);
  EXPECT_EQ(r.number("original_max_position_embeddings"), 64.0);
  EXPECT_FALSE(r.number_optional("beta_fast").has_value());
  EXPECT_FORMAT_ERROR(r.number("beta_fast"), "rope_parameters: key 'beta_fast' is missing");
}

TEST(HfConfigRope, V5PerLayerType) {
  // README: gemma3 local layers rope_theta 1e4, global 1e6.
  HfConfig c = fixture("gemma3");
  EXPECT_EQ(c.rope("sliding_attention").theta, 1e4);
  EXPECT_EQ(c.rope("full_attention").theta, 1e6);
  EXPECT_FORMAT_ERROR(c.rope(), "holds one set per layer type (full_attention, sliding_attention)");
  EXPECT_FORMAT_ERROR(c.rope("chunked_attention"), "no set for layer type 'chunked_attention'");
}

TEST(HfConfigRope, V5PartialRotary) {
  // README: stablelm partial rotary 0.25.
  EXPECT_EQ(fixture("stablelm").rope().number("partial_rotary_factor"), 0.25);
}

TEST(HfConfigRope, V4LayoutReadsAlike) {
  HfConfig c = HfConfig::parse(R"({"rope_theta": 500000.0, "partial_rotary_factor": 0.5,
      "rope_scaling": {"type": "llama3", "factor": 8, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                       "original_max_position_embeddings": 8192}})",
                               "v4.json");
  RopeParameters r = c.rope();
  EXPECT_EQ(r.rope_type, "llama3");
  EXPECT_EQ(r.theta, 5e5);
  EXPECT_EQ(r.number("factor"), 8.0);  // an integer reads as a number
  EXPECT_EQ(r.number("partial_rotary_factor"), 0.5);

  HfConfig plain = HfConfig::parse(R"({"rope_theta": 10000, "rope_scaling": null})", "v4.json");
  EXPECT_EQ(plain.rope().rope_type, "default");
  EXPECT_EQ(plain.rope().theta, 1e4);

  // No theta at all: absent, not invented (the model layer knows the default).
  EXPECT_FALSE(HfConfig::parse("{}", "v4.json").rope().theta.has_value());

  // Gemma 3 in v4: sliding layers take rope_local_base_freq and no scaling.
  HfConfig g3 = HfConfig::parse(R"({"rope_theta": 1000000.0, "rope_local_base_freq": 10000.0,
      "rope_scaling": {"rope_type": "linear", "factor": 8.0}})",
                                "g3.json");
  EXPECT_EQ(g3.rope("full_attention").theta, 1e6);
  EXPECT_EQ(g3.rope("full_attention").rope_type, "linear");
  EXPECT_EQ(g3.rope("sliding_attention").theta, 1e4);
  EXPECT_EQ(g3.rope("sliding_attention").rope_type, "default");
}

TEST(HfConfigErrors, MissingAndWrongTypes) {
  HfConfig c = HfConfig::parse(R"({"num_attention_heads": "4", "hidden_size": 64, "eps": 1e-5, "big": 5000000000,
                                   "neg": -1, "arch": ["A", 3], "flag": 1, "layer_types": ["full_attention"]})",
                               "config.json");
  EXPECT_FORMAT_ERROR(c.get<int64_t>("num_attention_heads"),
                      "config.json: key 'num_attention_heads' has type string (\"4\"), expected integer");
  EXPECT_FORMAT_ERROR(c.get<int64_t>("num_key_value_heads"), "config.json: key 'num_key_value_heads' is missing");
  EXPECT_FORMAT_ERROR(c.get<int64_t>("eps"), "key 'eps' has type number");
  EXPECT_FORMAT_ERROR(c.get<int>("big"), "key 'big' is 5000000000, out of range");
  EXPECT_EQ(c.get<int64_t>("big"), 5000000000);
  EXPECT_EQ(c.get<int>("neg"), -1);
  EXPECT_FORMAT_ERROR(c.get<std::vector<std::string>>("arch"), "key 'arch' item 1 has type integer");
  EXPECT_FORMAT_ERROR(c.get<bool>("flag"), "key 'flag' has type integer (1), expected boolean");
  EXPECT_EQ(c.get<double>("hidden_size"), 64.0);
  EXPECT_EQ(c.get_or<int64_t>("absent", 7), 7);
  EXPECT_EQ(c.get<std::vector<std::string>>("layer_types"), std::vector<std::string>{"full_attention"});
  EXPECT_FORMAT_ERROR(c.architecture(), "key 'architectures' is missing");
  EXPECT_FORMAT_ERROR(c.sub("text_config"), "key 'text_config' is missing");
  EXPECT_FORMAT_ERROR(c.sub("hidden_size"), "key 'hidden_size' has type integer, expected object");
}

TEST(HfConfigErrors, NestedConfigNamesItsPath) {
  HfConfig c = HfConfig::parse(R"({"text_config": {"hidden_size": "big"}})", "config.json");
  EXPECT_FORMAT_ERROR(c.sub("text_config").get<int64_t>("hidden_size"),
                      "config.json: text_config: key 'hidden_size' has type string");
}

TEST(HfConfigErrors, BadFiles) {
  EXPECT_FORMAT_ERROR(HfConfig::parse("[1]", "config.json"), "config.json: is a JSON array, expected an object");
  EXPECT_FORMAT_ERROR(HfConfig::parse("{\"a\": 1,}", "config.json"), "config.json: invalid JSON");
  EXPECT_FORMAT_ERROR(HfConfig::parse(R"({"a": 1, "a": 2})", "config.json"), "JSON key 'a' appears twice");
  EXPECT_FORMAT_ERROR(HfConfig::parse(R"({"rope_parameters": 3})", "config.json").rope(),
                      "key 'rope_parameters' has type integer, expected object");
  EXPECT_FORMAT_ERROR(HfConfig::parse(R"({"rope_scaling": "yarn"})", "config.json").rope(),
                      "key 'rope_scaling' has type string, expected object");
  EXPECT_FORMAT_ERROR(HfConfig::parse(R"({"rope_parameters": {"rope_theta": "1e4"}})", "config.json").rope(),
                      "config.json: rope_parameters: key 'rope_theta' has type string");
  EXPECT_FORMAT_ERROR(HfConfig::open("/nonexistent/forge/config.json"), "/nonexistent/forge/config.json: cannot open");
}

}  // namespace
}  // namespace forge
