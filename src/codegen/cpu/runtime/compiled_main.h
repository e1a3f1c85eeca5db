// The command line of a compiled model: the face of `forge run` over the
// generated Forward implementation. Every compiled program's main() is one
// call to compiled_main(); the code lives here, in Forge, once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "model/forward.h"

namespace forge::compiled {

struct CompiledModelInfo {
  const char* name;     // the model's general.name
  const char* source;   // the file it was compiled from
  int max_context;      // KV cache positions (forge compile --max-context)
  int default_threads;  // 0: physical cores
};

// Maps the weights file (checked against the compiled graph) and builds the model.
using ModelFactory = std::unique_ptr<model::Forward> (*)(const std::string& weights_path, int threads);

int compiled_main(int argc, char** argv, const CompiledModelInfo& info, ModelFactory make_model);

}  // namespace forge::compiled
