// `forge tokenize` and `forge detokenize`: look at what a model's tokenizer
// does with a text, or what text a list of ids stands for.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "format/gguf_file.h"
#include "nlohmann/json.hpp"
#include "tokenizer/tokenizer.h"

namespace forge::cli {
namespace {

// A .gguf file, a Hugging Face folder, or a tokenizer.json[.gz] file.
Tokenizer load_tokenizer(const std::string& path) {
  namespace fs = std::filesystem;
  if (fs::is_directory(path)) return Tokenizer::from_hf_dir(path);
  if (path.ends_with(".gguf")) return Tokenizer::from_gguf(GgufFile::open(path));
  const fs::path dir = fs::path(path).parent_path();
  std::string cfg = (dir / "tokenizer_config.json").string();
  if (!fs::exists(cfg)) cfg += ".gz";
  return Tokenizer::from_hf_files(path, fs::exists(cfg) ? cfg : "");
}

std::string read_stdin() {
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

std::vector<int32_t> parse_id_list(const std::string& s) {
  std::vector<int32_t> ids;
  std::string item;
  for (char c : s + ",") {
    if (c == ',' || c == ' ' || c == '\n' || c == '\t' || c == '[' || c == ']') {
      if (item.empty()) continue;
      try {
        size_t used = 0;
        ids.push_back(std::stoi(item, &used));
        if (used != item.size()) throw std::invalid_argument(item);
      } catch (const std::logic_error&) {
        throw std::invalid_argument("'" + item + "' is not a token id");
      }
      item.clear();
    } else {
      item.push_back(c);
    }
  }
  return ids;
}

}  // namespace

void add_tokenize_commands(CLI::App& app, int& exit_code) {
  struct Options {
    std::string model, text, ids;
    bool json = false, no_special = false, parse_special = false, skip_special = false, ids_only = false;
  };
  auto o = std::make_shared<Options>();

  CLI::App* tok = app.add_subcommand("tokenize", "Show the token ids and pieces of a text");
  tok->footer(
      "Examples:\n"
      "  forge tokenize -m model.gguf -p \"Hello world\"\n"
      "  forge tokenize -m hf-folder/ -p \"<|im_start|>user\" --parse-special --json\n"
      "  echo 'text' | forge tokenize -m model.gguf --ids-only");
  tok->add_option("-m,--model", o->model, "A .gguf file, a Hugging Face folder or a tokenizer.json")->required();
  tok->add_option("-p,--prompt", o->text, "Text to tokenize (read from standard input when absent)");
  tok->add_flag("--no-special", o->no_special, "Do not add BOS/EOS");
  tok->add_flag("--parse-special", o->parse_special, "Turn control tokens written in the text into their ids");
  tok->add_flag("--ids-only", o->ids_only, "Print only the ids, comma-separated");
  tok->add_flag("--json", o->json, "Print {\"ids\": [...], \"pieces\": [...]} as JSON");
  tok->callback([o, &exit_code] {
    const Tokenizer t = load_tokenizer(o->model);
    const std::string text = o->text.empty() ? read_stdin() : o->text;
    const auto ids = t.encode(text, {.add_special = !o->no_special, .parse_special = o->parse_special});
    if (o->json) {
      nlohmann::json j;
      j["ids"] = ids;
      j["pieces"] = nlohmann::json::array();
      for (int32_t id : ids) j["pieces"].push_back(t.token_text(id));
      std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else if (o->ids_only) {
      for (size_t i = 0; i < ids.size(); ++i) std::printf("%s%d", i ? "," : "", ids[i]);
      std::printf("\n");
    } else {
      for (int32_t id : ids)
        std::printf("%8d  %-12s %s\n", id, std::string(token_type_name(t.token_type(id))).c_str(),
                    nlohmann::json(t.token_text(id)).dump().c_str());
      std::printf("%zu tokens\n", ids.size());
    }
    exit_code = 0;
  });

  CLI::App* det = app.add_subcommand("detokenize", "Show the text a list of token ids stands for");
  det->footer(
      "Examples:\n"
      "  forge detokenize -m model.gguf --ids 1,15043,3186\n"
      "  forge tokenize -m model.gguf -p hi --ids-only | forge detokenize -m model.gguf");
  det->add_option("-m,--model", o->model, "A .gguf file, a Hugging Face folder or a tokenizer.json")->required();
  det->add_option("--ids", o->ids, "Token ids separated by commas or spaces (standard input when absent)");
  det->add_flag("--skip-special", o->skip_special, "Leave control tokens (BOS, EOS, ...) out");
  det->callback([o, &exit_code] {
    const Tokenizer t = load_tokenizer(o->model);
    const auto ids = parse_id_list(o->ids.empty() ? read_stdin() : o->ids);
    for (int32_t id : ids)
      if (!t.valid_id(id))
        throw std::invalid_argument("token id " + std::to_string(id) + " is outside the vocabulary of " +
                                    std::to_string(t.n_vocab()));
    std::printf("%s\n", t.decode(ids, o->skip_special).c_str());
    exit_code = 0;
  });
}

}  // namespace forge::cli
