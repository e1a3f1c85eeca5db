// The parsed form of a template: expression and statement nodes, each with the
// line and column it came from so that run-time errors can name them.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace forge::jinja {

struct Node {
  int line = 0;
  int column = 0;
};

enum class ExprKind {
  literal,
  name,
  list,
  dict,
  attr,
  item,
  slice,
  call,
  filter,
  test,
  unary,
  binary,
  compare,
  logical_and,
  logical_or,
  logical_not,
  cond,
};

struct Expr : Node {
  explicit Expr(ExprKind k) : kind(k) {}
  virtual ~Expr() = default;
  ExprKind kind;
};
using ExprPtr = std::unique_ptr<Expr>;

struct ArgsExpr {
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> named;
};

struct LiteralExpr : Expr {
  LiteralExpr() : Expr(ExprKind::literal) {}
  Value value;
};
struct NameExpr : Expr {
  NameExpr() : Expr(ExprKind::name) {}
  std::string name;
};
struct ListExpr : Expr {  // list and tuple displays
  ListExpr() : Expr(ExprKind::list) {}
  std::vector<ExprPtr> items;
};
struct DictExpr : Expr {
  DictExpr() : Expr(ExprKind::dict) {}
  std::vector<std::pair<ExprPtr, ExprPtr>> items;
};
struct AttrExpr : Expr {  // obj.name
  AttrExpr() : Expr(ExprKind::attr) {}
  ExprPtr object;
  std::string name;
};
struct ItemExpr : Expr {  // obj[index]
  ItemExpr() : Expr(ExprKind::item) {}
  ExprPtr object;
  ExprPtr index;
};
struct SliceExpr : Expr {  // obj[start:stop:step], any part may be absent
  SliceExpr() : Expr(ExprKind::slice) {}
  ExprPtr object, start, stop, step;
};
struct CallExpr : Expr {
  CallExpr() : Expr(ExprKind::call) {}
  ExprPtr callee;
  ArgsExpr args;
};
struct FilterExpr : Expr {  // operand | name(args); operand is null in {% filter %} and block set
  FilterExpr() : Expr(ExprKind::filter) {}
  ExprPtr operand;
  std::string name;
  ArgsExpr args;
};
struct TestExpr : Expr {  // operand is [not] name(args)
  TestExpr() : Expr(ExprKind::test) {}
  ExprPtr operand;
  std::string name;
  ArgsExpr args;
  bool negated = false;
};
struct UnaryExpr : Expr {  // -x, +x
  UnaryExpr() : Expr(ExprKind::unary) {}
  char op = '-';
  ExprPtr operand;
};
struct BinaryExpr : Expr {  // + - * / // % ** ~ ; also and / or (kind says which)
  explicit BinaryExpr(ExprKind k = ExprKind::binary) : Expr(k) {}
  std::string op;
  ExprPtr left, right;
};
struct CompareExpr : Expr {  // first op1 x1 op2 x2 ... (chained, as in Python)
  CompareExpr() : Expr(ExprKind::compare) {}
  ExprPtr first;
  std::vector<std::pair<std::string, ExprPtr>> rest;  // ==, !=, <, <=, >, >=, in, notin
};
struct NotExpr : Expr {
  NotExpr() : Expr(ExprKind::logical_not) {}
  ExprPtr operand;
};
struct CondExpr : Expr {  // then if condition else otherwise
  CondExpr() : Expr(ExprKind::cond) {}
  ExprPtr condition, then, otherwise;  // otherwise may be null (gives Undefined)
};

enum class StmtKind {
  text,
  output,
  if_,
  for_,
  set,
  set_block,
  macro,
  call_block,
  filter_block,
  with,
  break_,
  continue_,
};

struct Stmt : Node {
  explicit Stmt(StmtKind k) : kind(k) {}
  virtual ~Stmt() = default;
  StmtKind kind;
};
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct TextStmt : Stmt {
  TextStmt() : Stmt(StmtKind::text) {}
  std::string text;
};
struct OutputStmt : Stmt {
  OutputStmt() : Stmt(StmtKind::output) {}
  ExprPtr expr;
};
struct IfStmt : Stmt {
  IfStmt() : Stmt(StmtKind::if_) {}
  std::vector<std::pair<ExprPtr, Body>> branches;  // if, elif...
  Body otherwise;
};
struct ForStmt : Stmt {
  ForStmt() : Stmt(StmtKind::for_) {}
  std::vector<std::string> targets;  // one name, or several to unpack
  ExprPtr iterable;
  ExprPtr filter;  // {% for x in xs if cond %}
  Body body;
  Body otherwise;
};
// Assignment target: a name, several names (unpacking), or ns.attr.
struct SetTarget {
  std::vector<std::string> names;
  std::string attribute;  // non-empty: names[0].attribute
};
struct SetStmt : Stmt {
  SetStmt() : Stmt(StmtKind::set) {}
  SetTarget target;
  ExprPtr value;
};
struct SetBlockStmt : Stmt {
  SetBlockStmt() : Stmt(StmtKind::set_block) {}
  SetTarget target;
  std::vector<std::unique_ptr<FilterExpr>> filters;
  Body body;
};
struct MacroParam {
  std::string name;
  ExprPtr default_value;  // may be null
};
struct MacroStmt : Stmt {
  MacroStmt() : Stmt(StmtKind::macro) {}
  std::string name;
  std::vector<MacroParam> params;
  Body body;
};
struct CallBlockStmt : Stmt {
  CallBlockStmt() : Stmt(StmtKind::call_block) {}
  std::unique_ptr<CallExpr> call;
  std::vector<MacroParam> caller_params;
  Body body;
};
struct FilterBlockStmt : Stmt {
  FilterBlockStmt() : Stmt(StmtKind::filter_block) {}
  std::vector<std::unique_ptr<FilterExpr>> filters;
  Body body;
};
struct WithStmt : Stmt {
  WithStmt() : Stmt(StmtKind::with) {}
  std::vector<std::pair<std::string, ExprPtr>> assignments;
  Body body;
};
struct LoopControlStmt : Stmt {
  explicit LoopControlStmt(StmtKind k) : Stmt(k) {}
};

}  // namespace forge::jinja
