// Hugging Face tokenizer.json files against the reference cases made with the
// `tokenizers` library: ids without and with special tokens, and the decode.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_data.h"
#include "tokenizer/tokenizer.h"

namespace forge {
namespace {

using nlohmann::json;
using test::data_path;

void check_cases(const std::string& cases_name, const Tokenizer& tok) {
  const std::string text = test::read_text(data_path("tokenizer-cases/" + cases_name + ".jsonl"));
  ASSERT_FALSE(text.empty());
  int n = 0;
  for (const auto& line : test::split(text, "\n")) {
    if (line.empty()) continue;
    const json c = json::parse(line);
    const std::string name = c.at("name");
    const std::string input = c.at("input");
    const auto ids = c.at("ids").get<std::vector<int32_t>>();
    const auto ids_special = c.at("ids_with_special").get<std::vector<int32_t>>();
    EXPECT_EQ(tok.encode(input, {.add_special = false, .parse_special = true}), ids) << cases_name << "/" << name;
    EXPECT_EQ(tok.encode(input, {.add_special = true, .parse_special = true}), ids_special)
        << cases_name << "/" << name;
    EXPECT_EQ(tok.decode(ids), c.at("decoded").get<std::string>()) << cases_name << "/" << name;
    EXPECT_EQ(tok.decode(ids_special, true), c.at("decoded_skip_special").get<std::string>())
        << cases_name << "/" << name;
    ++n;
  }
  EXPECT_GE(n, 40) << cases_name;
}

Tokenizer load_dir(const std::string& rel) { return Tokenizer::from_hf_dir(data_path(rel)); }

TEST(HfCases, Llama31) { check_cases("llama3.1", load_dir("tokenizers/llama3.1")); }
TEST(HfCases, Mistral) { check_cases("mistral-7b-v0.1", load_dir("tokenizers/mistral-7b-v0.1")); }
TEST(HfCases, Phi3Mini) { check_cases("phi-3-mini", load_dir("tokenizers/phi-3-mini")); }
TEST(HfCases, Qwen3) { check_cases("qwen3", load_dir("tokenizers/qwen3")); }
TEST(HfCases, SmolLM) { check_cases("smollm-135m", load_dir("tokenizers/smollm-135m")); }
TEST(HfCases, Gemma3) { check_cases("gemma3", load_dir("tokenizers/gemma3")); }
TEST(HfCases, TinyGpt2) { check_cases("tiny-gpt2-hf", load_dir("models/tiny-gpt2-hf")); }

}  // namespace
}  // namespace forge
