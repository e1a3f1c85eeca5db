// What the server needs of a model, and nothing more: a Forward with one
// sequence per slot, its tokenizer, and a way to turn chat messages into
// prompt tokens. `forge serve` builds it from a LoadedModel and the
// interpreter; a compiled binary builds it from its own generated Forward.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/forward.h"
#include "tokenizer/tokenizer.h"

namespace forge::server {

struct ServedModel {
  // Keeps whatever the members below point into alive (a LoadedModel);
  // declared first so that it goes last.
  std::shared_ptr<const void> owner;
  std::string id;                           // the name /v1/models reports
  std::shared_ptr<model::Forward> forward;  // max_sequences() is the number of slots
  const Tokenizer* tokenizer = nullptr;
  // The prompt tokens of a conversation ([{"role","content"}...]) with the
  // assistant's turn opened. Throws (any std::exception) for a conversation
  // the template refuses; the message is shown to the client as a 400.
  std::function<std::vector<int32_t>(const nlohmann::ordered_json& messages)> chat_prompt;
};

// Builds the model for `n_slots` slots; called once, while /health says 503.
using ModelLoader = std::function<ServedModel(int n_slots)>;

}  // namespace forge::server
