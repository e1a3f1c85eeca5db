// A model ready to run: the file mapped, its spec and graph built, its
// tokenizer loaded. Everything that runs a model (run, chat, bench, serve)
// starts from here and talks to it through the Forward interface.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "format/gguf_file.h"
#include "graph/graph.h"
#include "interp/interpreter.h"
#include "model/model_spec.h"
#include "tokenizer/tokenizer.h"

namespace forge::runtime {

struct LoadOptions {
  std::string model_path;      // a .gguf file
  std::string tokenizer_path;  // optional: tokenizer.json or a folder holding one; default: the GGUF's vocabulary
};

class LoadedModel {
 public:
  // Throws FormatError / ModelError / TokenizerError with the file named.
  static std::unique_ptr<LoadedModel> load(const LoadOptions& opts);

  const GgufFile& file() const { return file_; }
  const model::ModelSpec& spec() const { return spec_; }
  const graph::Graph& graph() const { return graph_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }

  // A new interpreter instance (its own KV cache) over this model.
  std::unique_ptr<interp::Interpreter> interpreter(const interp::InterpreterOptions& opts) const;

 private:
  LoadedModel(GgufFile file) : file_(std::move(file)) {}
  GgufFile file_;
  model::ModelSpec spec_;
  graph::Graph graph_;
  std::optional<Tokenizer> tokenizer_;
};

}  // namespace forge::runtime
