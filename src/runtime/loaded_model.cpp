#include "runtime/loaded_model.h"

#include <filesystem>

#include "model/gguf_model.h"
#include "model/model_error.h"

namespace forge::runtime {

std::unique_ptr<LoadedModel> LoadedModel::load(const LoadOptions& opts) {
  namespace fs = std::filesystem;
  if (opts.model_path.empty()) throw model::ModelError("no model given (--model PATH)");
  if (!fs::exists(opts.model_path)) throw model::ModelError(opts.model_path + ": no such file");
  if (fs::is_directory(opts.model_path)) {
    throw model::ModelError(opts.model_path + ": is a folder; Hugging Face folders are not supported yet, give a .gguf file");
  }
  std::unique_ptr<LoadedModel> m(new LoadedModel(GgufFile::open(opts.model_path)));
  m->spec_ = model::spec_from_gguf(m->file_);
  m->graph_ = graph::build_graph(m->spec_);
  if (!opts.tokenizer_path.empty()) {
    if (!fs::exists(opts.tokenizer_path)) throw model::ModelError(opts.tokenizer_path + ": tokenizer not found");
    m->tokenizer_ = fs::is_directory(opts.tokenizer_path) ? Tokenizer::from_hf_dir(opts.tokenizer_path)
                                                          : Tokenizer::from_hf_files(opts.tokenizer_path);
  } else {
    m->tokenizer_ = Tokenizer::from_gguf(m->file_);
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
