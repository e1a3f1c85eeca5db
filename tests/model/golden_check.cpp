#include "golden_check.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "graph/graph.h"
#include "interp/interpreter.h"

namespace forge::testing {

using nlohmann::json;

json load_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("missing test data " + path + " (the shared data must be at ../shared/data)");
  return json::parse(in);
}

namespace {

int argmax(std::span<const float> v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

double max_abs_diff(std::span<const float> got, const json& want) {
  EXPECT_EQ(got.size(), want.size());
  double m = 0;
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    m = std::max(m, std::abs(static_cast<double>(got[i]) - want[i].get<double>()));
  }
  return m;
}

}  // namespace

double check_spec(const model::ModelSpec& spec, const std::string& fixture, const GoldenCase& c) {
  const json ref = load_json(kFixtures + fixture + "/" + c.reference);
  const auto tokens = ref.at("tokens").get<std::vector<int32_t>>();
  const graph::Graph g = graph::build_graph(spec);
  interp::InterpreterOptions o;
  o.n_ctx = 64;
  o.threads = 2;
  o.kv_f32 = true;
  interp::Interpreter it(g, o);
  const int n_vocab = spec.n_vocab;
  auto all = it.prefill(tokens, 0, model::Logits::kAll);
  double worst = 0;
  for (size_t t = 0; t < tokens.size(); ++t) {
    worst = std::max(worst, max_abs_diff(all.subspan(t * n_vocab, n_vocab), ref.at(c.logits_key)[t]));
  }
  EXPECT_LE(worst, c.tolerance) << fixture << ": max |logit diff| over all positions";

  it.truncate(0);
  const std::string suffix = c.logits_key == "logits" ? "" : "_full_attention";
  auto logits = it.prefill(tokens, 0, model::Logits::kLast);
  std::vector<int> ids;
  std::vector<float> last;
  for (int i = 0; i < 16; ++i) {
    ids.push_back(argmax(logits));
    if (i == 15) break;
    logits = it.decode(ids.back(), static_cast<int>(tokens.size()) + i);
    last.assign(logits.begin(), logits.end());
  }
  if (c.greedy) {
    EXPECT_EQ(ids, ref.at("greedy" + suffix).get<std::vector<int>>()) << fixture << ": greedy ids";
    EXPECT_LE(max_abs_diff(last, ref.at("greedy_logits_last" + suffix)), c.tolerance) << fixture << ": last step";
  }
  std::printf("  %s: max |diff| %.3g (tolerance %.3g)\n", fixture.c_str(), worst, c.tolerance);
  return worst;
}

}  // namespace forge::testing
