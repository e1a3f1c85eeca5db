#include "tokenizer/jinja/parser.h"

#include <algorithm>
#include <initializer_list>
#include <string_view>

#include "tokenizer/jinja/template_error.h"

namespace forge::jinja {

namespace {

// Deeper nesting than this (brackets, nested blocks) is refused so that the
// recursive parser and evaluator stay far from the stack limit.
constexpr int kMaxParseDepth = 128;

const char* describe(TokenKind kind) {
  switch (kind) {
    case TokenKind::text:
      return "template text";
    case TokenKind::var_begin:
      return "'{{'";
    case TokenKind::var_end:
      return "'}}'";
    case TokenKind::block_begin:
      return "'{%'";
    case TokenKind::block_end:
      return "'%}'";
    case TokenKind::name:
      return "name";
    case TokenKind::string:
      return "string";
    case TokenKind::integer:
      return "integer";
    case TokenKind::floating:
      return "float";
    case TokenKind::op:
      return "operator";
    case TokenKind::eof:
      return "end of template";
  }
  return "token";
}

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : toks_(tokens) {}

  Body parse() {
    std::string end;
    Body body = parse_body({}, end, nullptr);
    return body;
  }

 private:
  struct DepthGuard {
    explicit DepthGuard(Parser& p) : parser(p) {
      if (++parser.depth_ > kMaxParseDepth)
        parser.fail(parser.cur(), "template nested deeper than " + std::to_string(kMaxParseDepth) + " levels");
    }
    ~DepthGuard() { --parser.depth_; }
    Parser& parser;
  };

  const Token& cur() const { return toks_[std::min(pos_, toks_.size() - 1)]; }
  const Token& peek(size_t ahead = 1) const { return toks_[std::min(pos_ + ahead, toks_.size() - 1)]; }
  const Token& next() {
    const Token& t = cur();
    if (pos_ < toks_.size() - 1) ++pos_;
    return t;
  }

  [[noreturn]] void fail(const Token& at, const std::string& message) const {
    throw TemplateError(message, at.line, at.column);
  }

  static std::string show(const Token& t) {
    if (t.kind == TokenKind::name || t.kind == TokenKind::op) return "'" + t.text + "'";
    return describe(t.kind);
  }

  bool is_op(std::string_view op, const Token& t) const { return t.kind == TokenKind::op && t.text == op; }
  bool is_op(std::string_view op) const { return is_op(op, cur()); }
  bool is_name(std::string_view name, const Token& t) const { return t.kind == TokenKind::name && t.text == name; }
  bool is_name(std::string_view name) const { return is_name(name, cur()); }

  void expect_op(std::string_view op) {
    if (!is_op(op)) fail(cur(), "expected '" + std::string(op) + "', found " + show(cur()));
    next();
  }
  std::string expect_name(const char* what) {
    if (cur().kind != TokenKind::name) fail(cur(), std::string("expected ") + what + ", found " + show(cur()));
    return next().text;
  }
  void expect_block_end(const char* tag) {
    if (cur().kind != TokenKind::block_end)
      fail(cur(), std::string("expected '%}' to end the '") + tag + "' tag, found " + show(cur()));
    next();
  }

  template <typename T>
  std::unique_ptr<T> node(const Token& at) {
    auto n = std::make_unique<T>();
    n->line = at.line;
    n->column = at.column;
    return n;
  }

  // ---- statements ---------------------------------------------------------

  // Parses until a block tag whose keyword is in `ends` (consumed: "{%" and the
  // keyword; the caller reads the rest of that tag). `opener` names the tag
  // whose end we wait for, for the error at end of input.
  Body parse_body(std::initializer_list<std::string_view> ends, std::string& found, const Token* opener) {
    DepthGuard guard(*this);
    Body body;
    while (true) {
      const Token& t = cur();
      if (t.kind == TokenKind::eof) {
        if (ends.size() == 0) return body;
        fail(*opener,
             "'" + opener->text + "' tag opened here is never closed (expected '" +
                 std::string(*ends.begin() == "else" || *ends.begin() == "elif" ? *(ends.end() - 1) : *ends.begin()) +
                 "')");
      }
      if (t.kind == TokenKind::text) {
        auto s = node<TextStmt>(t);
        s->text = t.text;
        next();
        body.push_back(std::move(s));
      } else if (t.kind == TokenKind::var_begin) {
        next();
        auto s = node<OutputStmt>(t);
        s->expr = parse_expression();
        if (cur().kind != TokenKind::var_end) fail(cur(), "expected '}}', found " + show(cur()));
        next();
        body.push_back(std::move(s));
      } else if (t.kind == TokenKind::block_begin) {
        const Token& keyword = peek();
        if (keyword.kind == TokenKind::name &&
            std::find(ends.begin(), ends.end(), std::string_view(keyword.text)) != ends.end()) {
          next();
          found = next().text;
          return body;
        }
        next();
        body.push_back(parse_statement());
      } else {
        fail(t, "unexpected " + show(t));
      }
    }
  }

  StmtPtr parse_statement() {
    const Token& kw = cur();
    if (kw.kind != TokenKind::name) fail(kw, "expected a tag name after '{%', found " + show(kw));
    const std::string& k = kw.text;
    if (k == "if") return parse_if();
    if (k == "for") return parse_for();
    if (k == "set") return parse_set();
    if (k == "macro") return parse_macro();
    if (k == "call") return parse_call_block();
    if (k == "filter") return parse_filter_block();
    if (k == "with") return parse_with();
    if (k == "break" || k == "continue") {
      if (loop_depth_ == 0) fail(kw, "'" + k + "' outside of a for loop");
      auto s = std::make_unique<LoopControlStmt>(k == "break" ? StmtKind::break_ : StmtKind::continue_);
      s->line = kw.line;
      s->column = kw.column;
      next();
      expect_block_end(k == "break" ? "break" : "continue");
      return s;
    }
    static const char* const kRefused[] = {"extends",    "block",      "include", "import",    "from",   "do",
                                           "autoescape", "generation", "trans",   "pluralize", "sandbox"};
    for (const char* r : kRefused)
      if (k == r) fail(kw, "the '" + k + "' tag is not supported by this template engine (see docs/chat-templates.md)");
    if (k.rfind("end", 0) == 0 || k == "else" || k == "elif")
      fail(kw, "unexpected '" + k + "' (no open block it could close)");
    fail(kw, "unknown tag '" + k + "'");
  }

  StmtPtr parse_if() {
    const Token& opener = next();
    auto s = node<IfStmt>(opener);
    ExprPtr cond = parse_expression();
    expect_block_end("if");
    while (true) {
      std::string found;
      Body body = parse_body({"elif", "else", "endif"}, found, &opener);
      s->branches.emplace_back(std::move(cond), std::move(body));
      if (found == "elif") {
        cond = parse_expression();
        expect_block_end("elif");
        continue;
      }
      if (found == "else") {
        expect_block_end("else");
        std::string end;
        s->otherwise = parse_body({"endif"}, end, &opener);
      }
      expect_block_end("endif");
      return s;
    }
  }

  std::vector<std::string> parse_target_names() {
    std::vector<std::string> names;
    const bool parens = is_op("(");
    if (parens) next();
    names.push_back(expect_name("a variable name"));
    while (is_op(",")) {
      next();
      if (cur().kind != TokenKind::name) break;  // trailing comma
      names.push_back(next().text);
    }
    if (parens) expect_op(")");
    return names;
  }

  StmtPtr parse_for() {
    const Token& opener = next();
    auto s = node<ForStmt>(opener);
    s->targets = parse_target_names();
    if (!is_name("in")) fail(cur(), "expected 'in' in for loop, found " + show(cur()));
    next();
    s->iterable = parse_tuple_or_expression(false);
    if (is_name("if")) {
      next();
      s->filter = parse_expression();
    }
    if (is_name("recursive")) fail(cur(), "recursive for loops are not supported by this template engine");
    expect_block_end("for");
    ++loop_depth_;
    std::string found;
    s->body = parse_body({"else", "endfor"}, found, &opener);
    --loop_depth_;
    if (found == "else") {
      expect_block_end("else");
      std::string end;
      s->otherwise = parse_body({"endfor"}, end, &opener);
    }
    expect_block_end("endfor");
    return s;
  }

  SetTarget parse_set_target() {
    SetTarget target;
    target.names.push_back(expect_name("a variable name"));
    if (is_op(".")) {
      next();
      target.attribute = expect_name("an attribute name");
      return target;
    }
    while (is_op(",")) {
      next();
      if (cur().kind != TokenKind::name) break;
      target.names.push_back(next().text);
    }
    return target;
  }

  StmtPtr parse_set() {
    const Token& opener = next();
    SetTarget target = parse_set_target();
    if (is_op("=")) {
      next();
      auto s = node<SetStmt>(opener);
      s->target = std::move(target);
      s->value = parse_tuple_or_expression(true);
      expect_block_end("set");
      return s;
    }
    auto s = node<SetBlockStmt>(opener);
    if (target.names.size() > 1) fail(opener, "a block set assigns to a single name");
    s->target = std::move(target);
    while (is_op("|")) {
      next();
      s->filters.push_back(parse_filter(nullptr));
    }
    expect_block_end("set");
    const int saved = loop_depth_;
    loop_depth_ = 0;
    std::string end;
    s->body = parse_body({"endset"}, end, &opener);
    loop_depth_ = saved;
    expect_block_end("endset");
    return s;
  }

  std::vector<MacroParam> parse_params() {
    std::vector<MacroParam> params;
    expect_op("(");
    while (!is_op(")")) {
      MacroParam p;
      p.name = expect_name("a parameter name");
      if (is_op("=")) {
        next();
        p.default_value = parse_expression();
      }
      params.push_back(std::move(p));
      if (!is_op(",")) break;
      next();
    }
    expect_op(")");
    return params;
  }

  StmtPtr parse_macro() {
    const Token& opener = next();
    auto s = node<MacroStmt>(opener);
    s->name = expect_name("a macro name");
    s->params = parse_params();
    expect_block_end("macro");
    const int saved = loop_depth_;
    loop_depth_ = 0;
    std::string end;
    s->body = parse_body({"endmacro"}, end, &opener);
    loop_depth_ = saved;
    if (cur().kind == TokenKind::name) next();  // {% endmacro name %}
    expect_block_end("endmacro");
    return s;
  }

  StmtPtr parse_call_block() {
    const Token& opener = next();
    auto s = node<CallBlockStmt>(opener);
    if (is_op("(")) s->caller_params = parse_params();
    ExprPtr call = parse_expression();
    if (call->kind != ExprKind::call) fail(opener, "'call' needs a macro call, like {% call m(x) %}");
    s->call.reset(static_cast<CallExpr*>(call.release()));
    expect_block_end("call");
    const int saved = loop_depth_;
    loop_depth_ = 0;
    std::string end;
    s->body = parse_body({"endcall"}, end, &opener);
    loop_depth_ = saved;
    expect_block_end("endcall");
    return s;
  }

  StmtPtr parse_filter_block() {
    const Token& opener = next();
    auto s = node<FilterBlockStmt>(opener);
    s->filters.push_back(parse_filter(nullptr));
    while (is_op("|")) {
      next();
      s->filters.push_back(parse_filter(nullptr));
    }
    expect_block_end("filter");
    std::string end;
    s->body = parse_body({"endfilter"}, end, &opener);
    expect_block_end("endfilter");
    return s;
  }

  StmtPtr parse_with() {
    const Token& opener = next();
    auto s = node<WithStmt>(opener);
    while (cur().kind != TokenKind::block_end) {
      std::string name = expect_name("a variable name");
      expect_op("=");
      s->assignments.emplace_back(std::move(name), parse_expression());
      if (!is_op(",")) break;
      next();
    }
    expect_block_end("with");
    std::string end;
    s->body = parse_body({"endwith"}, end, &opener);
    expect_block_end("endwith");
    return s;
  }

  // ---- expressions (lowest precedence first, as in Jinja) -----------------

  // `a, b` without brackets builds a tuple (set values and for iterables).
  ExprPtr parse_tuple_or_expression(bool with_condexpr) {
    const Token& start = cur();
    ExprPtr first = with_condexpr ? parse_expression() : parse_or();
    if (!is_op(",")) return first;
    auto list = node<ListExpr>(start);
    list->items.push_back(std::move(first));
    while (is_op(",")) {
      next();
      if (cur().kind == TokenKind::block_end || is_name("if")) break;
      list->items.push_back(with_condexpr ? parse_expression() : parse_or());
    }
    return list;
  }

  ExprPtr parse_expression() {
    DepthGuard guard(*this);
    ExprPtr expr = parse_or();
    while (is_name("if")) {
      const Token& at = next();
      auto c = node<CondExpr>(at);
      c->condition = parse_or();
      if (is_name("else")) {
        next();
        c->otherwise = parse_expression();
      }
      c->then = std::move(expr);
      expr = std::move(c);
    }
    return expr;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      const Token& at = next();
      auto b = node<BinaryExpr>(at);
      b->kind = ExprKind::logical_or;
      b->op = "or";
      b->left = std::move(left);
      b->right = parse_and();
      left = std::move(b);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      const Token& at = next();
      auto b = node<BinaryExpr>(at);
      b->kind = ExprKind::logical_and;
      b->op = "and";
      b->left = std::move(left);
      b->right = parse_not();
      left = std::move(b);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this);
      const Token& at = next();
      auto n = node<NotExpr>(at);
      n->operand = parse_not();
      return n;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const Token& start = cur();
    ExprPtr first = parse_math1();
    std::unique_ptr<CompareExpr> cmp;
    while (true) {
      std::string op;
      if (cur().kind == TokenKind::op && (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                                          cur().text == "<=" || cur().text == ">" || cur().text == ">=")) {
        op = next().text;
      } else if (is_name("in")) {
        next();
        op = "in";
      } else if (is_name("not") && is_name("in", peek())) {
        next();
        next();
        op = "notin";
      } else {
        break;
      }
      if (!cmp) {
        cmp = node<CompareExpr>(start);
        cmp->first = std::move(first);
      }
      cmp->rest.emplace_back(op, parse_math1());
    }
    if (cmp) return cmp;
    return first;
  }

  ExprPtr binary(const Token& at, std::string op, ExprPtr left, ExprPtr right) {
    auto b = node<BinaryExpr>(at);
    b->op = std::move(op);
    b->left = std::move(left);
    b->right = std::move(right);
    return b;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& at = next();
      left = binary(at, at.text, std::move(left), parse_concat());
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      const Token& at = next();
      left = binary(at, "~", std::move(left), parse_math2());
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& at = next();
      left = binary(at, at.text, std::move(left), parse_pow());
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      const Token& at = next();
      left = binary(at, "**", std::move(left), parse_unary(true));
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr expr;
    if (is_op("-") || is_op("+")) {
      const Token& at = next();
      auto u = node<UnaryExpr>(at);
      u->op = at.text[0];
      u->operand = parse_unary(false);
      expr = std::move(u);
    } else {
      expr = parse_primary();
    }
    expr = parse_postfix(std::move(expr));
    if (with_filter) expr = parse_filter_chain(std::move(expr));
    return expr;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    switch (t.kind) {
      case TokenKind::name: {
        next();
        auto lit = node<LiteralExpr>(t);
        if (t.text == "true" || t.text == "True") {
          lit->value = Value(true);
        } else if (t.text == "false" || t.text == "False") {
          lit->value = Value(false);
        } else if (t.text == "none" || t.text == "None") {
          lit->value = Value::none();
        } else {
          auto n = node<NameExpr>(t);
          n->name = t.text;
          return n;
        }
        return lit;
      }
      case TokenKind::string: {
        std::string text;
        while (cur().kind == TokenKind::string) text += next().text;  // adjacent literals join
        auto lit = node<LiteralExpr>(t);
        lit->value = Value(std::move(text));
        return lit;
      }
      case TokenKind::integer: {
        next();
        auto lit = node<LiteralExpr>(t);
        lit->value = Value(t.int_value);
        return lit;
      }
      case TokenKind::floating: {
        next();
        auto lit = node<LiteralExpr>(t);
        lit->value = Value(t.float_value);
        return lit;
      }
      case TokenKind::op:
        if (t.text == "(") {
          next();
          if (is_op(")")) {
            next();
            return node<ListExpr>(t);  // empty tuple
          }
          ExprPtr inner = parse_expression();
          if (is_op(",")) {
            auto list = node<ListExpr>(t);
            list->items.push_back(std::move(inner));
            while (is_op(",")) {
              next();
              if (is_op(")")) break;
              list->items.push_back(parse_expression());
            }
            inner = std::move(list);
          }
          expect_op(")");
          return inner;
        }
        if (t.text == "[") {
          next();
          auto list = node<ListExpr>(t);
          while (!is_op("]")) {
            list->items.push_back(parse_expression());
            if (!is_op(",")) break;
            next();
          }
          expect_op("]");
          return list;
        }
        if (t.text == "{") {
          next();
          auto dict = node<DictExpr>(t);
          while (!is_op("}")) {
            ExprPtr key = parse_expression();
            expect_op(":");
            dict->items.emplace_back(std::move(key), parse_expression());
            if (!is_op(",")) break;
            next();
          }
          expect_op("}");
          return dict;
        }
        break;
      default:
        break;
    }
    fail(t, "unexpected " + show(t) + " in expression");
  }

  ExprPtr parse_postfix(ExprPtr expr) {
    while (true) {
      const Token& t = cur();
      if (is_op(".")) {
        next();
        if (cur().kind == TokenKind::name) {
          auto a = node<AttrExpr>(t);
          a->object = std::move(expr);
          a->name = next().text;
          expr = std::move(a);
        } else if (cur().kind == TokenKind::integer) {
          auto item = node<ItemExpr>(t);
          auto lit = node<LiteralExpr>(cur());
          lit->value = Value(next().int_value);
          item->object = std::move(expr);
          item->index = std::move(lit);
          expr = std::move(item);
        } else {
          fail(cur(), "expected an attribute name after '.', found " + show(cur()));
        }
      } else if (is_op("[")) {
        next();
        expr = parse_subscript(t, std::move(expr));
      } else if (is_op("(")) {
        expr = parse_call(std::move(expr));
      } else {
        return expr;
      }
    }
  }

  ExprPtr parse_subscript(const Token& at, ExprPtr object) {
    ExprPtr parts[3];
    int colons = 0;
    while (!is_op("]")) {
      if (is_op(":")) {
        if (++colons > 2) fail(cur(), "a slice has at most two ':'");
        next();
        continue;
      }
      if (parts[colons]) fail(cur(), "expected ']' or ':' in subscript, found " + show(cur()));
      parts[colons] = parse_expression();
      if (is_op(",")) fail(cur(), "tuple subscripts are not supported");
    }
    expect_op("]");
    if (colons == 0) {
      if (!parts[0]) fail(at, "empty subscript '[]'");
      auto item = node<ItemExpr>(at);
      item->object = std::move(object);
      item->index = std::move(parts[0]);
      return item;
    }
    auto slice = node<SliceExpr>(at);
    slice->object = std::move(object);
    slice->start = std::move(parts[0]);
    slice->stop = std::move(parts[1]);
    slice->step = std::move(parts[2]);
    return slice;
  }

  ArgsExpr parse_args() {
    ArgsExpr args;
    expect_op("(");
    while (!is_op(")")) {
      if (is_op("*") || is_op("**")) fail(cur(), "'*args' / '**kwargs' in calls are not supported");
      if (cur().kind == TokenKind::name && is_op("=", peek())) {
        std::string name = next().text;
        next();
        args.named.emplace_back(std::move(name), parse_expression());
      } else {
        if (!args.named.empty()) fail(cur(), "positional argument follows keyword argument");
        args.positional.push_back(parse_expression());
      }
      if (!is_op(",")) break;
      next();
    }
    expect_op(")");
    return args;
  }

  ExprPtr parse_call(ExprPtr callee) {
    DepthGuard guard(*this);
    auto call = node<CallExpr>(cur());
    call->callee = std::move(callee);
    call->args = parse_args();
    return call;
  }

  std::unique_ptr<FilterExpr> parse_filter(ExprPtr operand) {
    const Token& at = cur();
    auto f = node<FilterExpr>(at);
    f->operand = std::move(operand);
    f->name = expect_name("a filter name");
    while (is_op(".")) {
      next();
      f->name += "." + expect_name("a filter name");
    }
    if (is_op("(")) f->args = parse_args();
    return f;
  }

  ExprPtr parse_filter_chain(ExprPtr expr) {
    while (true) {
      if (is_op("|")) {
        next();
        expr = parse_filter(std::move(expr));
      } else if (is_name("is")) {
        expr = parse_test(std::move(expr));
      } else if (is_op("(")) {
        expr = parse_call(std::move(expr));
      } else {
        return expr;
      }
    }
  }

  ExprPtr parse_test(ExprPtr operand) {
    const Token& at = next();  // 'is'
    auto t = node<TestExpr>(at);
    t->operand = std::move(operand);
    if (is_name("not")) {
      next();
      t->negated = true;
    }
    t->name = expect_name("a test name");
    const Token& c = cur();
    if (is_op("(")) {
      t->args = parse_args();
    } else if ((c.kind == TokenKind::name || c.kind == TokenKind::string || c.kind == TokenKind::integer ||
                c.kind == TokenKind::floating || is_op("[") || is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is")) fail(c, "tests cannot be chained with 'is'");
      DepthGuard guard(*this);
      t->args.positional.push_back(parse_postfix(parse_primary()));
    }
    return t;
  }

  const std::vector<Token>& toks_;
  size_t pos_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Body parse_template(const std::vector<Token>& tokens) {
  return Parser(tokens).parse();
}

}  // namespace forge::jinja
