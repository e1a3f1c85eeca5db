// Behaviour of the Jinja subset, case by case. Expected strings are what
// Python's jinja2 3.1 prints for the same template (the reference the chat
// template cases were made with), worked out from its documented semantics.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tokenizer/jinja/template.h"

namespace {

using forge::jinja::RenderOptions;
using forge::jinja::Template;
using Json = nlohmann::ordered_json;

std::string render(const std::string& source, const Json& vars = Json::object(), const RenderOptions& options = {}) {
  return Template(source).render(vars, options);
}

TEST(JinjaWhitespace, TrimAndLstripBlocksAsTransformersSetsThem) {
  EXPECT_EQ(render("  {% if true %}\nX\n  {% endif %}\nY"), "X\nY");
  EXPECT_EQ(render("a  {%- if true -%}  b  {%- endif -%}  c"), "abc");
  EXPECT_EQ(render("a {{- 'b' -}} c"), "abc");
  EXPECT_EQ(render("  {{ 'v' }}\n"), "  v");  // lstrip does not touch {{ }}; trailing newline dropped
  EXPECT_EQ(render("x\n  {#- c #}\ny"), "xy");
  EXPECT_EQ(render("{# c #}\nz"), "z");  // trim_blocks also applies after comments
  EXPECT_EQ(render("  {%+ if true %}a{% endif %}"), "  a");
  EXPECT_EQ(render("{% if true +%}\na{% endif %}"), "\na");
  EXPECT_EQ(render("{% raw %}{{ x }}{% endraw %}"), "{{ x }}");
  EXPECT_EQ(render("line\n\n"), "line\n");
}

TEST(JinjaLiterals, NumbersStringsAndContainers) {
  EXPECT_EQ(render("{{ 1.0 }} {{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1e-5 }} {{ 2.5e3 }}"),
            "1.0 0.30000000000000004 1e+16 1e-05 2500.0");
  EXPECT_EQ(render(R"({{ "a\tb\u00e9\x41" }}|{{ 'it''s' }}|{{ 'q\'' }})"),
            "a\tb\xc3\xa9"
            "A|its|q'");
  EXPECT_EQ(render("{{ [1, 'a', none, true, 2.0] }}"), "[1, 'a', None, True, 2.0]");
  EXPECT_EQ(render("{{ {'k': \"it's\"} }}"), "{'k': \"it's\"}");
  EXPECT_EQ(render("{{ (1, 2) }}{{ True }}{{ None }}"), "[1, 2]TrueNone");
}

TEST(JinjaOperators, ArithmeticLikePython) {
  EXPECT_EQ(render("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % -3 }} {{ 2 ** 10 }} {{ 7 / 2 }} {{ 4 / 2 }}"),
            "3 -4 -2 1024 3.5 2.0");
  EXPECT_EQ(render("{{ 1 ~ 'a' ~ none }}{{ 'ab' * 2 }}{{ [1] + [2] }}{{ -3 }}"), "1aNoneabab[1, 2]-3");
  EXPECT_EQ(render("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 'a' + 'b' ~ 'c' }}"), "7 9 abc");
  EXPECT_EQ(render("{{ 1 < 2 < 3 }}{{ 1 == 1.0 }}{{ true == 1 }}{{ '' != false }}{{ 'a' < 'b' }}"),
            "TrueTrueTrueTrueTrue");
  EXPECT_EQ(render("{{ 'b' in 'abc' }}{{ 2 not in [1] }}{{ 'k' in {'k': 1} }}{{ not 0 }}"), "TrueTrueTrueTrue");
  EXPECT_EQ(render("{{ 0 or 'x' }}{{ 'y' and 3 }}{{ 'a' if 0 else 'b' }}[{{ 'a' if 0 }}]"), "x3b[]");
  EXPECT_EQ(render("{{ '%s-%d'|format('a', 3) }}{{ '%05.1f' % 3.14159 }}"), "a-3003.1");
}

TEST(JinjaSubscripts, IndexingAndSlicing) {
  EXPECT_EQ(render("{{ 'abc'[::-1] }} {{ [1,2,3][1:] }} {{ [1,2,3][-1] }} {{ 'hello'[1:4] }}"), "cba [2, 3] 3 ell");
  EXPECT_EQ(render("{{ [1,2,3,4,5][::2] }} {{ [1,2,3,4,5][4:0:-2] }} {{ 'h\xc3\xa9llo'[1] }}"),
            "[1, 3, 5] [5, 3] \xc3\xa9");
  EXPECT_EQ(render("{{ [1][5] is defined }}{{ {'a': 1}['b'] is defined }}{{ {'a': {'b': 2}}.a.b }}"), "FalseFalse2");
}

TEST(JinjaLoops, LoopVariablesElseFilterAndControls) {
  EXPECT_EQ(render("{% for x in 'ab' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}"
                   "{{ loop.last }}{{ loop.length }};{% endfor %}"),
            "102TrueFalse2;211FalseTrue2;");
  EXPECT_EQ(render("{% for x in [] %}a{% else %}b{% endfor %}"), "b");
  EXPECT_EQ(render("{% for k, v in {'a': 1, 'b': 2, 'c': 3}.items() if k != 'a' %}{{ k }}={{ v }}{{ ',' if not "
                   "loop.last }}{% endfor %}"),
            "b=2,c=3");
  EXPECT_EQ(render("{% for k in {'x': 1, 'y': 2} %}{{ k }}{% endfor %}"), "xy");
  EXPECT_EQ(render("{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 4 %}{% break %}{% endif "
                   "%}{{ i }}{% endfor %}"),
            "013");
  EXPECT_EQ(render("{% for i in range(3) %}{{ loop.cycle('a', 'b') }}{{ loop.previtem is defined }}{% endfor %}"),
            "aFalsebTrueaTrue");
  EXPECT_EQ(render("{% for x in nothing %}a{% endfor %}ok"), "ok");
}

TEST(JinjaScopes, SetNamespaceAndLoopScope) {
  EXPECT_EQ(render("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}"), "1");
  EXPECT_EQ(render("{% set x = 1 %}{% if true %}{% set x = 2 %}{% endif %}{{ x }}"), "2");
  EXPECT_EQ(
      render("{% set ns = namespace(n=0) %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}"),
      "6");
  EXPECT_EQ(render("{% set a, b = [1, 2] %}{{ b }}{{ a }}"), "21");
  EXPECT_EQ(render("{% set block | upper %}hi {{ 'there' }}{% endset %}{{ block }}"), "HI THERE");
  EXPECT_EQ(render("{% with y = 5 %}{{ y }}{% endwith %}[{{ y }}]"), "5[]");
}

TEST(JinjaMacros, DefaultsKeywordsAndCall) {
  EXPECT_EQ(render("{% macro m(a, b='x') %}{{ a }}{{ b }}{% endmacro %}{{ m(1) }}{{ m(1, b=2) }}{{ m(b=3, a=4) }}"),
            "1x1243");
  EXPECT_EQ(render("{% macro w(t) %}<{{ t }}:{{ caller() }}>{% endmacro %}{% call w('p') %}in{% endcall %}"), "<p:in>");
  EXPECT_EQ(render("{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}{{ "
                   "fact(5) }}"),
            "120");
}

TEST(JinjaFilters, StringFilters) {
  EXPECT_EQ(render("[{{ '  a b \n'|trim }}][{{ 'xxhixx'|trim('x') }}]"), "[a b][hi]");
  EXPECT_EQ(render("{{ 'hello wORLD'|title }} {{ 'hELLO'|capitalize }} {{ 'Ab'|upper }}{{ 'Ab'|lower }}"),
            "Hello World Hello ABab");
  EXPECT_EQ(render("{{ 'aaa'|replace('a', 'b', 2) }} {{ 'a b  c'|wordcount }} {{ 'x'|string }}{{ 12|string|length }}"),
            "bba 3 x2");
  EXPECT_EQ(render("{{ 'a\nb\n\nc'|indent(2) }}|{{ 'a\nb'|indent(2, true) }}"), "a\n  b\n\n  c|  a\n  b");
  EXPECT_EQ(render("{{ '<a&b>'|e }}{{ '<x>'|safe }}"), "&lt;a&amp;b&gt;<x>");
}

TEST(JinjaFilters, SequenceFilters) {
  const Json vars = Json::parse(R"({"msgs": [{"role": "system", "content": "s"}, {"role": "user", "content": "u1"},
                                              {"role": "user", "content": "u2", "x": 1}]})");
  EXPECT_EQ(render("{{ msgs|selectattr('role', 'equalto', 'user')|map(attribute='content')|join('|') }}", vars),
            "u1|u2");
  EXPECT_EQ(
      render("{{ msgs|rejectattr('role', 'eq', 'user')|list|length }}{{ msgs|selectattr('x')|list|length }}", vars),
      "11");
  EXPECT_EQ(render("{{ [3, 1, 2]|sort|join(',') }} {{ [3, 1, 2]|sort(reverse=true)|first }} {{ [1, 2, 2, 'A', "
                   "'a']|unique|list }}"),
            "1,2,3 3 [1, 2, 'A']");
  EXPECT_EQ(render("{{ [1, 2, 3]|sum }} {{ [1, 5, 2]|max }} {{ [1, 5, 2]|min }} {{ [1, 2]|last }} {{ 'abc'|list }} {{ "
                   "[1, 2]|reverse|list }}"),
            "6 5 1 2 ['a', 'b', 'c'] [2, 1]");
  EXPECT_EQ(render("{{ {'b': 1, 'a': 2}|items|list }} {{ {'b': 1, 'a': 2}|dictsort }}"),
            "[['b', 1], ['a', 2]] [['a', 2], ['b', 1]]");
  EXPECT_EQ(
      render(
          "{{ ['a', 'b']|map('upper')|join }} {{ [1, 2, 3, 4]|select('even')|list }} {{ [1, 2]|reject('odd')|list }}"),
      "AB [2, 4] [2]");
  EXPECT_EQ(render("{{ undefined_thing|length }}{{ undefined_thing|default('d') }}{{ none|default('d') }}{{ "
                   "''|default('d', true) }}"),
            "0dNoned");
  EXPECT_EQ(render("{{ '3'|int + 1 }} {{ '2.5'|float }} {{ 'x'|int }} {{ 3.7|int }} {{ 2.5|round }} {{ "
                   "3.14159|round(2) }} {{ -3|abs }}"),
            "4 2.5 0 3 2.0 3.14 3");
}

TEST(JinjaFilters, ToJsonLikeTransformers) {
  EXPECT_EQ(render(R"({{ {'a': [1, 2.5, none, true], 'b': 'é"\n'}|tojson }})"),
            "{\"a\": [1, 2.5, null, true], \"b\": \"\xc3\xa9\\\"\\n\"}");
  EXPECT_EQ(render("{{ {'a': [1, {}], 'b': []}|tojson(indent=2) }}"),
            "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}");
  EXPECT_EQ(render("{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }}{{ [1,2]|tojson(separators=[',', ':']) }}"),
            "{\"a\": 2, \"b\": 1}[1,2]");
  const Json vars = Json::parse(R"({"d": {"z": 1, "a": {"y": "°C", "b": [true, 1.5e300]}}})");
  EXPECT_EQ(render("{{ d|tojson }}", vars), "{\"z\": 1, \"a\": {\"y\": \"°C\", \"b\": [true, 1.5e+300]}}");
}

TEST(JinjaTests, IsTests) {
  EXPECT_EQ(render("{{ 3 is odd }}{{ 4 is divisibleby 2 }}{{ 'a' is string }}{{ none is none }}{{ x is defined }}"),
            "TrueTrueTrueTrueFalse");
  EXPECT_EQ(
      render("{{ {} is mapping }}{{ 'a' is iterable }}{{ 1 is iterable }}{{ [] is sequence }}{{ true is boolean }}"),
      "TrueTrueFalseTrueTrue");
  EXPECT_EQ(render("{{ 1 is number }}{{ 1.5 is float }}{{ 1 is integer }}{{ true is number }}{{ x is undefined }}"),
            "TrueTrueTrueTrueTrue");
  EXPECT_EQ(render("{{ false is false }}{{ 0 is false }}{{ 2 is in [1, 2] }}{{ 'a' is ne 'b' }}{{ 1 is not none }}"),
            "TrueFalseTrueTrueTrue");
  EXPECT_EQ(render("{{ 'abc' is lower }}{{ 'ABC' is upper }}{{ range is callable }}"), "TrueTrueTrue");
}

TEST(JinjaMethods, StringAndDictMethods) {
  EXPECT_EQ(
      render(
          "{{ 'a,b,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }}"),
      "['a', 'b', 'c'] ['a', 'b'] ['a', 'b,c'] ['a,b', 'c']");
  EXPECT_EQ(render("[{{ '  x '.strip() }}][{{ '\nx\n'.lstrip('\n') }}][{{ 'xy'.rstrip('y') }}]"), "[x][x\n][x]");
  EXPECT_EQ(
      render("{{ 'Hi'.startswith('H') }}{{ 'Hi'.endswith(('x', 'i')) }}{{ 'ab'.upper() }}{{ 'hi there'.title() }}"),
      "TrueTrueABHi There");
  EXPECT_EQ(
      render("{{ 'a-b'.replace('-', '+') }} {{ 'abcb'.find('b') }} {{ 'abcb'.count('b') }} {{ '-'.join(['x', 'y']) }}"),
      "a+b 1 2 x-y");
  EXPECT_EQ(render("{{ '{} and {name}'.format(1, name='n') }}"), "1 and n");
  EXPECT_EQ(render("{{ {'a': 1}.get('a') }}{{ {'a': 1}.get('b') }}{{ {'a': 1}.get('b', 2) }}{{ {'a': 1, 'b': "
                   "2}.keys()|list }}{{ {'a': 1}.values()|list }}"),
            "1None2['a', 'b'][1]");
  EXPECT_EQ(render("{{ dict(a=1, b='x') }}{{ range(2, 8, 3)|list }}{{ [1, 2, 1].count(1) }}"),
            "{'a': 1, 'b': 'x'}[2, 5]2");
}

TEST(JinjaGlobals, StrftimeNowUsesTheInjectedClock) {
  RenderOptions options;
  options.clock = [] {
    std::tm tm{};
    tm.tm_year = 2025 - 1900;
    tm.tm_mon = 0;
    tm.tm_mday = 15;
    tm.tm_hour = 9;
    tm.tm_min = 30;
    return tm;
  };
  EXPECT_EQ(render("{{ strftime_now('%Y-%m-%d %H:%M') }} {{ strftime_now('%d %b %Y') }}", Json::object(), options),
            "2025-01-15 09:30 15 Jan 2025");
}

TEST(JinjaUndefined, DefaultUndefinedSemantics) {
  EXPECT_EQ(render("[{{ nope }}][{{ nope|trim }}][{{ nope is defined }}][{% if nope %}y{% else %}n{% endif %}]"),
            "[][][False][n]");
  EXPECT_EQ(render("{{ {'a': 1}.b is defined }}{{ {'a': 1}.b == nope }}{{ 'x' in nope }}"), "FalseTrueFalse");
}

}  // namespace
