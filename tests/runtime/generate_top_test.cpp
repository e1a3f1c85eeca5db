// Session::generate draws each token from Forward::decode_top's candidates where the sampler can
// (Sampler::top_needed), and from the step's whole row (Forward::decode_top_row) where they do not
// decide it: on a real trained model (stories260K, through the interpreter) its tokens must be those
// of a plain loop of decode() and Sampler::sample() over every logit with the same seed.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "model/forward.h"
#include "runtime/generate.h"
#include "runtime/loaded_model.h"
#include "runtime/sampler.h"
#include "sampler_test_util.h"

namespace forge::runtime {
namespace {

using test::seeded;

const std::string kStories = std::string(FORGE_DATA_DIR) + "/models/stories260K/stories260K.gguf";
constexpr int kTokens = 60;

// Another Forward's steps, counting the decode_top() steps and the rows taken after them.
class Counting : public model::Forward {
 public:
  explicit Counting(model::Forward& inner) : inner_(inner) {}
  const model::ModelInfo& info() const override { return inner_.info(); }
  std::span<const float> prefill(std::span<const int32_t> tokens, int pos, model::Logits logits,
                                 int seq) override {
    return inner_.prefill(tokens, pos, logits, seq);
  }
  void truncate(int pos, int seq) override { inner_.truncate(pos, seq); }
  int cached(int seq) const override { return inner_.cached(seq); }
  model::TopLogits decode_top(int32_t token, int pos, int k, bool mass, int seq) override {
    ++tops;
    return Forward::decode_top(token, pos, k, mass, seq);
  }
  std::span<const float> decode_top_row() override {
    ++rows;
    return Forward::decode_top_row();
  }
  int tops = 0, rows = 0;

 private:
  model::Forward& inner_;
};

class GenerateTop : public ::testing::Test {
 protected:
  void SetUp() override {
    LoadOptions lo;
    lo.model_path = kStories;
    model_ = LoadedModel::load(lo);
    interp::InterpreterOptions o;
    o.n_ctx = 128;
    o.threads = 2;
    interp_ = model_->interpreter(o);
  }

  std::vector<int32_t> generated(model::Forward& f, const SamplingParams& p) {
    Sampler s(p, vocab());
    Session session(f, model_->tokenizer());
    GenerateOptions g;
    g.max_tokens = kTokens;
    g.ignore_eos = true;
    return session.generate(prompt_, s, g, [](std::string_view) { return true; }).tokens;
  }

  // The reference: every step's logits through sample(), in generate()'s order.
  std::vector<int32_t> plain_loop(const SamplingParams& p) {
    Sampler s(p, vocab());
    for (int32_t t : prompt_) s.accept(t);
    interp_->truncate(0, 0);
    std::span<const float> logits = interp_->prefill(prompt_, 0, model::Logits::kLast, 0);
    std::vector<int32_t> out;
    for (int pos = static_cast<int>(prompt_.size()); static_cast<int>(out.size()) < kTokens; ++pos) {
      const int32_t tok = s.sample(logits);
      s.accept(tok);
      out.push_back(tok);
      logits = interp_->decode(tok, pos, 0);
    }
    return out;
  }

  int vocab() const { return interp_->info().n_vocab; }

  std::unique_ptr<LoadedModel> model_;
  std::unique_ptr<model::Forward> interp_;
  const std::vector<int32_t> prompt_ = {1, 15, 200, 42};
};

TEST_F(GenerateTop, TopPAndMinPWithoutTopK) {
  int rows = 0;
  for (const SamplingParams& p : {seeded(1.0f, 0, 0.9f, 0.0f), seeded(0.8f, 0, 0.95f, 0.05f),
                                  seeded(1.0f, 0, 1.0f, 0.1f), seeded(1.3f, 0, 0.6f, 0.0f),
                                  seeded(1.0f, 0, 0.9999f, 0.0f), seeded(1.0f, 0, 1.0f, 0.0001f)}) {
    SCOPED_TRACE("top-p " + std::to_string(p.top_p) + ", min-p " + std::to_string(p.min_p));
    Counting c(*interp_);
    EXPECT_EQ(generated(c, p), plain_loop(p));
    EXPECT_EQ(c.tops, kTokens);  // every step after the prompt's asked for the candidates
    EXPECT_LT(c.rows, c.tops);   // and they decided some tokens themselves
    rows += c.rows;
  }
  EXPECT_GT(rows, 0);  // the widest settings' kept tokens reach past the 128 candidates: the row
}

TEST_F(GenerateTop, PenaltiesWithTopKAndGreedy) {
  SamplingParams p = seeded(1.0f, 40, 0.95f, 0.05f);
  p.repeat_penalty = 1.3f;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.2f;
  p.logit_bias[13] = -2.0f;
  Counting c(*interp_);
  EXPECT_EQ(generated(c, p), plain_loop(p));
  EXPECT_EQ(c.tops, kTokens);
  EXPECT_EQ(c.rows, 0);  // top-k: the candidates always decide
  p.temperature = 0.0f;
  Counting g(*interp_);
  EXPECT_EQ(generated(g, p), plain_loop(p));
  EXPECT_EQ(g.tops, kTokens);
}

}  // namespace
}  // namespace forge::runtime
