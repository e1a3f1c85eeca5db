#include "tokenizer/jinja/evaluator.h"

#include <cmath>
#include <limits>

#include "tokenizer/jinja/template_error.h"
#include "tokenizer/jinja/text_utils.h"

namespace forge::jinja {

namespace {

// Each nested expression or statement costs a few C++ frames; beyond this the
// template is refused long before the native stack could run out.
constexpr int kMaxEvalDepth = 3000;

std::string undefined_hint(const Value& v) {
  const std::string& hint = v.as_undefined().hint;
  return hint.empty() ? "value is undefined" : hint;
}

// Python integers do not overflow; ours are 64-bit, so overflow is an error.
Value checked(bool overflowed, int64_t result) {
  if (overflowed) throw TemplateError("integer overflow (the engine's integers are 64-bit)");
  return Value(result);
}

int64_t python_floordiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t python_mod(int64_t a, int64_t b) {
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

}  // namespace

std::tm system_local_time() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  return tm;
}

struct Evaluator::Scope {
  std::unordered_map<std::string, Value> vars;
  ScopePtr parent;
};

void fail_undefined(const Value& v) {
  throw TemplateError(undefined_hint(v));
}

int64_t to_index(const Value& v, const char* what) {
  if (v.is_int() || v.is_bool()) return v.int_like();
  if (v.is_undefined()) fail_undefined(v);
  throw TemplateError(std::string(what) + " must be an integer, not '" + type_name(v) + "'");
}

Evaluator::Evaluator(const RenderOptions& options, std::vector<std::pair<std::string, Value>> variables)
    : options_(options), root_(std::make_shared<Scope>()) {
  for (const std::string& name : global_function_names()) {
    auto fn = std::make_shared<Function>();
    fn->name = name;
    fn->call = [name](const CallArgs& args, Evaluator& ev) { return call_global(ev, name, args); };
    root_->vars[name] = Value(FunctionPtr(std::move(fn)));
  }
  for (auto& [name, value] : variables) root_->vars[name] = std::move(value);
}

Evaluator::~Evaluator() {
  // namespace() objects may reference each other (ns.a = ns): empty them so
  // that the shared pointers can free everything.
  for (auto& ns : namespaces_) ns->attrs.items.clear();
}

NamespacePtr Evaluator::new_namespace() {
  count_step();
  auto ns = std::make_shared<Namespace>();
  namespaces_.push_back(ns);
  return ns;
}

std::string Evaluator::render(const Body& body) {
  std::string out;
  exec_body(body, root_, out);
  return out;
}

void Evaluator::append(std::string& out, std::string_view text) const {
  check_string(out.size() + text.size());
  out.append(text);
}

void Evaluator::check_string(size_t bytes) const {
  if (bytes > options_.limits.max_output_bytes)
    throw TemplateError("rendered text would exceed the limit of " + std::to_string(options_.limits.max_output_bytes) +
                        " bytes");
}

void Evaluator::check_list(size_t items) const {
  if (items > options_.limits.max_list_items)
    throw TemplateError("a list would exceed the limit of " + std::to_string(options_.limits.max_list_items) +
                        " items");
}

void Evaluator::count_step() {
  if (++steps_ > options_.limits.max_steps)
    throw TemplateError("template ran more than " + std::to_string(options_.limits.max_steps) +
                        " loop iterations and calls (endless loop?)");
}

Value Evaluator::lookup(const std::string& name, const ScopePtr& scope) const {
  for (const Scope* s = scope.get(); s != nullptr; s = s->parent.get()) {
    const auto it = s->vars.find(name);
    if (it != s->vars.end()) return it->second;
  }
  return Value::undefined("'" + name + "' is undefined");
}

// ---- statements -------------------------------------------------------------

Evaluator::Flow Evaluator::exec_body(const Body& body, const ScopePtr& scope, std::string& out) {
  for (const auto& stmt : body) {
    const Flow flow = exec(*stmt, scope, out);
    if (flow != Flow::normal) return flow;
  }
  return Flow::normal;
}

Evaluator::Flow Evaluator::exec(const Stmt& stmt, const ScopePtr& scope, std::string& out) {
  struct DepthGuard {
    explicit DepthGuard(int& d) : depth(d) {
      if (++depth > kMaxEvalDepth) throw TemplateError("template evaluation nested too deeply");
    }
    ~DepthGuard() { --depth; }
    int& depth;
  } guard(eval_depth_);
  try {
    switch (stmt.kind) {
      case StmtKind::text:
        append(out, static_cast<const TextStmt&>(stmt).text);
        return Flow::normal;
      case StmtKind::output: {
        const Value v = eval(*static_cast<const OutputStmt&>(stmt).expr, scope);
        append(out, to_str(v));
        return Flow::normal;
      }
      case StmtKind::if_: {
        const auto& s = static_cast<const IfStmt&>(stmt);
        for (const auto& [cond, body] : s.branches)
          if (truthy(eval(*cond, scope))) return exec_body(body, scope, out);
        return exec_body(s.otherwise, scope, out);
      }
      case StmtKind::for_:
        exec_for(static_cast<const ForStmt&>(stmt), scope, out);
        return Flow::normal;
      case StmtKind::set: {
        const auto& s = static_cast<const SetStmt&>(stmt);
        assign(s.target, eval(*s.value, scope), scope);
        return Flow::normal;
      }
      case StmtKind::set_block: {
        const auto& s = static_cast<const SetBlockStmt&>(stmt);
        auto inner = std::make_shared<Scope>();
        inner->parent = scope;
        std::string captured;
        exec_body(s.body, inner, captured);
        Value v(std::move(captured));
        for (const auto& f : s.filters) v = apply_filter(f->name, v, eval_args(f->args, scope));
        assign(s.target, std::move(v), scope);
        return Flow::normal;
      }
      case StmtKind::macro: {
        const auto& s = static_cast<const MacroStmt&>(stmt);
        scope->vars[s.name] = make_macro(s.name, s.params, s.body, scope);
        return Flow::normal;
      }
      case StmtKind::call_block: {
        const auto& s = static_cast<const CallBlockStmt&>(stmt);
        Value caller = make_macro("caller", s.caller_params, s.body, scope);
        const Value callee = eval(*s.call->callee, scope);
        CallArgs args = eval_args(s.call->args, scope);
        args.named.emplace_back("caller", std::move(caller));
        append(out, to_str(call(callee, args)));
        return Flow::normal;
      }
      case StmtKind::filter_block: {
        const auto& s = static_cast<const FilterBlockStmt&>(stmt);
        auto inner = std::make_shared<Scope>();
        inner->parent = scope;
        std::string captured;
        exec_body(s.body, inner, captured);
        Value v(std::move(captured));
        for (const auto& f : s.filters) v = apply_filter(f->name, v, eval_args(f->args, scope));
        append(out, to_str(v));
        return Flow::normal;
      }
      case StmtKind::with: {
        const auto& s = static_cast<const WithStmt&>(stmt);
        auto inner = std::make_shared<Scope>();
        inner->parent = scope;
        for (const auto& [name, expr] : s.assignments) inner->vars[name] = eval(*expr, scope);
        return exec_body(s.body, inner, out);
      }
      case StmtKind::break_:
        return Flow::break_loop;
      case StmtKind::continue_:
        return Flow::continue_loop;
    }
  } catch (const TemplateError& e) {
    if (!e.has_location()) throw e.with_location(stmt.line, stmt.column);
    throw;
  }
  return Flow::normal;
}

void Evaluator::exec_for(const ForStmt& s, const ScopePtr& scope, std::string& out) {
  Array items = iterate(eval(*s.iterable, scope));
  auto bind = [&](const ScopePtr& target, const Value& item) {
    if (s.targets.size() == 1) {
      target->vars[s.targets[0]] = item;
      return;
    }
    Array parts = iterate(item);
    if (parts.size() != s.targets.size())
      throw TemplateError("cannot unpack " + std::to_string(parts.size()) + " values into " +
                          std::to_string(s.targets.size()) + " loop variables");
    for (size_t k = 0; k < parts.size(); ++k) target->vars[s.targets[k]] = std::move(parts[k]);
  };
  if (s.filter) {
    Array kept;
    for (auto& item : items) {
      count_step();
      auto probe = std::make_shared<Scope>();
      probe->parent = scope;
      bind(probe, item);
      if (truthy(eval(*s.filter, probe))) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    exec_body(s.otherwise, scope, out);
    return;
  }
  const auto n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    count_step();
    auto iter = std::make_shared<Scope>();
    iter->parent = scope;
    bind(iter, items[static_cast<size_t>(i)]);
    Dict loop;
    loop.items.reserve(13);
    loop.set("index", Value(i + 1));
    loop.set("index0", Value(i));
    loop.set("revindex", Value(n - i));
    loop.set("revindex0", Value(n - i - 1));
    loop.set("first", Value(i == 0));
    loop.set("last", Value(i == n - 1));
    loop.set("length", Value(n));
    loop.set("depth", Value(1));
    loop.set("depth0", Value(0));
    loop.set("previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value::undefined("there is no previous item"));
    loop.set("nextitem", i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value::undefined("there is no next item"));
    auto cycle = std::make_shared<Function>();
    cycle->name = "loop.cycle";
    cycle->call = [i](const CallArgs& args, Evaluator&) {
      if (args.positional.empty()) throw TemplateError("loop.cycle() needs at least one value");
      return args.positional[static_cast<size_t>(i) % args.positional.size()];
    };
    loop.set("cycle", Value(FunctionPtr(std::move(cycle))));
    iter->vars["loop"] = make_dict(std::move(loop));
    const Flow flow = exec_body(s.body, iter, out);
    if (flow == Flow::break_loop) break;
  }
}

void Evaluator::assign(const SetTarget& target, Value value, const ScopePtr& scope) {
  if (!target.attribute.empty()) {
    const Value object = lookup(target.names[0], scope);
    if (!object.is_namespace())
      throw TemplateError("cannot assign attribute '" + target.attribute + "' on '" + target.names[0] +
                          "': only namespace() objects can be modified");
    object.as_namespace()->attrs.set(target.attribute, std::move(value));
    return;
  }
  if (target.names.size() == 1) {
    scope->vars[target.names[0]] = std::move(value);
    return;
  }
  Array parts = iterate(value);
  if (parts.size() != target.names.size())
    throw TemplateError("cannot unpack " + std::to_string(parts.size()) + " values into " +
                        std::to_string(target.names.size()) + " names");
  for (size_t k = 0; k < parts.size(); ++k) scope->vars[target.names[k]] = std::move(parts[k]);
}

Value Evaluator::make_macro(const std::string& name, const std::vector<MacroParam>& params, const Body& body,
                            const ScopePtr& scope) {
  // The macro keeps its defining scope only weakly: a scope that holds the
  // macro would otherwise keep itself alive. A macro called after its scope
  // ended resolves free names in the template's top-level scope.
  std::weak_ptr<Scope> home = scope;
  auto fn = std::make_shared<Function>();
  fn->name = name;
  const std::vector<MacroParam>* param_list = &params;
  const Body* macro_body = &body;
  fn->call = [this, home, param_list, macro_body, name](const CallArgs& args, Evaluator&) -> Value {
    count_step();
    if (call_depth_ >= options_.limits.max_call_depth)
      throw TemplateError("macro '" + name + "' nested deeper than " + std::to_string(options_.limits.max_call_depth) +
                          " calls (infinite recursion?)");
    struct CallGuard {
      explicit CallGuard(int& d) : depth(d) { ++depth; }
      ~CallGuard() { --depth; }
      int& depth;
    } guard(call_depth_);
    auto frame = std::make_shared<Scope>();
    ScopePtr parent = home.lock();
    frame->parent = parent ? parent : root_;
    const auto& ps = *param_list;
    Array varargs;
    for (size_t k = 0; k < args.positional.size(); ++k) {
      if (k < ps.size())
        frame->vars[ps[k].name] = args.positional[k];
      else
        varargs.push_back(args.positional[k]);
    }
    Dict kwargs;
    for (const auto& [key, v] : args.named) {
      bool is_param = false;
      for (const auto& p : ps) is_param = is_param || p.name == key;
      if (is_param)
        frame->vars[key] = v;
      else if (key == "caller")
        frame->vars["caller"] = v;
      else
        kwargs.set(key, v);
    }
    for (const auto& p : ps) {
      if (frame->vars.count(p.name)) continue;
      frame->vars[p.name] = p.default_value ? eval(*p.default_value, frame)
                                            : Value::undefined("parameter '" + p.name + "' was not provided");
    }
    frame->vars["varargs"] = make_array(std::move(varargs));
    frame->vars["kwargs"] = make_dict(std::move(kwargs));
    std::string out;
    exec_body(*macro_body, frame, out);
    return Value(std::move(out));
  };
  return Value(FunctionPtr(std::move(fn)));
}

// ---- expressions ------------------------------------------------------------

Value Evaluator::eval(const Expr& e, const ScopePtr& scope) {
  struct DepthGuard {
    explicit DepthGuard(int& d) : depth(d) {
      if (++depth > kMaxEvalDepth) throw TemplateError("template evaluation nested too deeply");
    }
    ~DepthGuard() { --depth; }
    int& depth;
  } guard(eval_depth_);
  try {
    return eval_inner(e, scope);
  } catch (const TemplateError& err) {
    if (!err.has_location()) throw err.with_location(e.line, e.column);
    throw;
  }
}

CallArgs Evaluator::eval_args(const ArgsExpr& args, const ScopePtr& scope) {
  CallArgs out;
  out.positional.reserve(args.positional.size());
  for (const auto& a : args.positional) out.positional.push_back(eval(*a, scope));
  for (const auto& [name, a] : args.named) out.named.emplace_back(name, eval(*a, scope));
  return out;
}

Value Evaluator::eval_inner(const Expr& e, const ScopePtr& scope) {
  switch (e.kind) {
    case ExprKind::literal:
      return static_cast<const LiteralExpr&>(e).value;
    case ExprKind::name:
      return lookup(static_cast<const NameExpr&>(e).name, scope);
    case ExprKind::list: {
      const auto& l = static_cast<const ListExpr&>(e);
      Array items;
      items.reserve(l.items.size());
      for (const auto& item : l.items) items.push_back(eval(*item, scope));
      return make_array(std::move(items));
    }
    case ExprKind::dict: {
      const auto& d = static_cast<const DictExpr&>(e);
      Dict dict;
      for (const auto& [k, v] : d.items) {
        const Value key = eval(*k, scope);
        if (!key.is_string()) throw TemplateError("dict keys must be strings here, not '" + type_name(key) + "'");
        dict.set(key.as_string(), eval(*v, scope));
      }
      return make_dict(std::move(dict));
    }
    case ExprKind::attr: {
      const auto& a = static_cast<const AttrExpr&>(e);
      return get_attribute(eval(*a.object, scope), a.name);
    }
    case ExprKind::item: {
      const auto& i = static_cast<const ItemExpr&>(e);
      const Value object = eval(*i.object, scope);
      return get_item(object, eval(*i.index, scope));
    }
    case ExprKind::slice:
      return eval_slice(static_cast<const SliceExpr&>(e), scope);
    case ExprKind::call: {
      const auto& c = static_cast<const CallExpr&>(e);
      const Value callee = eval(*c.callee, scope);
      return call(callee, eval_args(c.args, scope));
    }
    case ExprKind::filter: {
      const auto& f = static_cast<const FilterExpr&>(e);
      const Value operand = eval(*f.operand, scope);
      return apply_filter(f.name, operand, eval_args(f.args, scope));
    }
    case ExprKind::test: {
      const auto& t = static_cast<const TestExpr&>(e);
      const Value operand = eval(*t.operand, scope);
      const bool result = apply_test(t.name, operand, eval_args(t.args, scope));
      return Value(t.negated ? !result : result);
    }
    case ExprKind::unary: {
      const auto& u = static_cast<const UnaryExpr&>(e);
      const Value v = eval(*u.operand, scope);
      if (v.is_undefined()) fail_undefined(v);
      if (!v.is_number())
        throw TemplateError(std::string("bad operand type for unary ") + u.op + ": '" + type_name(v) + "'");
      if (u.op == '+') return v.is_bool() ? Value(v.int_like()) : v;
      if (v.is_float()) return Value(-v.as_float());
      if (v.int_like() == std::numeric_limits<int64_t>::min()) throw TemplateError("integer overflow");
      return Value(-v.int_like());
    }
    case ExprKind::binary: {
      const auto& b = static_cast<const BinaryExpr&>(e);
      const Value left = eval(*b.left, scope);
      return eval_binary(b.op, left, eval(*b.right, scope));
    }
    case ExprKind::logical_and: {
      const auto& b = static_cast<const BinaryExpr&>(e);
      Value left = eval(*b.left, scope);
      return truthy(left) ? eval(*b.right, scope) : left;
    }
    case ExprKind::logical_or: {
      const auto& b = static_cast<const BinaryExpr&>(e);
      Value left = eval(*b.left, scope);
      return truthy(left) ? left : eval(*b.right, scope);
    }
    case ExprKind::logical_not:
      return Value(!truthy(eval(*static_cast<const NotExpr&>(e).operand, scope)));
    case ExprKind::cond: {
      const auto& c = static_cast<const CondExpr&>(e);
      if (truthy(eval(*c.condition, scope))) return eval(*c.then, scope);
      if (c.otherwise) return eval(*c.otherwise, scope);
      return Value::undefined("the inline if expression had no else branch");
    }
    case ExprKind::compare: {
      const auto& c = static_cast<const CompareExpr&>(e);
      Value left = eval(*c.first, scope);
      for (const auto& [op, expr] : c.rest) {
        Value right = eval(*expr, scope);
        bool ok = false;
        if (op == "==")
          ok = values_equal(left, right);
        else if (op == "!=")
          ok = !values_equal(left, right);
        else if (op == "in" || op == "notin") {
          CallArgs args;
          args.positional.push_back(right);
          ok = apply_test("in", left, args);
          if (op == "notin") ok = !ok;
        } else {
          const int cmp = compare_values(left, right);
          ok = op == "<" ? cmp < 0 : op == "<=" ? cmp <= 0 : op == ">" ? cmp > 0 : cmp >= 0;
        }
        if (!ok) return Value(false);
        left = std::move(right);
      }
      return Value(true);
    }
  }
  throw TemplateError("internal error: unknown expression");
}

Value Evaluator::eval_binary(const std::string& op, const Value& a, const Value& b) {
  if (op == "~") {
    std::string s = to_str(a);
    const std::string t = to_str(b);
    check_string(s.size() + t.size());
    return Value(s + t);
  }
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  auto unsupported = [&]() -> TemplateError {
    return TemplateError("unsupported operand types for " + op + ": '" + type_name(a) + "' and '" + type_name(b) + "'");
  };
  const bool ints = (a.is_int() || a.is_bool()) && (b.is_int() || b.is_bool());
  const bool nums = a.is_number() && b.is_number();
  if (op == "+") {
    if (ints) {
      int64_t r = 0;
      const bool overflowed = __builtin_add_overflow(a.int_like(), b.int_like(), &r);
      return checked(overflowed, r);
    }
    if (nums) return Value(a.number() + b.number());
    if (a.is_string() && b.is_string()) {
      check_string(a.as_string().size() + b.as_string().size());
      return Value(a.as_string() + b.as_string());
    }
    if (a.is_array() && b.is_array()) {
      check_list(a.as_array().size() + b.as_array().size());
      Array items = a.as_array();
      items.insert(items.end(), b.as_array().begin(), b.as_array().end());
      return make_array(std::move(items));
    }
    throw unsupported();
  }
  if (op == "-") {
    if (ints) {
      int64_t r = 0;
      const bool overflowed = __builtin_sub_overflow(a.int_like(), b.int_like(), &r);
      return checked(overflowed, r);
    }
    if (nums) return Value(a.number() - b.number());
    throw unsupported();
  }
  if (op == "*") {
    if (ints) {
      int64_t r = 0;
      const bool overflowed = __builtin_mul_overflow(a.int_like(), b.int_like(), &r);
      return checked(overflowed, r);
    }
    if (nums) return Value(a.number() * b.number());
    const Value* seq = a.is_string() || a.is_array() ? &a : (b.is_string() || b.is_array() ? &b : nullptr);
    const Value* count = seq == &a ? &b : &a;
    if (seq != nullptr && (count->is_int() || count->is_bool())) {
      const int64_t times = std::max<int64_t>(0, count->int_like());
      if (seq->is_string()) {
        const size_t unit = seq->as_string().size();
        if (unit > 0 && static_cast<uint64_t>(times) > options_.limits.max_output_bytes / unit + 1)
          check_string(options_.limits.max_output_bytes + 1);
        check_string(unit * static_cast<size_t>(times));
        std::string s;
        for (int64_t k = 0; k < times; ++k) s += seq->as_string();
        return Value(std::move(s));
      }
      const size_t unit = seq->as_array().size();
      if (unit > 0 && static_cast<uint64_t>(times) > options_.limits.max_list_items / unit + 1)
        check_list(options_.limits.max_list_items + 1);
      check_list(unit * static_cast<size_t>(times));
      Array items;
      for (int64_t k = 0; k < times; ++k) items.insert(items.end(), seq->as_array().begin(), seq->as_array().end());
      return make_array(std::move(items));
    }
    throw unsupported();
  }
  if (op == "/") {
    if (!nums) throw unsupported();
    if (b.number() == 0.0) throw TemplateError("division by zero");
    return Value(a.number() / b.number());
  }
  if (op == "//") {
    if (!nums) throw unsupported();
    if (b.number() == 0.0) throw TemplateError("integer division or modulo by zero");
    if (ints) {
      if (a.int_like() == std::numeric_limits<int64_t>::min() && b.int_like() == -1)
        throw TemplateError("integer overflow");
      return Value(python_floordiv(a.int_like(), b.int_like()));
    }
    return Value(std::floor(a.number() / b.number()));
  }
  if (op == "%") {
    if (a.is_string()) {
      CallArgs args;
      if (b.is_array())
        args.positional = b.as_array();
      else
        args.positional.push_back(b);
      return apply_filter("format", a, args);
    }
    if (!nums) throw unsupported();
    if (b.number() == 0.0) throw TemplateError("integer division or modulo by zero");
    if (ints) {
      if (b.int_like() == -1) return Value(int64_t{0});
      return Value(python_mod(a.int_like(), b.int_like()));
    }
    double r = std::fmod(a.number(), b.number());
    if (r != 0.0 && ((r < 0) != (b.number() < 0))) r += b.number();
    return Value(r);
  }
  if (op == "**") {
    if (!nums) throw unsupported();
    if (ints && b.int_like() >= 0) {
      int64_t result = 1;
      int64_t base = a.int_like();
      for (int64_t k = 0; k < b.int_like(); ++k) {
        if (__builtin_mul_overflow(result, base, &result)) throw TemplateError("integer overflow");
        if (result == 0 || result == 1) break;
        if (result == -1) {
          result = ((b.int_like() - k - 1) % 2 == 0) ? -1 : 1;
          break;
        }
      }
      return Value(result);
    }
    return Value(std::pow(a.number(), b.number()));
  }
  throw TemplateError("unknown operator '" + op + "'");
}

Value Evaluator::eval_slice(const SliceExpr& e, const ScopePtr& scope) {
  const Value object = eval(*e.object, scope);
  if (object.is_undefined()) fail_undefined(object);
  auto bound = [&](const ExprPtr& p) -> std::optional<int64_t> {
    if (!p) return std::nullopt;
    const Value v = eval(*p, scope);
    if (v.is_none()) return std::nullopt;
    return to_index(v, "slice index");
  };
  const auto start_opt = bound(e.start);
  const auto stop_opt = bound(e.stop);
  const auto step_opt = bound(e.step);
  const int64_t step = step_opt.value_or(1);
  if (step == 0) throw TemplateError("slice step cannot be zero");

  auto pick = [&](int64_t len, auto&& take) {
    // Python's slice.indices()
    auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
      if (!v) return dflt;
      int64_t x = *v;
      if (x < 0) x += len;
      if (step > 0) return std::clamp<int64_t>(x, 0, len);
      return std::clamp<int64_t>(x, -1, len - 1);
    };
    const int64_t start = clamp(start_opt, step > 0 ? 0 : len - 1);
    const int64_t stop = clamp(stop_opt, step > 0 ? len : -1);
    if (step > 0)
      for (int64_t k = start; k < stop; k += step) take(k);
    else
      for (int64_t k = start; k > stop; k += step) take(k);
  };
  if (object.is_string()) {
    const std::u32string cps = decode_utf8(object.as_string());
    std::u32string out;
    pick(static_cast<int64_t>(cps.size()), [&](int64_t k) { out.push_back(cps[static_cast<size_t>(k)]); });
    return Value(encode_utf8(out));
  }
  if (object.is_array()) {
    const Array& items = object.as_array();
    Array out;
    pick(static_cast<int64_t>(items.size()), [&](int64_t k) { out.push_back(items[static_cast<size_t>(k)]); });
    return make_array(std::move(out));
  }
  throw TemplateError("'" + type_name(object) + "' object cannot be sliced");
}

Value Evaluator::call(const Value& callee, const CallArgs& args) {
  if (callee.is_undefined()) fail_undefined(callee);
  if (!callee.is_function()) throw TemplateError("'" + type_name(callee) + "' object is not callable");
  return callee.as_function().call(args, *this);
}

Value Evaluator::get_attribute(const Value& object, const std::string& name) {
  if (object.is_undefined()) fail_undefined(object);
  if (object.is_namespace()) {
    const Value* v = object.as_namespace()->attrs.find(name);
    if (v != nullptr) return *v;
    return Value::undefined("'Namespace' object has no attribute '" + name + "'");
  }
  // jinja2 tries the Python attribute first (methods), then the item.
  if (has_method(object, name)) {
    auto fn = std::make_shared<Function>();
    fn->name = type_name(object) + "." + name;
    fn->call = [object, name](const CallArgs& args, Evaluator& ev) { return call_method(ev, object, name, args); };
    return Value(FunctionPtr(std::move(fn)));
  }
  if (object.is_dict()) {
    const Value* v = object.as_dict().find(name);
    if (v != nullptr) return *v;
  }
  return Value::undefined("'" + type_name(object) + " object' has no attribute '" + name + "'");
}

Value Evaluator::get_item(const Value& object, const Value& key) {
  if (object.is_undefined()) fail_undefined(object);
  if (object.is_dict() && key.is_string()) {
    const Value* v = object.as_dict().find(key.as_string());
    if (v != nullptr) return *v;
    return get_attribute(object, key.as_string());
  }
  if ((object.is_array() || object.is_string()) && (key.is_int() || key.is_bool())) {
    int64_t index = key.int_like();
    if (object.is_array()) {
      const auto len = static_cast<int64_t>(object.as_array().size());
      if (index < 0) index += len;
      if (index < 0 || index >= len)
        return Value::undefined("list object has no element " + std::to_string(key.int_like()));
      return object.as_array()[static_cast<size_t>(index)];
    }
    const std::u32string cps = decode_utf8(object.as_string());
    const auto len = static_cast<int64_t>(cps.size());
    if (index < 0) index += len;
    if (index < 0 || index >= len)
      return Value::undefined("str object has no element " + std::to_string(key.int_like()));
    return Value(encode_utf8(cps.substr(static_cast<size_t>(index), 1)));
  }
  if (key.is_string()) return get_attribute(object, key.as_string());
  return Value::undefined("'" + type_name(object) + " object' has no element " + repr(key));
}

Array Evaluator::iterate(const Value& value) {
  if (value.is_array()) return value.as_array();
  if (value.is_undefined()) return {};
  if (value.is_dict()) {
    Array keys;
    for (const auto& [k, v] : value.as_dict().items) keys.emplace_back(k);
    return keys;
  }
  if (value.is_string()) {
    Array chars;
    for (char32_t cp : decode_utf8(value.as_string())) {
      std::string s;
      append_utf8(s, cp);
      chars.emplace_back(std::move(s));
    }
    return chars;
  }
  throw TemplateError("'" + type_name(value) + "' object is not iterable");
}

}  // namespace forge::jinja
