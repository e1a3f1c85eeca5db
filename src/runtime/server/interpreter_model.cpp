#include "runtime/server/interpreter_model.h"

#include <mutex>

#include "runtime/chat_format.h"

namespace forge::server {

namespace {
// What the ServedModel's pointers and closures need kept alive.
struct Owned {
  std::shared_ptr<const runtime::LoadedModel> model;
  runtime::ChatFormat format;
  std::mutex render_mu;  // one template render at a time: the template engine does not promise thread safety
  explicit Owned(std::shared_ptr<const runtime::LoadedModel> m) : model(std::move(m)), format(*model) {}
};
}  // namespace

ServedModel interpreter_model(std::shared_ptr<const runtime::LoadedModel> model, interp::InterpreterOptions opts,
                              int n_slots, std::string* note) {
  auto owned = std::make_shared<Owned>(std::move(model));
  if (note && owned->format.is_fallback()) *note = owned->format.fallback_note();
  opts.n_seq = n_slots;
  ServedModel s;
  s.id = owned->model->spec().name.empty() ? owned->model->spec().arch : owned->model->spec().name;
  s.forward = owned->model->interpreter(opts);
  s.tokenizer = &owned->model->tokenizer();
  Owned* o = owned.get();
  s.chat_prompt = [o](const nlohmann::ordered_json& messages) {
    std::lock_guard<std::mutex> lock(o->render_mu);
    return o->format.tokenize(messages);
  };
  s.owner = owned;
  return s;
}

}  // namespace forge::server
