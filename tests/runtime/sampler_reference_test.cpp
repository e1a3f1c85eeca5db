// The sampler's filters against a plain transcription of their definitions (full sorts, fresh
// softmax at each step) on random logits: the sampler sorts only what it must, and must agree.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "runtime/sampler.h"
#include "sampler_test_util.h"

namespace forge::runtime {
namespace {

struct Tok {
  int32_t id;
  double logit;
};

std::vector<double> softmax(const std::vector<Tok>& toks) {
  double mx = -INFINITY, sum = 0;
  for (const auto& t : toks) mx = std::max(mx, t.logit);
  std::vector<double> p;
  for (const auto& t : toks) sum += std::exp(t.logit - mx);
  for (const auto& t : toks) p.push_back(std::exp(t.logit - mx) / sum);
  return p;
}

void sort_by_logit(std::vector<Tok>& toks) {
  std::sort(toks.begin(), toks.end(),
            [](const Tok& a, const Tok& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); });
}

std::vector<int32_t> reference_survivors(const std::vector<float>& logits, const SamplingParams& sp) {
  std::vector<Tok> toks;
  for (size_t i = 0; i < logits.size(); ++i) toks.push_back({int32_t(i), logits[i]});
  if (sp.top_k > 0 && size_t(sp.top_k) < toks.size()) {
    sort_by_logit(toks);
    toks.resize(size_t(sp.top_k));
  }
  if (sp.typical_p < 1) {
    const auto p = softmax(toks);
    double h = 0;
    for (double x : p) h -= x * std::log(x);
    std::vector<size_t> order(toks.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    const auto dist = [&](size_t i) { return std::abs(-std::log(p[i]) - h); };
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return dist(a) < dist(b) || (dist(a) == dist(b) && toks[a].id < toks[b].id); });
    std::vector<Tok> kept;
    double cum = 0;
    for (size_t i : order) {
      kept.push_back(toks[i]);
      cum += p[i];
      if (cum > sp.typical_p) break;
    }
    toks = kept;
  }
  if (sp.top_p < 1) {
    sort_by_logit(toks);
    const auto p = softmax(toks);
    double cum = 0;
    for (size_t i = 0; i < toks.size(); ++i) {
      cum += p[i];
      if (cum >= sp.top_p) {
        toks.resize(i + 1);
        break;
      }
    }
  }
  if (sp.min_p > 0) {
    const auto p = softmax(toks);
    const double pmax = *std::max_element(p.begin(), p.end());
    std::vector<Tok> kept;
    for (size_t i = 0; i < toks.size(); ++i)
      if (p[i] >= sp.min_p * pmax) kept.push_back(toks[i]);
    toks = kept;
  }
  std::vector<int32_t> ids;
  for (const auto& t : toks) ids.push_back(t.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

TEST(SamplerReference, RandomLogitsAndSettings) {
  std::mt19937_64 rng(2024);
  const auto pick = [&](auto options) { return options[rng() % options.size()]; };
  for (int trial = 0; trial < 300; ++trial) {
    const int vocab = pick(std::vector<int>{7, 300, 5000});
    const double spread = pick(std::vector<double>{0.3, 2.0, 6.0});
    std::vector<float> logits;
    for (int i = 0; i < vocab; ++i) logits.push_back(float(spread * (double(rng() >> 11) * 0x1.0p-53 - 0.5) * 4));
    auto sp = test::plain_params();
    sp.top_k = pick(std::vector<int32_t>{0, 0, 3, 100});
    sp.typical_p = pick(std::vector<float>{1.0f, 1.0f, 0.9f, 0.4f});
    sp.top_p = pick(std::vector<float>{1.0f, 0.95f, 0.6f, 0.1f});
    sp.min_p = pick(std::vector<float>{0.0f, 0.05f, 0.3f});
    const auto got = test::ids_of(Sampler(sp, vocab).survivors(logits));
    ASSERT_EQ(got, reference_survivors(logits, sp))
        << "trial " << trial << " vocab " << vocab << " top_k " << sp.top_k << " typical " << sp.typical_p << " top_p "
        << sp.top_p << " min_p " << sp.min_p;
  }
}

}  // namespace
}  // namespace forge::runtime
