// The engine's safety contract: bad templates and hostile ones end in a
// TemplateError that names the line, never in a crash, a hang or a huge
// allocation.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tokenizer/jinja/template.h"

namespace {

using forge::jinja::RenderOptions;
using forge::jinja::Template;
using forge::jinja::TemplateError;
using Json = nlohmann::ordered_json;

// Renders and returns the error; fails the test if there is none.
TemplateError render_error(const std::string& source, const RenderOptions& options = {}) {
  try {
    Template t(source);
    const std::string out = t.render(Json::object(), options);
    ADD_FAILURE() << "expected an error, rendered " << out.size() << " bytes";
  } catch (const TemplateError& e) {
    return e;
  }
  return TemplateError("none");
}

TEST(TemplateErrors, UnclosedBlockNamesItsLine) {
  const auto e = render_error("hello\n{% if x %}\nno end");
  EXPECT_EQ(e.line(), 2);
  EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("endif"), std::string::npos) << e.what();
}

TEST(TemplateErrors, BadExpressionNamesLineAndColumn) {
  const auto e = render_error("a\nb\n{{ 1 + }}");
  EXPECT_EQ(e.line(), 3);
  EXPECT_EQ(e.column(), 8);
}

TEST(TemplateErrors, UnterminatedPieces) {
  EXPECT_EQ(render_error("x\n{{ 'abc }}").line(), 2);
  EXPECT_EQ(render_error("{# never closed").line(), 1);
  EXPECT_EQ(render_error("\n\n{{ x").line(), 3);
  EXPECT_EQ(render_error("{% raw %} no endraw").line(), 1);
  EXPECT_EQ(render_error("{{ x ) }}").line(), 1);
  EXPECT_EQ(render_error("{{ x $ y }}").line(), 1);
}

TEST(TemplateErrors, StrayAndUnknownTags) {
  EXPECT_NE(std::string(render_error("{% endfor %}").what()).find("endfor"), std::string::npos);
  EXPECT_NE(std::string(render_error("{% frobnicate %}").what()).find("unknown tag"), std::string::npos);
  EXPECT_NE(std::string(render_error("{% break %}").what()).find("outside"), std::string::npos);
}

TEST(TemplateErrors, UnsupportedFeaturesAreRefusedByName) {
  EXPECT_NE(std::string(render_error("{% include 'other.jinja' %}").what()).find("'include'"), std::string::npos);
  EXPECT_NE(std::string(render_error("{% extends 'base' %}").what()).find("'extends'"), std::string::npos);
  EXPECT_NE(std::string(render_error("{% for x in y recursive %}{% endfor %}").what()).find("recursive"),
            std::string::npos);
  const auto e = render_error("\n{{ 'x' | no_such_filter }}");
  EXPECT_EQ(e.line(), 2);
  EXPECT_NE(std::string(e.what()).find("no_such_filter"), std::string::npos);
  EXPECT_NE(std::string(render_error("{{ 1 is frob }}").what()).find("frob"), std::string::npos);
}

TEST(TemplateErrors, RuntimeErrorsNameTheLine) {
  const auto undefined_use = render_error("ok\n\n{{ missing.attr }}");
  EXPECT_EQ(undefined_use.line(), 3);
  EXPECT_NE(std::string(undefined_use.what()).find("'missing' is undefined"), std::string::npos);
  EXPECT_EQ(render_error("{{ 'a' + 1 }}").line(), 1);
  EXPECT_EQ(render_error("\n{{ 1 // 0 }}").line(), 2);
  EXPECT_EQ(render_error("{% set x = [1] %}{% set x.a = 1 %}").line(), 1);
  EXPECT_NE(std::string(render_error("{% set l = [1] %}{{ l.append(2) }}").what()).find("modify"), std::string::npos);
}

TEST(TemplateErrors, RaiseExceptionCarriesTheTemplateMessage) {
  const auto e = render_error("{{ raise_exception('roles must alternate') }}");
  EXPECT_NE(std::string(e.what()).find("roles must alternate"), std::string::npos);
}

TEST(TemplateLimits, InfiniteMacroRecursionIsStopped) {
  const auto e = render_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}\n{{ f(0) }}");
  EXPECT_NE(std::string(e.what()).find("recursion"), std::string::npos) << e.what();
}

TEST(TemplateLimits, MutualRecursionIsStopped) {
  const auto e = render_error("{% macro a() %}{{ b() }}{% endmacro %}{% macro b() %}{{ a() }}{% endmacro %}{{ a() }}");
  EXPECT_NE(std::string(e.what()).find("recursion"), std::string::npos) << e.what();
}

TEST(TemplateLimits, OutputIsBounded) {
  const auto e = render_error("{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}");
  EXPECT_NE(std::string(e.what()).find("1048576 bytes"), std::string::npos) << e.what();
  RenderOptions small;
  small.limits.max_output_bytes = 10;
  EXPECT_NE(std::string(render_error("{{ 'a' * 11 }}", small).what()).find("10 bytes"), std::string::npos);
}

TEST(TemplateLimits, StringDoublingIsBounded) {
  render_error("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}");
  render_error("{{ 'x' * 9223372036854775807 }}");
}

TEST(TemplateLimits, LoopsAreBounded) {
  RenderOptions options;
  options.limits.max_steps = 100000;
  const auto e = render_error("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}", options);
  EXPECT_NE(std::string(e.what()).find("loop iterations"), std::string::npos) << e.what();
  EXPECT_NE(std::string(render_error("{{ range(1000000000000)|length }}").what()).find("limit"), std::string::npos);
  render_error("{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}");
}

TEST(TemplateLimits, DeepNestingIsRefusedNotACrash) {
  render_error("{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}");
  render_error("{{ " + std::string(100000, '[') + std::string(100000, ']') + " }}");
  std::string nested_ifs;
  for (int i = 0; i < 5000; ++i) nested_ifs += "{% if true %}";
  render_error(nested_ifs);
  render_error("{% set ns = namespace(l=[]) %}{% for i in range(100000) %}{% set ns.l = [ns.l] %}{% endfor %}");
  render_error("{{ " + std::string(100000, '-') + "1 }}");
  render_error("{{ x" + std::string(50000, '|') + " }}");
}

TEST(TemplateLimits, SelfReferencingNamespaceDoesNotHang) {
  Template t("{% set ns = namespace() %}{% set ns.self = ns %}{{ ns.self.self is defined }}{{ ns }}");
  EXPECT_EQ(t.render(Json::object()), "True<Namespace>");
}

TEST(TemplateLimits, InvalidUtf8InTemplateAndDataIsHarmless) {
  Template t(std::string("\xff{{ x[::-1] }}\xc3"));
  Json vars;
  vars["x"] = "ab";
  EXPECT_EQ(t.render(vars),
            "\xff"
            "ba\xc3");
}

}  // namespace
