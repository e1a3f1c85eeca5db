// SpeculativeForward under Session::generate: on a real trained model
// (stories260K, through the interpreter) the tokens must be those the target
// alone gives with the same sampler and seed, whether the draft guesses well
// (the same model), partly (every third guess spoiled) or never; also across
// a reused cache (a chat's second turn), up to a full context, and over a
// sliding-window ring (the mistral fixture's Hugging Face folder, window 8).
#include "runtime/speculative.h"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "interp/interpreter.h"
#include "runtime/generate.h"
#include "runtime/loaded_model.h"
#include "runtime/sampler.h"
#include "sampler_test_util.h"

namespace forge::runtime {
namespace {

using test::seeded;

const std::string kData = FORGE_DATA_DIR;
const std::string kStories = kData + "/models/stories260K/stories260K.gguf";

// Another model's steps with some guesses spoiled: where `spoil(pos)`, the
// highest logit moves to the next token id.
class Spoiled : public model::Forward {
 public:
  Spoiled(model::Forward& inner, int every) : inner_(inner), every_(every) {}
  const model::ModelInfo& info() const override { return inner_.info(); }
  std::span<const float> prefill(std::span<const int32_t> tokens, int pos, model::Logits logits, int seq) override {
    return inner_.prefill(tokens, pos, logits, seq);
  }
  std::span<const float> decode(int32_t token, int pos, int seq) override {
    const auto l = inner_.decode(token, pos, seq);
    row_.assign(l.begin(), l.end());
    if (every_ > 0 && pos % every_ == 0) {
      const auto best = std::max_element(row_.begin(), row_.end()) - row_.begin();
      row_[(best + 1) % row_.size()] = row_[best] + 1.0f;
    }
    return row_;
  }
  void truncate(int pos, int seq) override { inner_.truncate(pos, seq); }
  int cached(int seq) const override { return inner_.cached(seq); }

 private:
  model::Forward& inner_;
  int every_;
  std::vector<float> row_;
};

// A draft that always guesses the token id after the one it is given.
class Wrong : public model::Forward {
 public:
  explicit Wrong(const model::ModelInfo& info) : info_(info), row_(info.n_vocab, 0.0f) {}
  const model::ModelInfo& info() const override { return info_; }
  std::span<const float> prefill(std::span<const int32_t> tokens, int, model::Logits, int) override {
    std::fill(row_.begin(), row_.end(), 0.0f);
    row_[(tokens.back() + 1) % info_.n_vocab] = 1.0f;
    return row_;
  }
  void truncate(int, int) override {}

 private:
  model::ModelInfo info_;
  std::vector<float> row_;
};

struct Models {
  std::unique_ptr<LoadedModel> model;
  std::unique_ptr<model::Forward> target, draft;
};

Models load(const std::string& path, int n_ctx, int max_batch = 0) {
  Models m;
  LoadOptions lo;
  lo.model_path = path;
  m.model = LoadedModel::load(lo);
  interp::InterpreterOptions o;
  o.n_ctx = n_ctx;
  o.threads = 1;
  if (max_batch > 0) o.max_batch = max_batch;
  m.target = m.model->interpreter(o);
  m.draft = m.model->interpreter(o);
  return m;
}

GenerateResult generate(Session& session, std::span<const int32_t> prompt, Sampler& s, int max_tokens) {
  GenerateOptions g;
  g.max_tokens = max_tokens;
  g.ignore_eos = true;
  return session.generate(prompt, s, g, [](std::string_view) { return true; });
}

std::vector<SamplingParams> settings() {
  SamplingParams greedy = seeded(0.0f, 0, 1.0f, 0.0f);
  SamplingParams penalties = seeded(1.0f, 40, 0.95f, 0.05f);
  penalties.repeat_penalty = 1.3f;
  penalties.presence_penalty = 0.5f;
  return {greedy, penalties, seeded(0.8f, 0, 0.9f, 0.0f), seeded(1.2f, 0, 1.0f, 0.0f)};
}

const std::vector<int32_t> kPrompt = {1, 15, 200, 42};

// `guesses` a round, however unsure the draft (p_min 0) unless told.
SpeculativeOptions guessing(int guesses, float p_min = 0.0f) {
  return {.draft_tokens = guesses, .p_min = p_min};
}

TEST(Speculative, TokensAreTheTargetsForEveryDraftAndSampler) {
  Models m = load(kStories, 160);
  Spoiled spoiled(*m.draft, 3);
  Wrong wrong(m.draft->info());
  for (const SamplingParams& p : settings()) {
    SCOPED_TRACE("temperature " + std::to_string(p.temperature) + ", top-k " + std::to_string(p.top_k));
    Sampler alone_sampler(p, m.target->info().n_vocab);
    Session alone(*m.target, m.model->tokenizer());
    const auto want = generate(alone, kPrompt, alone_sampler, 120).tokens;
    ASSERT_EQ(want.size(), 120u);
    for (model::Forward* draft : {static_cast<model::Forward*>(m.draft.get()), static_cast<model::Forward*>(&spoiled),
                                  static_cast<model::Forward*>(&wrong)}) {
      for (int guesses : {1, 4, 16}) {
        m.target->truncate(0);
        m.draft->truncate(0);
        SpeculativeForward fwd(*m.target, *draft, guessing(guesses));
        Sampler s(p, m.target->info().n_vocab);
        Session session(fwd, m.model->tokenizer());
        EXPECT_EQ(generate(session, kPrompt, s, 120).tokens, want) << guesses << " guesses";
        const auto& st = fwd.stats();
        EXPECT_LE(st.accepted, st.drafted);
        EXPECT_GT(st.target_passes, 0);
        if (draft == &wrong) {
          EXPECT_LT(st.accepted * 10, st.drafted);  // the target rarely takes "the next id"
        }
        if (draft == m.draft.get() && p.temperature == 0.0f) {
          EXPECT_GE(st.accepted, 119 - st.target_passes) << "the same model guesses every greedy token";
        }
        if (draft == &spoiled && p.temperature == 0.0f) {
          EXPECT_GT(st.accepted, 0);
          if (guesses > 1) {
            EXPECT_LT(st.accepted, st.drafted - guesses);
          }
        }
      }
    }
  }
}

// With a minimum probability, an unsure draft stops guessing: the "next id"
// draft (probability e / (e + 511)) never asks the target to check a guess,
// the same model sometimes does, and the tokens stay the target's.
TEST(Speculative, UnsureGuessesAreNotMade) {
  Models m = load(kStories, 160);
  Wrong wrong(m.draft->info());
  for (const SamplingParams& p : {settings()[0], settings()[3]}) {
    Sampler alone_sampler(p, m.target->info().n_vocab);
    Session alone(*m.target, m.model->tokenizer());
    const auto want = generate(alone, kPrompt, alone_sampler, 80).tokens;
    for (model::Forward* draft : {static_cast<model::Forward*>(&wrong), static_cast<model::Forward*>(m.draft.get())}) {
      m.target->truncate(0);
      m.draft->truncate(0);
      SpeculativeForward fwd(*m.target, *draft, guessing(8, 0.75f));
      Sampler s(p, m.target->info().n_vocab);
      Session session(fwd, m.model->tokenizer());
      EXPECT_EQ(generate(session, kPrompt, s, 80).tokens, want);
      if (draft == &wrong) {
        EXPECT_EQ(fwd.stats().drafted, 0);
        EXPECT_EQ(fwd.stats().target_passes, 0);
      } else {
        EXPECT_GT(fwd.stats().drafted, 0);
        EXPECT_LT(fwd.stats().drafted, 8 * fwd.stats().target_passes);  // some rounds stopped early
      }
    }
  }
}

// A second turn resends the first turn's tokens: the cache keeps them.
TEST(Speculative, ASecondTurnReusesTheCache) {
  Models m = load(kStories, 160);
  Spoiled spoiled(*m.draft, 2);
  const SamplingParams p = settings()[1];
  auto two_turns = [&](model::Forward& f) {
    Sampler s(p, f.info().n_vocab);
    Session session(f, m.model->tokenizer());
    std::vector<int32_t> prompt = kPrompt;
    auto first = generate(session, prompt, s, 30);
    prompt.insert(prompt.end(), first.tokens.begin(), first.tokens.end());
    prompt.insert(prompt.end(), {13, 40, 7});
    auto second = generate(session, prompt, s, 30);
    EXPECT_EQ(second.prompt_tokens, 3);  // only the new ones ran
    first.tokens.insert(first.tokens.end(), second.tokens.begin(), second.tokens.end());
    return first.tokens;
  };
  const auto want = two_turns(*m.target);
  m.target->truncate(0);
  SpeculativeForward fwd(*m.target, spoiled, guessing(6));
  EXPECT_EQ(two_turns(fwd), want);
}

// Until the context is full: the last rounds guess only what still fits.
TEST(Speculative, UpToAFullContext) {
  Models m = load(kStories, 40);
  const SamplingParams p = settings()[0];
  Sampler alone_sampler(p, m.target->info().n_vocab);
  Session alone(*m.target, m.model->tokenizer());
  const auto want = generate(alone, kPrompt, alone_sampler, -1);
  EXPECT_EQ(want.finish, FinishReason::kContextFull);
  m.target->truncate(0);
  SpeculativeForward fwd(*m.target, *m.draft, guessing(8));
  Sampler s(p, m.target->info().n_vocab);
  Session session(fwd, m.model->tokenizer());
  const auto got = generate(session, kPrompt, s, -1);
  EXPECT_EQ(got.tokens, want.tokens);
  EXPECT_EQ(got.finish, FinishReason::kContextFull);
}

// Mistral's sliding window (8) keeps a ring: a rolled-back round must
// recompute what the ring overwrote.
TEST(Speculative, SlidingWindowRing) {
  Models m = load(kData + "/fixtures/mistral", 64, 8);  // a ring of 8 + 8 - 1 rows
  Spoiled spoiled(*m.draft, 2);
  for (const SamplingParams& p : {settings()[0], settings()[3]}) {
    Sampler alone_sampler(p, m.target->info().n_vocab);
    Session alone(*m.target, m.model->tokenizer());
    const auto want = generate(alone, kPrompt, alone_sampler, 50).tokens;
    m.target->truncate(0);
    m.draft->truncate(0);
    SpeculativeForward fwd(*m.target, spoiled, guessing(5));
    Sampler s(p, m.target->info().n_vocab);
    Session session(fwd, m.model->tokenizer());
    EXPECT_EQ(generate(session, kPrompt, s, 50).tokens, want);
    EXPECT_GT(fwd.stats().accepted, 0);
    EXPECT_EQ(dynamic_cast<interp::Interpreter&>(*m.target).kv_rows(), 15);
  }
}

TEST(Speculative, ClearErrors) {
  Models m = load(kStories, 64);
  EXPECT_THROW(SpeculativeForward(*m.target, *m.draft, guessing(0)), std::invalid_argument);
  EXPECT_THROW(SpeculativeForward(*m.target, *m.draft, guessing(4, 1.5f)), std::invalid_argument);
  model::ModelInfo other = m.target->info();
  other.n_vocab = 10;
  Wrong small(other);
  EXPECT_THROW(SpeculativeForward(*m.target, small, guessing(4)), std::invalid_argument);
  LoadOptions lo;
  lo.model_path = kData + "/fixtures/llama/model-f32.gguf";  // 512 tokens as well, other ones
  const auto fixture = LoadedModel::load(lo);
  try {
    check_same_vocabulary(m.model->tokenizer(), fixture->tokenizer());
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("speculative decoding needs the same vocabulary"), std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(check_same_vocabulary(m.model->tokenizer(), m.model->tokenizer()));
  SpeculativeForward fwd(*m.target, *m.draft, guessing(4));
  EXPECT_THROW(fwd.decode(5, 3), std::out_of_range);  // nothing cached yet
}

}  // namespace
}  // namespace forge::runtime
