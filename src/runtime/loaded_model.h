// A model ready to run: the file mapped, its spec and graph built, its
// tokenizer loaded. Everything that runs a model (run, chat, bench, serve)
// starts from here and talks to it through the Forward interface.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format/gguf_file.h"
#include "graph/graph.h"
#include "interp/interpreter.h"
#include "model/hf_model.h"
#include "model/model_spec.h"
#include "tokenizer/tokenizer.h"

namespace forge::runtime {

struct LoraOption {
  std::string path;    // a PEFT folder or a GGUF adapter
  double scale = 1.0;  // times the adapter's alpha / r
};

struct LoadOptions {
  std::string model_path;      // a .gguf file, or a Hugging Face folder (config.json + *.safetensors)
  std::string tokenizer_path;  // optional: tokenizer.json or a folder holding one; default: the GGUF's
                               // vocabulary, or the folder's tokenizer.json
  std::vector<LoraOption> loras;         // merged into the weights at load, in order
  std::vector<std::string> override_kv;  // KEY=TYPE:VALUE over the GGUF's metadata
};

class LoadedModel {
 public:
  // Throws FormatError / ModelError / TokenizerError with the file named.
  static std::unique_ptr<LoadedModel> load(const LoadOptions& opts);

  // The GGUF the model came from; throws ModelError for a Hugging Face folder
  // (has_gguf() says which).
  const GgufFile& file() const;
  bool has_gguf() const { return gguf_.has_value(); }
  const model::ModelSpec& spec() const { return spec_; }
  const graph::Graph& graph() const { return graph_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  // The model's own chat template (GGUF tokenizer.chat_template, or
  // tokenizer_config.json's chat_template in a Hugging Face folder), if any.
  const std::optional<std::string>& chat_template() const { return chat_template_; }

  // A new interpreter instance (its own KV cache) over this model.
  std::unique_ptr<interp::Interpreter> interpreter(const interp::InterpreterOptions& opts) const;

 private:
  LoadedModel() = default;
  std::optional<GgufFile> gguf_;
  std::unique_ptr<model::HfModel> hf_;  // config, mapped weights; spec_ is moved out of it
  model::ModelSpec spec_;
  graph::Graph graph_;
  std::optional<Tokenizer> tokenizer_;
  std::optional<std::string> chat_template_;
};

}  // namespace forge::runtime
