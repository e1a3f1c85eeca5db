#include "runtime/loaded_model.h"

#include <filesystem>
#include <fstream>

#include <cstdio>

#include "format/lora_adapter.h"
#include "nlohmann/json.hpp"
#include "model/gguf_model.h"
#include "model/lora_merge.h"
#include "model/metadata_override.h"
#include "model/model_error.h"

namespace forge::runtime {

namespace {

// Merges each adapter into `spec`, saying on stderr what was re-quantized.
void merge_loras(model::ModelSpec& spec, const std::vector<LoraOption>& loras) {
  for (const LoraOption& l : loras) {
    const LoraAdapter adapter = LoraAdapter::open(l.path);
    const model::LoraMergeReport r = model::merge_lora(spec, adapter, l.scale);
    std::string msg = "lora: " + l.path + ": merged into " + std::to_string(r.tensors) + " tensors (scale " +
                      std::to_string(l.scale) + ")";
    if (!r.requantized.empty()) {
      msg += "; dequantized, summed and re-quantized to their own type:";
      for (const auto& t : r.requantized) msg += " " + t;
    }
    std::fprintf(stderr, "%s\n", msg.c_str());
  }
}

// tokenizer_config.json's chat_template: a string, or a list of named
// templates of which "default" is the chat one.
std::optional<std::string> hf_chat_template(const std::string& dir) {
  std::ifstream in(dir + "/tokenizer_config.json");
  if (!in) return std::nullopt;
  nlohmann::json cfg = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!cfg.is_object() || !cfg.contains("chat_template")) return std::nullopt;
  const nlohmann::json& t = cfg["chat_template"];
  if (t.is_string()) return t.get<std::string>();
  if (t.is_array()) {
    for (const auto& e : t) {
      if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string()) {
        return e["template"].get<std::string>();
      }
    }
  }
  return std::nullopt;
}

}  // namespace

const GgufFile& LoadedModel::file() const {
  if (!gguf_) throw model::ModelError("this model was loaded from a Hugging Face folder, not a GGUF file");
  return *gguf_;
}

std::unique_ptr<LoadedModel> LoadedModel::load(const LoadOptions& opts) {
  namespace fs = std::filesystem;
  if (opts.model_path.empty()) throw model::ModelError("no model given (--model PATH)");
  if (!fs::exists(opts.model_path)) throw model::ModelError(opts.model_path + ": no such file");
  std::unique_ptr<LoadedModel> m(new LoadedModel());
  if (fs::is_directory(opts.model_path)) {
    if (!model::is_hf_folder(opts.model_path)) {
      throw model::ModelError(opts.model_path + ": is a folder without config.json; give a .gguf file or a Hugging Face folder");
    }
    if (!opts.override_kv.empty()) {
      throw model::ModelError("--override-kv changes GGUF metadata; for a Hugging Face folder, edit its config.json");
    }
    m->hf_ = model::open_hf_model(opts.model_path);
    m->spec_ = std::move(m->hf_->spec);
  } else {
    m->gguf_.emplace(GgufFile::open(opts.model_path));
    const model::MetadataOverrides overrides = model::parse_overrides(opts.override_kv);
    m->spec_ = model::spec_from_gguf(*m->gguf_, &overrides);
  }
  merge_loras(m->spec_, opts.loras);
  m->graph_ = graph::build_graph(m->spec_);
  if (!opts.tokenizer_path.empty()) {
    if (!fs::exists(opts.tokenizer_path)) throw model::ModelError(opts.tokenizer_path + ": tokenizer not found");
    m->tokenizer_ = fs::is_directory(opts.tokenizer_path) ? Tokenizer::from_hf_dir(opts.tokenizer_path)
                                                          : Tokenizer::from_hf_files(opts.tokenizer_path);
  } else if (m->gguf_) {
    m->tokenizer_ = Tokenizer::from_gguf(*m->gguf_);
  } else {
    m->tokenizer_ = Tokenizer::from_hf_dir(opts.model_path);
  }
  if (m->gguf_) {
    m->chat_template_ = m->gguf_->get_optional<std::string>("tokenizer.chat_template");
  } else {
    m->chat_template_ = hf_chat_template(opts.model_path);
  }
  if (!m->chat_template_ && !opts.tokenizer_path.empty()) {
    m->chat_template_ = hf_chat_template(fs::is_directory(opts.tokenizer_path)
                                             ? opts.tokenizer_path
                                             : fs::path(opts.tokenizer_path).parent_path().string());
  }
  if (m->tokenizer_->n_vocab() > m->spec_.n_vocab) {
    throw model::ModelError(opts.model_path + ": the tokenizer has " + std::to_string(m->tokenizer_->n_vocab()) +
                            " tokens but the model only " + std::to_string(m->spec_.n_vocab));
  }
  return m;
}

std::unique_ptr<interp::Interpreter> LoadedModel::interpreter(const interp::InterpreterOptions& opts) const {
  return std::make_unique<interp::Interpreter>(graph_, opts);
}

}  // namespace forge::runtime
