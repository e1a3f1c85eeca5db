// The built-in templates for models without one. Each claims to reproduce a
// real family's format, so each is checked against the reference renderings of
// that family's own template in cases.jsonl.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tokenizer/jinja/chat_template.h"

namespace {

using forge::jinja::ChatTemplate;
using forge::jinja::TemplateError;
using Json = nlohmann::ordered_json;

const std::string kDir = std::string(FORGE_DATA_DIR) + "/chat-templates/";

std::vector<Json> load_jsonl(const std::string& name) {
  std::ifstream in(kDir + name);
  if (!in) throw std::runtime_error("missing test data: " + kDir + name + " (see ../shared/data/MANIFEST.md)");
  std::vector<Json> rows;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) rows.push_back(Json::parse(line));
  return rows;
}

std::optional<std::string> token(const Json& c, const char* key) {
  if (!c.contains(key) || c[key].is_null()) return std::nullopt;
  return c[key].get<std::string>();
}

// Renders `default_name` on every case of `reference_file` that `keep` accepts.
void check_default_against(const std::string& default_name, const std::string& reference_file,
                           bool (*keep)(const Json&)) {
  const ChatTemplate tmpl(std::string(forge::jinja::default_chat_template_for(default_name).source));
  size_t checked = 0;
  for (const Json& c : load_jsonl("cases.jsonl")) {
    if (c["template"] != reference_file || !keep(c)) continue;
    ++checked;
    const std::string id = default_name + " on " + c["case"].get<std::string>();
    try {
      const std::string got = tmpl.render(c["messages"], c["add_generation_prompt"].get<bool>(), token(c, "bos_token"),
                                          token(c, "eos_token"));
      if (c.value("error", false))
        ADD_FAILURE() << id << ": the reference raises, we rendered:\n" << got;
      else
        EXPECT_EQ(got, c["expected"].get<std::string>()) << id;
    } catch (const TemplateError& e) {
      if (!c.value("error", false)) ADD_FAILURE() << id << ": " << e.what();
    }
  }
  EXPECT_GE(checked, 5u) << "too few reference cases for " << reference_file;
}

bool all_cases(const Json&) {
  return true;
}
// SmolLM2 adds its own system prompt when there is none; plain ChatML does not.
bool starts_with_system(const Json& c) {
  return c["messages"][0]["role"] == "system";
}

TEST(DefaultTemplates, ChatmlMatchesSmolLM2WhenASystemMessageIsGiven) {
  check_default_against("chatml", "HuggingFaceTB-SmolLM2-135M-Instruct.jinja", starts_with_system);
}
TEST(DefaultTemplates, Llama3MatchesMetaLlama3) {
  check_default_against("llama3", "meta-llama-Meta-Llama-3-8B-Instruct.jinja", all_cases);
}
TEST(DefaultTemplates, GemmaMatchesGemma3) {
  check_default_against("gemma", "google-gemma-3-1b-it.jinja", all_cases);
}
TEST(DefaultTemplates, Phi3MatchesPhi3Mini) {
  check_default_against("phi3", "microsoft-Phi-3-mini-4k-instruct.jinja", all_cases);
}
TEST(DefaultTemplates, MistralMatchesMistral7BInstructV01) {
  check_default_against("mistral", "mistralai-Mistral-7B-Instruct-v0.1.jinja", all_cases);
}

TEST(DefaultTemplates, ArchitectureNamesPickTheirFamily) {
  bool exact = false;
  EXPECT_EQ(forge::jinja::default_chat_template_for("qwen2", &exact).name, "chatml");
  EXPECT_TRUE(exact);
  EXPECT_EQ(forge::jinja::default_chat_template_for("llama").name, "llama3");
  EXPECT_EQ(forge::jinja::default_chat_template_for("gemma3").name, "gemma");
  EXPECT_EQ(forge::jinja::default_chat_template_for("phi3").name, "phi3");
  EXPECT_EQ(forge::jinja::default_chat_template_for("Mistral").name, "mistral");
  EXPECT_EQ(forge::jinja::default_chat_template_for("some-new-arch", &exact).name, "chatml");
  EXPECT_FALSE(exact);
}

TEST(DefaultTemplates, ChoiceSaysWhenItFallsBack) {
  const auto own = forge::jinja::choose_chat_template(std::string("{{ messages[0].content }}"), "llama");
  EXPECT_FALSE(own.is_fallback);
  EXPECT_EQ(own.source, "{{ messages[0].content }}");
  EXPECT_TRUE(own.note.empty());

  const auto fallback = forge::jinja::choose_chat_template(std::nullopt, "gemma2");
  EXPECT_TRUE(fallback.is_fallback);
  EXPECT_EQ(fallback.source, forge::jinja::default_chat_template_for("gemma").source);
  EXPECT_NE(fallback.note.find("'gemma'"), std::string::npos) << fallback.note;

  const auto empty = forge::jinja::choose_chat_template(std::string(), "brand-new");
  EXPECT_TRUE(empty.is_fallback);
  EXPECT_NE(empty.note.find("brand-new"), std::string::npos) << empty.note;
}

TEST(DefaultTemplates, EveryDefaultParsesAndRenders) {
  const Json messages = Json::parse(R"([{"role": "user", "content": "Hi"}])");
  for (const auto& d : forge::jinja::default_chat_templates()) {
    const ChatTemplate t{std::string(d.source)};
    EXPECT_NE(t.render(messages, true, "<s>", "</s>").find("Hi"), std::string::npos) << d.name;
  }
}

// Where the two references disagree, transformers uses Python's jinja2, and so
// do we: "" != false is true in Python (informative data, checked against the
// jinja2 side only).
TEST(ReferenceDisagreements, WeFollowPythonJinja2) {
  const auto rows = load_jsonl("disagreements.jsonl");
  ASSERT_FALSE(rows.empty());
  for (const Json& c : rows) {
    std::ifstream in(kDir + c["template"].get<std::string>());
    ASSERT_TRUE(in) << "missing " << c["template"];
    const std::string source((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const ChatTemplate t(source);
    ASSERT_TRUE(c["jinja2"]["ok"].get<bool>());
    EXPECT_EQ(
        t.render(c["messages"], c["add_generation_prompt"].get<bool>(), token(c, "bos_token"), token(c, "eos_token")),
        c["jinja2"]["output"].get<std::string>());
  }
}

}  // namespace
