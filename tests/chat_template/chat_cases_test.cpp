// Every reference case of ../shared/data/chat-templates/cases.jsonl: 17 real
// chat templates x 19 conversations, rendered by jinja2 and @huggingface/jinja
// (which agreed). Our text must equal theirs byte for byte, and every case both
// references refused must raise a TemplateError.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/jinja/chat_template.h"

namespace {

using forge::jinja::ChatTemplate;
using forge::jinja::RenderOptions;
using forge::jinja::TemplateError;
using Json = nlohmann::ordered_json;

const std::string kDir = std::string(FORGE_DATA_DIR) + "/chat-templates/";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("missing test data: " + path + " (see ../shared/data/MANIFEST.md)");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<Json> load_cases() {
  std::ifstream in(kDir + "cases.jsonl");
  if (!in) throw std::runtime_error("missing test data: " + kDir + "cases.jsonl (see ../shared/data/MANIFEST.md)");
  std::vector<Json> cases;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) cases.push_back(Json::parse(line));
  return cases;
}

// The references pinned strftime_now to 2025-01-15 09:30:00.
RenderOptions pinned_clock() {
  RenderOptions options;
  options.clock = [] {
    std::tm tm{};
    tm.tm_year = 2025 - 1900;
    tm.tm_mon = 0;
    tm.tm_mday = 15;
    tm.tm_hour = 9;
    tm.tm_min = 30;
    tm.tm_wday = 3;  // a Wednesday
    tm.tm_yday = 14;
    return tm;
  };
  return options;
}

std::optional<std::string> token(const Json& c, const char* key) {
  if (!c.contains(key) || c[key].is_null()) return std::nullopt;
  return c[key].get<std::string>();
}

TEST(ChatTemplateCases, DataSetIsComplete) {
  const auto cases = load_cases();
  size_t errors = 0;
  for (const auto& c : cases) errors += c.value("error", false) ? 1 : 0;
  EXPECT_EQ(cases.size(), 322u);
  EXPECT_EQ(errors, 16u);
}

TEST(ChatTemplateCases, EveryCaseMatchesTheReferences) {
  const auto cases = load_cases();
  ASSERT_FALSE(cases.empty());
  std::map<std::string, std::unique_ptr<ChatTemplate>> templates;
  const RenderOptions options = pinned_clock();
  size_t passed = 0;
  for (const auto& c : cases) {
    const std::string file = c["template"].get<std::string>();
    const std::string id = file + " x " + c["case"].get<std::string>();
    auto& tmpl = templates[file];
    if (!tmpl) {
      try {
        tmpl = std::make_unique<ChatTemplate>(read_file(kDir + file));
      } catch (const TemplateError& e) {
        ADD_FAILURE() << file << ": does not parse: " << e.what();
        continue;
      }
    }
    const bool want_error = c.value("error", false);
    try {
      const std::string got = tmpl->render(c["messages"], c["add_generation_prompt"].get<bool>(), token(c, "bos_token"),
                                           token(c, "eos_token"), Json::object(), options);
      if (want_error) {
        ADD_FAILURE() << id << ": both references raise, we rendered:\n" << got;
      } else if (got != c["expected"].get<std::string>()) {
        ADD_FAILURE() << id << ":\n--- expected ---\n" << c["expected"].get<std::string>() << "\n--- got ---\n" << got;
      } else {
        ++passed;
      }
    } catch (const TemplateError& e) {
      if (want_error)
        ++passed;
      else
        ADD_FAILURE() << id << ": unexpected error: " << e.what();
    }
  }
  EXPECT_EQ(passed, cases.size());
}

}  // namespace
