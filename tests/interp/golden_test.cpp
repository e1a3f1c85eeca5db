// The interpreter against Hugging Face transformers' float64 logits for the
// golden fixtures (fixtures/README.md states the tolerances used here), and
// against the exact dequantized-weights reference for llama-k's quantized
// files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "format/gguf_file.h"
#include "graph/graph.h"
#include "interp/interpreter.h"
#include "model/gguf_model.h"
#include "model/metadata_override.h"
#include "nlohmann/json.hpp"

namespace forge {
namespace {

using nlohmann::json;
const std::string kFixtures = std::string(FORGE_DATA_DIR) + "/fixtures/";

json load_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("missing test data " + path + " (the shared data must be at ../shared/data)");
  return json::parse(in);
}

// A loaded GGUF with its spec, graph and an interpreter over it.
struct Loaded {
  GgufFile file;
  model::ModelSpec spec;
  graph::Graph graph;
  std::unique_ptr<interp::Interpreter> it;

  explicit Loaded(const std::string& path, bool kv_f32 = true)
      : file(GgufFile::open(path)), spec(model::spec_from_gguf(file)), graph(graph::build_graph(spec)) {
    interp::InterpreterOptions o;
    o.n_ctx = 64;
    o.threads = 2;
    o.kv_f32 = kv_f32;
    it = std::make_unique<interp::Interpreter>(graph, o);
  }
};

int argmax(std::span<const float> v) { return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin()); }

double max_abs_diff(std::span<const float> got, const json& want) {
  double m = 0;
  EXPECT_EQ(got.size(), want.size());
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    m = std::max(m, std::abs(static_cast<double>(got[i]) - want[i].get<double>()));
  }
  return m;
}

// Greedy decoding after the prompt; also returns the logits of the last step
// (position 46 for a 32-token prompt and 16 generated tokens).
std::vector<int> greedy(interp::Interpreter& it, const std::vector<int32_t>& tokens, int n, std::vector<float>& last) {
  auto logits = it.prefill(tokens, 0, model::Logits::kLast);
  std::vector<int> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(argmax(logits));
    if (i + 1 == n) break;
    logits = it.decode(out.back(), static_cast<int>(tokens.size()) + i);
    last.assign(logits.begin(), logits.end());
  }
  return out;
}

struct Case {
  std::string fixture;
  std::string file;
  double tolerance;
  std::string logits_key = "logits";
  // Greedy ids are compared where the weights are the reference's own (F32).
  // F16 weights move logits by ~0.01 while the fixtures' smallest top-1/top-2
  // margin is 7.3e-4, so a flip is expected there; llama-k's F16 greedy ids are
  // checked exactly against reference-dequant.json below instead.
  bool greedy = true;
};

void check_against_reference(const Case& c) {
  SCOPED_TRACE(c.fixture + "/" + c.file);
  json ref = load_json(kFixtures + c.fixture + "/reference.json");
  Loaded m(kFixtures + c.fixture + "/" + c.file);
  auto tokens = ref["tokens"].get<std::vector<int32_t>>();
  const int n_vocab = m.spec.n_vocab;
  auto all = m.it->prefill(tokens, 0, model::Logits::kAll);
  double worst = 0;
  for (size_t t = 0; t < tokens.size(); ++t) {
    worst = std::max(worst, max_abs_diff(all.subspan(t * n_vocab, n_vocab), ref[c.logits_key][t]));
  }
  EXPECT_LE(worst, c.tolerance) << "max |logit diff| over all positions";
  m.it->truncate(0);
  std::vector<float> last;
  const std::string suffix = c.logits_key == "logits" ? "" : "_full_attention";
  auto ids = greedy(*m.it, tokens, 16, last);
  if (c.greedy) {
    EXPECT_EQ(ids, ref["greedy" + suffix].get<std::vector<int>>());
    EXPECT_LE(max_abs_diff(last, ref["greedy_logits_last" + suffix]), c.tolerance);
  }
  std::printf("  %s/%s: max |diff| %.3g (tolerance %.3g)\n", c.fixture.c_str(), c.file.c_str(), worst, c.tolerance);
}

TEST(Golden, LlamaF32) { check_against_reference({"llama", "model-f32.gguf", 1e-4}); }
TEST(Golden, LlamaTiedRope3F32) { check_against_reference({"llama-tied-rope3", "model-f32.gguf", 1e-4}); }
TEST(Golden, LlamaKF32) { check_against_reference({"llama-k", "model-f32.gguf", 1e-4}); }
// The mistral GGUF records no sliding window (fixtures/README.md), so it is
// full attention.
TEST(Golden, MistralGgufIsFullAttention) {
  check_against_reference({"mistral", "model-f32.gguf", 1e-4, "logits_full_attention"});
}
// F16 weights against float64 logits: README allows 0.05.
TEST(Golden, LlamaF16) { check_against_reference({"llama", "model-f16.gguf", 0.05, "logits", false}); }
TEST(Golden, LlamaTiedRope3F16) {
  check_against_reference({"llama-tied-rope3", "model-f16.gguf", 0.05, "logits", false});
}
TEST(Golden, LlamaKF16) { check_against_reference({"llama-k", "model-f16.gguf", 0.05, "logits", false}); }

// llama-k's quantized files against float64 logits over exactly their
// dequantized weights (reference-dequant.json). Weights in F16 keep float
// activations: 1e-4. Quantized weights take 8-bit activations, as llama.cpp
// does: at most as far as llama.cpp lands (its recorded distance).
TEST(Golden, LlamaKQuantizedFiles) {
  json ref = load_json(kFixtures + "llama-k/reference-dequant.json");
  auto tokens = ref["tokens"].get<std::vector<int32_t>>();
  auto positions = ref["positions"].get<std::vector<int>>();
  for (const auto& [file, r] : ref["files"].items()) {
    SCOPED_TRACE(file);
    Loaded m(kFixtures + "llama-k/" + file);
    const bool float_acts = file == "model-f16.gguf";
    const double llama_cpp = r["llama_cpp_cpu_max_abs_diff_all_positions"].get<double>();
    const double tol = float_acts ? 1e-4 : llama_cpp;
    auto all = m.it->prefill(tokens, 0, model::Logits::kAll);
    double worst = 0;
    for (size_t i = 0; i < positions.size(); ++i) {
      worst = std::max(worst, max_abs_diff(all.subspan(positions[i] * m.spec.n_vocab, m.spec.n_vocab),
                                           r["logits_at_positions"][i]));
    }
    EXPECT_LE(worst, tol);
    m.it->truncate(0);
    std::vector<float> last;
    auto ids = greedy(*m.it, tokens, 16, last);
    const double last_diff = max_abs_diff(last, r["greedy_logits_last"]);
    if (float_acts) {
      EXPECT_EQ(ids, r["greedy"].get<std::vector<int>>());
      EXPECT_LE(last_diff, tol);
    }
    std::printf("  llama-k/%s: max |diff| %.3g at reference positions (llama.cpp: %.3g), greedy %s\n", file.c_str(),
                worst, llama_cpp, ids == r["greedy"].get<std::vector<int>>() ? "equal" : "differs");
  }
}

// KV-cache decoding equals a full prefill of the same tokens.
TEST(Interpreter, DecodeMatchesPrefill) {
  Loaded m(kFixtures + "llama/model-f32.gguf");
  std::vector<int32_t> tokens = {1, 417, 465, 420, 198, 178, 371, 271};
  auto all = m.it->prefill(tokens, 0, model::Logits::kAll);
  std::vector<float> last(all.end() - m.spec.n_vocab, all.end());
  m.it->truncate(0);
  m.it->prefill(std::span(tokens).first(4), 0, model::Logits::kNone);
  std::span<const float> step;
  for (int i = 4; i < 8; ++i) step = m.it->decode(tokens[i], i);
  for (int j = 0; j < m.spec.n_vocab; ++j) EXPECT_NEAR(step[j], last[j], 1e-5);
}

// Several sequences decoded in one batched step give each sequence exactly
// what it gets alone.
TEST(Interpreter, DecodeBatchEqualsSeparateDecodes) {
  const std::string path = kFixtures + "llama/model-f32.gguf";
  GgufFile file = GgufFile::open(path);
  model::ModelSpec spec = model::spec_from_gguf(file);
  graph::Graph g = graph::build_graph(spec);
  interp::InterpreterOptions o;
  o.n_ctx = 32;
  o.threads = 2;
  o.kv_f32 = true;
  o.n_seq = 3;
  interp::Interpreter batched(g, o);
  o.n_seq = 1;
  interp::Interpreter single(g, o);
  const std::vector<std::vector<int32_t>> prompts = {{1, 417, 465}, {1, 198, 178, 371, 271}, {1, 420}};
  for (int s = 0; s < 3; ++s) batched.prefill(prompts[s], 0, model::Logits::kNone, s);
  std::vector<model::BatchToken> step = {{432, 3, 0}, {300, 5, 1}, {12, 2, 2}};
  auto rows = batched.decode_batch(step);
  ASSERT_EQ(rows.size(), 3u * spec.n_vocab);
  for (int s = 0; s < 3; ++s) {
    single.truncate(0);
    single.prefill(prompts[s], 0, model::Logits::kNone);
    auto want = single.decode(step[s].token, step[s].pos);
    for (int j = 0; j < spec.n_vocab; ++j) EXPECT_NEAR(rows[s * spec.n_vocab + j], want[j], 1e-5) << "seq " << s;
  }
  EXPECT_THROW(batched.decode_batch(std::vector<model::BatchToken>{{1, 9, 0}}), std::out_of_range);  // gap
  EXPECT_THROW(batched.prefill(prompts[0], 0, model::Logits::kNone, 3), std::out_of_range);          // no such seq
}

// Mistral with its window of 8 supplied: every layer slides, so the cache is
// a ring of window + batch - 1 rows, not the context. Prefill in steps of 4
// and decode past the ring many times over; the logits still equal the
// windowed reference.
TEST(Interpreter, SlidingWindowRingCache) {
  json ref = load_json(kFixtures + "mistral/reference.json");
  GgufFile file = GgufFile::open(kFixtures + "mistral/model-f32.gguf");
  const std::vector<std::string> args = {"llama.attention.sliding_window=int:8"};
  const model::MetadataOverrides ov = model::parse_overrides(args);
  model::ModelSpec spec = model::spec_from_gguf(file, &ov);
  graph::Graph g = graph::build_graph(spec);
  interp::InterpreterOptions o;
  o.n_ctx = 64;
  o.threads = 2;
  o.kv_f32 = true;
  o.max_batch = 4;
  interp::Interpreter it(g, o);
  EXPECT_EQ(it.kv_rows(), 8 + 4 - 1);
  auto tokens = ref["tokens"].get<std::vector<int32_t>>();
  auto all = it.prefill(tokens, 0, model::Logits::kAll);
  double worst = 0;
  for (size_t t = 0; t < tokens.size(); ++t) {
    worst = std::max(worst, max_abs_diff(all.subspan(t * spec.n_vocab, spec.n_vocab), ref["logits"][t]));
  }
  EXPECT_LE(worst, 1e-4);
  it.truncate(0);
  std::vector<float> last;
  auto ids = greedy(it, tokens, 16, last);
  EXPECT_EQ(ids, ref["greedy"].get<std::vector<int>>());
  EXPECT_LE(max_abs_diff(last, ref["greedy_logits_last"]), 1e-4);
  // Rewinding within the ring keeps the cache; rewinding past it forgets it.
  it.truncate(44);
  EXPECT_EQ(it.cached(), 44);
  it.truncate(10);
  EXPECT_EQ(it.cached(), 0);
}

TEST(Interpreter, ContextAndTokenGuards) {
  Loaded m(kFixtures + "llama/model-f32.gguf");
  std::vector<int32_t> too_long(65, 1);
  EXPECT_THROW(m.it->prefill(too_long, 0), std::out_of_range);
  std::vector<int32_t> bad = {1, 512};
  EXPECT_THROW(m.it->prefill(bad, 0), std::out_of_range);
  std::vector<int32_t> ok = {1, 2};
  EXPECT_THROW(m.it->prefill(ok, 5), std::out_of_range);  // gap in the cache
}

}  // namespace
}  // namespace forge
