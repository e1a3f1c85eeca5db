// A ServedModel over the interpreter: what `forge serve` (and the tests)
// hand to the server. Compiled binaries build theirs from their own Forward.
#pragma once

#include <memory>

#include "interp/interpreter.h"
#include "runtime/loaded_model.h"
#include "runtime/server/served_model.h"

namespace forge::server {

// An interpreter with `n_slots` KV-cache sequences over `model`, and its chat
// template (or the documented fallback, noted on `note` when not null).
ServedModel interpreter_model(std::shared_ptr<const runtime::LoadedModel> model, interp::InterpreterOptions opts,
                              int n_slots, std::string* note = nullptr);

}  // namespace forge::server
