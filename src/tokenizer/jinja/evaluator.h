// Walks a parsed template and produces text. Semantics follow jinja2 as
// transformers configures it for chat templates (sandboxed, immutable values,
// default Undefined, loop controls on); every limit is checked here so that a
// hostile template ends in a TemplateError, never in a crash or a hang.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/value.h"

namespace forge::jinja {

struct RenderLimits {
  size_t max_output_bytes = 1 << 20;  // any rendered text or string value
  int max_call_depth = 64;            // nested macro calls (recursion)
  uint64_t max_steps = 10'000'000;    // loop iterations + macro calls, whole render
  size_t max_list_items = 1'000'000;  // any list built by the template (range, +, *)
};

// Gives the local wall-clock time for strftime_now(); tests pin it.
using Clock = std::function<std::tm()>;
std::tm system_local_time();

struct RenderOptions {
  RenderLimits limits;
  Clock clock = system_local_time;
};

class Evaluator {
 public:
  Evaluator(const RenderOptions& options, std::vector<std::pair<std::string, Value>> variables);
  ~Evaluator();
  Evaluator(const Evaluator&) = delete;
  Evaluator& operator=(const Evaluator&) = delete;

  std::string render(const Body& body);

  // Services for filters, tests, methods and global functions.
  Value call(const Value& callee, const CallArgs& args);
  Value get_attribute(const Value& object, const std::string& name);
  Value get_item(const Value& object, const Value& key);
  Value apply_filter(const std::string& name, const Value& value, const CallArgs& args);
  bool apply_test(const std::string& name, const Value& value, const CallArgs& args);
  Array iterate(const Value& value);  // Python iteration: list items, dict keys, string chars
  void check_string(size_t bytes) const;
  void check_list(size_t items) const;
  void count_step();
  const RenderOptions& options() const { return options_; }
  NamespacePtr new_namespace();

 private:
  struct Scope;
  using ScopePtr = std::shared_ptr<Scope>;
  enum class Flow { normal, break_loop, continue_loop };

  Flow exec_body(const Body& body, const ScopePtr& scope, std::string& out);
  Flow exec(const Stmt& stmt, const ScopePtr& scope, std::string& out);
  void exec_for(const ForStmt& s, const ScopePtr& scope, std::string& out);
  void assign(const SetTarget& target, Value value, const ScopePtr& scope);
  Value make_macro(const std::string& name, const std::vector<MacroParam>& params, const Body& body,
                   const ScopePtr& scope);
  Value eval(const Expr& e, const ScopePtr& scope);
  Value eval_inner(const Expr& e, const ScopePtr& scope);
  CallArgs eval_args(const ArgsExpr& args, const ScopePtr& scope);
  Value eval_binary(const std::string& op, const Value& a, const Value& b);
  Value eval_slice(const SliceExpr& e, const ScopePtr& scope);
  Value lookup(const std::string& name, const ScopePtr& scope) const;
  void append(std::string& out, std::string_view text) const;

  RenderOptions options_;
  ScopePtr root_;
  uint64_t steps_ = 0;
  int call_depth_ = 0;
  int eval_depth_ = 0;
  std::vector<NamespacePtr> namespaces_;  // cleared after rendering to break reference cycles
};

// Bits shared by evaluator.cpp and the builtin files.
[[noreturn]] void fail_undefined(const Value& v);
int64_t to_index(const Value& v, const char* what);
Value call_method(Evaluator& ev, const Value& object, const std::string& name, const CallArgs& args);
bool has_method(const Value& object, const std::string& name);
Value call_global(Evaluator& ev, const std::string& name, const CallArgs& args);
std::vector<std::string> global_function_names();

}  // namespace forge::jinja
