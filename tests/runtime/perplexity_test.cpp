// runtime::perplexity over a Forward whose logits are known in closed form:
// the statistics (mean, standard error, perplexity) against their formulas,
// and what each chunk is given to run.
#include "runtime/perplexity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

namespace forge::runtime {
namespace {

// Two tokens; every row's logits are {0, ln 3}: token 0 has probability 1/4,
// token 1 3/4. Records what each prefill was given.
class TwoTokenForward : public model::Forward {
 public:
  const model::ModelInfo& info() const override { return info_; }
  std::span<const float> prefill(std::span<const int32_t> tokens, int pos, model::Logits logits, int) override {
    EXPECT_EQ(pos, 0);
    EXPECT_EQ(cached_, 0) << "a chunk must start from an empty cache";
    EXPECT_EQ(logits, model::Logits::kAll);
    runs.emplace_back(tokens.begin(), tokens.end());
    cached_ = static_cast<int>(tokens.size());
    rows_.clear();
    for (size_t i = 0; i < tokens.size(); ++i) rows_.insert(rows_.end(), {0.0f, std::log(3.0f)});
    return rows_;
  }
  void truncate(int pos, int) override { cached_ = std::min(cached_, pos); }

  std::vector<std::vector<int32_t>> runs;

 private:
  model::ModelInfo info_{.arch = "test", .name = "test", .n_vocab = 2, .n_ctx = 64};
  std::vector<float> rows_;
  int cached_ = 0;
};

TEST(Perplexity, StatisticsFollowTheirFormulas) {
  // Chunks of 8: positions 4..6 predict tokens 5..7.
  const std::vector<int32_t> text = {1, 0, 1, 0, 1, 0, 1, 0, /**/ 1, 1, 1, 1, 1, 0, 1, 1, /**/ 0, 0};
  TwoTokenForward fwd;
  int calls = 0;
  const auto r = perplexity(fwd, text, {.chunk = 8, .max_chunks = 0, .bos = 1},
                            [&](int done, int chunks, const PerplexityResult& so_far) {
                              ++calls;
                              EXPECT_EQ(done, calls);
                              EXPECT_EQ(chunks, 2);
                              EXPECT_EQ(so_far.scored, 3 * done);
                            });
  EXPECT_EQ(calls, 2);
  ASSERT_EQ(fwd.runs.size(), 2u);
  EXPECT_EQ(fwd.runs[1], (std::vector<int32_t>{1, 1, 1, 1, 1, 0, 1, 1}));
  // Targets: 0, 1, 0 then 0, 1, 1; -ln(1/4) = ln 4, -ln(3/4) = ln(4/3).
  const double a = std::log(4.0), b = std::log(4.0 / 3.0);
  ASSERT_EQ(r.scored, 6);
  ASSERT_EQ(r.chunk_nll.size(), 2u);
  EXPECT_NEAR(r.chunk_nll[0], (2 * a + b) / 3, 1e-6);
  EXPECT_NEAR(r.chunk_nll[1], (a + 2 * b) / 3, 1e-6);
  const double mean = (a + b) / 2;  // three of each
  EXPECT_NEAR(r.nll_mean(), mean, 1e-6);
  EXPECT_NEAR(r.ppl(), std::sqrt(4.0 * 4.0 / 3.0), 1e-6);
  // Sample standard deviation over sqrt(n): sqrt(sum (x - mean)^2 / (n - 1) / n).
  const double sd = std::sqrt(6 * std::pow((a - b) / 2, 2) / 5);
  EXPECT_NEAR(r.nll_stderr(), sd / std::sqrt(6.0), 1e-6);
  EXPECT_NEAR(r.ppl_stderr(), r.ppl() * r.nll_stderr(), 1e-12);
}

TEST(Perplexity, BosReplacesEachChunksFirstTokenOnlyWhenAsked) {
  const std::vector<int32_t> text = {0, 1, 0, 1, 0, 1};
  TwoTokenForward fwd;
  perplexity(fwd, text, {.chunk = 3, .max_chunks = 0, .bos = -1});
  ASSERT_EQ(fwd.runs.size(), 2u);
  EXPECT_EQ(fwd.runs[1], (std::vector<int32_t>{1, 0, 1}));
  TwoTokenForward with_bos;
  perplexity(with_bos, text, {.chunk = 3, .max_chunks = 1, .bos = 1});
  ASSERT_EQ(with_bos.runs.size(), 1u);  // max_chunks
  EXPECT_EQ(with_bos.runs[0], (std::vector<int32_t>{1, 1, 0}));
}

TEST(Perplexity, RefusesTooSmallChunksAndTooShortTexts) {
  TwoTokenForward fwd;
  const std::vector<int32_t> text = {0, 1, 0, 1};
  EXPECT_THROW(perplexity(fwd, text, {.chunk = 2}), std::invalid_argument);
  EXPECT_THROW(perplexity(fwd, text, {.chunk = 5}), std::invalid_argument);
  EXPECT_TRUE(fwd.runs.empty());
}

}  // namespace
}  // namespace forge::runtime
