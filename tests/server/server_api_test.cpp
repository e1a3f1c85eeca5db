// Every endpoint over real HTTP on loopback, with stories260K: OpenAI shapes
// (strict), greedy output against llama.cpp's reference, stop, max_tokens,
// seeds, logprobs, n, streaming, prefix reuse.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "openai_schema.h"
#include "server_test_support.h"

namespace forge {
namespace {

using nlohmann::json;
using testing::http_get;
using testing::http_post;
using testing::http_stream;

class ServerApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server::ServerOptions o;
    o.parallel = 2;
    server_ = testing::TestServer::for_suite(o);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static int port() { return server_->port(); }
  // Slots of the server under test: a compiled program holds one sequence.
  static int slots() {
    const char* program = std::getenv("FORGE_TEST_SERVER_PROGRAM");
    return program && *program ? 1 : 2;
  }
  static json reference() {
    std::ifstream in(std::string(FORGE_DATA_DIR) + "/models/stories260K/reference-greedy.json");
    if (!in) throw std::runtime_error("missing models/stories260K/reference-greedy.json in the shared test data");
    return json::parse(in);
  }
  static testing::TestServer* server_;
};
testing::TestServer* ServerApi::server_ = nullptr;

TEST_F(ServerApi, HealthModelsAndPage) {
  auto h = http_get(port(), "/health");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.json["status"], "ok");

  auto m = http_get(port(), "/v1/models");
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_EQ(m.json["object"], "list");
  ASSERT_EQ(m.json["data"].size(), 1u);
  EXPECT_EQ(m.json["data"][0]["id"], "stories260K");
  EXPECT_EQ(m.json["data"][0]["object"], "model");
  EXPECT_EQ(m.json["data"][0]["owned_by"], "forge");
  EXPECT_TRUE(m.json["data"][0]["created"].is_number_integer());
  EXPECT_EQ(http_get(port(), "/v1/models/stories260K").json["id"], "stories260K");
  auto missing = http_get(port(), "/v1/models/gpt-4");
  EXPECT_EQ(missing.status, 404);
  testing::check_error(missing.json);

  auto page = http_get(port(), "/");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("<title>Forge chat</title>"), std::string::npos);
  EXPECT_EQ(page.body.find("http://"), std::string::npos) << "the page must not load anything from elsewhere";
  EXPECT_EQ(page.body.find("https://"), std::string::npos) << "the page must not load anything from elsewhere";
}

TEST_F(ServerApi, GreedyCompletionMatchesReference) {
  const json ref = reference();
  for (const json& c : ref["cases"]) {
    SCOPED_TRACE(c["prompt"].get<std::string>());
    const int n = static_cast<int>(c["generated_tokens"].size());
    auto r = http_post(port(), "/v1/completions",
                       json{{"prompt", c["prompt"]}, {"max_tokens", n}, {"temperature", 0}, {"return_tokens", true}});
    ASSERT_EQ(r.status, 200) << r.body;
    testing::check_text_completion(r.json, {.token_ids = true});
    EXPECT_EQ(r.json["choices"][0]["token_ids"], c["generated_tokens"]);
    EXPECT_EQ(r.json["choices"][0]["text"], c["generated_text"]);
    EXPECT_EQ(r.json["choices"][0]["finish_reason"], "length");
    EXPECT_EQ(r.json["usage"]["prompt_tokens"], c["prompt_tokens"].size());
    EXPECT_EQ(r.json["usage"]["completion_tokens"], n);
  }
}

TEST_F(ServerApi, PromptAsTokenIdsEqualsText) {
  const json c = reference()["cases"][1];
  auto r =
      http_post(port(), "/v1/completions",
                json{{"prompt", c["prompt_tokens"]}, {"max_tokens", 16}, {"temperature", 0}, {"return_tokens", true}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json want(c["generated_tokens"].begin(), c["generated_tokens"].begin() + 16);
  EXPECT_EQ(r.json["choices"][0]["token_ids"], want);
  // The one-element list forms OpenAI also accepts.
  auto nested = http_post(
      port(), "/v1/completions",
      json{{"prompt", json::array({c["prompt"]})}, {"max_tokens", 16}, {"temperature", 0}, {"return_tokens", true}});
  EXPECT_EQ(nested.json["choices"][0]["token_ids"], want);
}

TEST_F(ServerApi, ChatCompletionShape) {
  json req = {{"model", "anything"},
              {"messages", {{{"role", "system"}, {"content", "Tell a story."}}, {{"role", "user"}, {"content", "Hi"}}}},
              {"max_tokens", 20},
              {"temperature", 0},
              {"user", "someone"},
              {"some_future_field", {1, 2}}};
  auto r = http_post(port(), "/v1/chat/completions", req);
  ASSERT_EQ(r.status, 200) << r.body;
  testing::check_chat_completion(r.json);
  EXPECT_EQ(r.json["model"], "stories260K");
  EXPECT_GT(r.json["usage"]["prompt_tokens"].get<int>(), 3);
  EXPECT_LE(r.json["usage"]["completion_tokens"].get<int>(), 20);
  // Content parts are joined into the same prompt.
  json parts = req;
  parts["messages"][1]["content"] = json::array({{{"type", "text"}, {"text", "H"}}, {{"type", "text"}, {"text", "i"}}});
  auto p = http_post(port(), "/v1/chat/completions", parts);
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(p.json["choices"][0]["message"]["content"], r.json["choices"][0]["message"]["content"]);
  EXPECT_EQ(p.json["usage"]["prompt_tokens"], r.json["usage"]["prompt_tokens"]);
}

TEST_F(ServerApi, StreamedCompletionEqualsPlain) {
  json req = {{"prompt", "Once upon a time"}, {"max_tokens", 40}, {"temperature", 0}};
  auto plain = http_post(port(), "/v1/completions", req);
  ASSERT_EQ(plain.status, 200);
  req["stream"] = true;
  req["stream_options"] = {{"include_usage", true}};
  auto s = http_stream(port(), "/v1/completions", req);
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_TRUE(s.done);
  EXPECT_FALSE(s.malformed) << s.body;
  ASSERT_GE(s.chunks.size(), 3u);
  std::string text;
  for (size_t i = 0; i < s.chunks.size(); ++i) {
    SCOPED_TRACE(s.chunks[i].dump());
    testing::check_completion_chunk(s.chunks[i], {.usage = true});
    EXPECT_EQ(s.chunks[i]["id"], s.chunks[0]["id"]);
    if (i + 1 < s.chunks.size()) text += s.chunks[i]["choices"][0]["text"].get<std::string>();
  }
  EXPECT_EQ(text, plain.json["choices"][0]["text"]);
  // The last content chunk says why it ended; then the usage chunk.
  const json& last = s.chunks[s.chunks.size() - 2];
  EXPECT_EQ(last["choices"][0]["finish_reason"], "length");
  for (size_t i = 0; i + 2 < s.chunks.size(); ++i) EXPECT_TRUE(s.chunks[i]["choices"][0]["finish_reason"].is_null());
  EXPECT_TRUE(s.chunks.back()["choices"].empty());
  EXPECT_EQ(s.chunks.back()["usage"]["completion_tokens"], 40);
  // Many chunks, not one at the end: text is flushed as it is produced.
  EXPECT_GE(s.chunks.size(), 10u);
}

TEST_F(ServerApi, StreamedChat) {
  json req = {{"messages", {{{"role", "user"}, {"content", "Once upon a time"}}}},
              {"max_tokens", 24},
              {"temperature", 0},
              {"stream", true}};
  auto plain_req = req;
  plain_req.erase("stream");
  auto plain = http_post(port(), "/v1/chat/completions", plain_req);
  auto s = http_stream(port(), "/v1/chat/completions", req);
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_TRUE(s.done);
  EXPECT_FALSE(s.malformed);
  ASSERT_GE(s.chunks.size(), 2u);
  EXPECT_EQ(s.chunks[0]["choices"][0]["delta"]["role"], "assistant");
  std::string text;
  for (const json& c : s.chunks) {
    testing::check_chat_chunk(c, {.usage = false});
    text += c["choices"][0]["delta"].value("content", "");
  }
  EXPECT_EQ(text, plain.json["choices"][0]["message"]["content"]);
  EXPECT_FALSE(s.chunks.back()["choices"][0]["finish_reason"].is_null());
}

TEST_F(ServerApi, StopStringsEndGeneration) {
  auto r = http_post(port(), "/v1/completions",
                     json{{"prompt", "Once upon a time"}, {"max_tokens", 64}, {"temperature", 0}, {"stop", "Lily"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["choices"][0]["text"], ", there was a little girl named ");
  EXPECT_EQ(r.json["choices"][0]["finish_reason"], "stop");
  // A list; the earliest match wins; streamed text stops at the same place.
  json req = {{"prompt", "Once upon a time"},
              {"max_tokens", 64},
              {"temperature", 0},
              {"stop", {"park", "little"}},
              {"stream", true}};
  auto s = http_stream(port(), "/v1/completions", req);
  std::string text;
  for (const json& c : s.chunks) text += c["choices"][0]["text"].get<std::string>();
  EXPECT_EQ(text, ", there was a ");
  EXPECT_EQ(s.chunks.back()["choices"][0]["finish_reason"], "stop");
}

TEST_F(ServerApi, MaxTokensAndContextCap) {
  auto r =
      http_post(port(), "/v1/completions", json{{"prompt", "The little dog"}, {"max_tokens", 5}, {"temperature", 0}});
  EXPECT_EQ(r.json["usage"]["completion_tokens"], 5);
  EXPECT_EQ(r.json["choices"][0]["finish_reason"], "length");
  auto mct = http_post(port(), "/v1/chat/completions",
                       json{{"messages", {{{"role", "user"}, {"content", "Hi"}}}},
                            {"max_completion_tokens", 3},
                            {"temperature", 0},
                            {"logit_bias", {{"2", -100}}}});  // 2 = EOS: never stop early
  EXPECT_EQ(mct.json["usage"]["completion_tokens"], 3);
  // A huge max_tokens is capped by the context (512 for stories260K): prompt + generated fits it.
  auto big = http_post(port(), "/v1/completions",
                       json{{"prompt", "The little dog"},
                            {"max_tokens", 2000000000},
                            {"temperature", 1.5},
                            {"seed", 3},
                            {"logit_bias", {{"2", -100}}}});
  ASSERT_EQ(big.status, 200) << big.body;
  EXPECT_EQ(big.json["usage"]["total_tokens"], 512);
  EXPECT_EQ(big.json["choices"][0]["finish_reason"], "length");
}

TEST_F(ServerApi, SeedReproducible) {
  auto ask = [&](int seed) {
    return http_post(port(), "/v1/completions",
                     json{{"prompt", "The little dog"}, {"max_tokens", 32}, {"temperature", 1.0}, {"seed", seed}})
        .json["choices"][0]["text"];
  };
  const json a = ask(42), b = ask(42), c = ask(7);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // n choices: distinct, each reproducible.
  json req = {{"prompt", "The little dog"}, {"max_tokens", 16}, {"temperature", 1.0}, {"seed", 42}, {"n", 3}};
  auto n1 = http_post(port(), "/v1/completions", req);
  auto n2 = http_post(port(), "/v1/completions", req);
  ASSERT_EQ(n1.status, 200) << n1.body;
  testing::check_text_completion(n1.json, {.n_choices = 3});
  EXPECT_EQ(n1.json["choices"], n2.json["choices"]);
  EXPECT_EQ(n1.json["choices"][0]["text"],
            a.get<std::string>().substr(0, n1.json["choices"][0]["text"].get<std::string>().size()));
  EXPECT_NE(n1.json["choices"][0]["text"], n1.json["choices"][1]["text"]);
  EXPECT_EQ(n1.json["usage"]["completion_tokens"], 48);
}

// Samplers that draw from the highest logits alone (Sampler::top_needed: top-p or min-p without
// top-k, where the widest settings take the whole row on some steps; penalties with top-k) give
// the tokens of the path over every logit, which a request for log-probabilities takes.
TEST_F(ServerApi, SamplersOnTheHighestLogitsEqualAllLogits) {
  for (const json& extra : {json{{"top_k", 0}, {"top_p", 0.9}}, json{{"top_k", 0}, {"top_p", 0.9999}, {"min_p", 0.0}},
                            json{{"top_k", 0}, {"top_p", 1.0}, {"min_p", 0.0001}},
                            json{{"top_k", 20}, {"presence_penalty", 0.8}, {"frequency_penalty", 0.3}}}) {
    json req = {{"prompt", "The little dog"}, {"max_tokens", 40}, {"temperature", 1.0}, {"seed", 5}};
    req.update(extra);
    auto top = http_post(port(), "/v1/completions", req);
    req["logprobs"] = 0;
    auto all = http_post(port(), "/v1/completions", req);
    ASSERT_EQ(top.status, 200) << top.body;
    ASSERT_EQ(all.status, 200) << all.body;
    EXPECT_EQ(top.json["choices"][0]["text"], all.json["choices"][0]["text"]) << extra.dump();
    EXPECT_EQ(top.json["usage"]["completion_tokens"], all.json["usage"]["completion_tokens"]) << extra.dump();
  }
}

TEST_F(ServerApi, ChatLogprobs) {
  json req = {{"messages", {{{"role", "user"}, {"content", "Once upon a time"}}}},
              {"max_tokens", 8},
              {"temperature", 0},
              {"logprobs", true},
              {"top_logprobs", 3}};
  auto r = http_post(port(), "/v1/chat/completions", req);
  ASSERT_EQ(r.status, 200) << r.body;
  testing::check_chat_completion(r.json, {.logprobs = true});
  const json& content = r.json["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), r.json["usage"]["completion_tokens"].get<size_t>());
  std::string joined;
  for (const json& t : content) {
    ASSERT_EQ(t["top_logprobs"].size(), 3u);
    // Greedy: the chosen token is the most likely one, alternatives come most likely first.
    EXPECT_EQ(t["token"], t["top_logprobs"][0]["token"]);
    EXPECT_DOUBLE_EQ(t["logprob"].get<double>(), t["top_logprobs"][0]["logprob"].get<double>());
    EXPECT_GE(t["top_logprobs"][0]["logprob"].get<double>(), t["top_logprobs"][1]["logprob"].get<double>());
    double mass = 0;
    for (const json& a : t["top_logprobs"]) mass += std::exp(a["logprob"].get<double>());
    EXPECT_LE(mass, 1.0 + 1e-6);
    joined += t["token"].get<std::string>();
  }
  EXPECT_EQ(joined, r.json["choices"][0]["message"]["content"]);
  // Streamed: the same numbers, spread over chunks.
  req["stream"] = true;
  auto s = http_stream(port(), "/v1/chat/completions", req);
  json streamed = json::array();
  for (const json& c : s.chunks) {
    testing::check_chat_chunk(c, {.logprobs = true, .usage = false});
    if (!c["choices"][0]["logprobs"].is_null()) {
      for (const json& t : c["choices"][0]["logprobs"]["content"]) streamed.push_back(t);
    }
  }
  EXPECT_EQ(streamed, content);
}

TEST_F(ServerApi, CompletionLogprobs) {
  auto r = http_post(port(), "/v1/completions",
                     json{{"prompt", "Once upon a time"}, {"max_tokens", 6}, {"temperature", 0}, {"logprobs", 2}});
  ASSERT_EQ(r.status, 200) << r.body;
  testing::check_text_completion(r.json, {.logprobs = true});
  const json& lp = r.json["choices"][0]["logprobs"];
  ASSERT_EQ(lp["tokens"].size(), 6u);
  EXPECT_EQ(lp["text_offset"][0], 0);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(lp["top_logprobs"][i].size(), 2u);
    EXPECT_EQ(lp["top_logprobs"][i][lp["tokens"][i].get<std::string>()], lp["token_logprobs"][i]);
  }
}

TEST_F(ServerApi, StreamNeverSplitsUtf8) {
  // Non-ASCII text comes out of byte-fallback tokens, several per character:
  // streamed chunks must each hold whole characters, adding up to the plain text.
  json req = {{"prompt", "Lily said: \xC3\xA9t\xC3\xA9 \xE2\x98\x80 \xF0\x9F\x90\xB6"},
              {"max_tokens", 60},
              {"temperature", 1.2},
              {"seed", 11}};
  // Push the model towards byte tokens (id = 3 + byte in its vocabulary): the bytes of U+2600 and U+65E5,
  // with the truncating filters off so that the bias decides.
  json bias = {{"2", -100}};
  for (int byte : {0xE2, 0x98, 0x80, 0xE6, 0x97, 0xA5}) bias[std::to_string(3 + byte)] = 30;
  req["logit_bias"] = bias;
  req["top_k"] = 0;
  req["min_p"] = 0;
  req["top_p"] = 1;
  auto plain = http_post(port(), "/v1/completions", req);
  ASSERT_EQ(plain.status, 200) << plain.body;
  req["stream"] = true;
  auto s = http_stream(port(), "/v1/completions", req);
  ASSERT_FALSE(s.malformed);
  std::string text;
  for (const json& c : s.chunks) text += c["choices"][0]["text"].get<std::string>();
  EXPECT_EQ(text, plain.json["choices"][0]["text"]);
  // Raw SSE bytes are valid UTF-8 (the JSON parser checked each chunk); and the bias made multi-byte text.
  bool multibyte = false;
  for (unsigned char ch : text) multibyte |= ch >= 0x80;
  EXPECT_TRUE(multibyte) << text;
}

TEST_F(ServerApi, TokenizeDetokenize) {
  const json c = reference()["cases"][0];
  auto t = http_post(port(), "/tokenize", json{{"content", c["prompt"]}});
  ASSERT_EQ(t.status, 200) << t.body;
  EXPECT_EQ(t.json["tokens"], c["prompt_tokens"]);
  auto no_bos = http_post(port(), "/tokenize", json{{"content", c["prompt"]}, {"add_special", false}});
  EXPECT_EQ(no_bos.json["tokens"].size() + 1, c["prompt_tokens"].size());
  auto d = http_post(port(), "/detokenize", json{{"tokens", c["generated_tokens"]}});
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(d.json["content"], c["generated_text"]);
}

TEST_F(ServerApi, ChatReusesCachedPrefix) {
  json msgs = {{{"role", "user"}, {"content", "Once upon a time there was a dog"}}};
  auto first =
      http_post(port(), "/v1/chat/completions", json{{"messages", msgs}, {"max_tokens", 12}, {"temperature", 0}});
  ASSERT_EQ(first.status, 200) << first.body;
  const int first_prompt = first.json["usage"]["prompt_tokens"];
  // Another conversation in between must not evict it (two slots: it takes
  // the other one; with one slot it would, so it is left out there).
  if (slots() > 1) http_post(port(), "/v1/completions", json{{"prompt", "Sam had a red ball"}, {"max_tokens", 4}});
  msgs.push_back({{"role", "assistant"}, {"content", first.json["choices"][0]["message"]["content"]}});
  msgs.push_back({{"role", "user"}, {"content", "And then?"}});
  auto second =
      http_post(port(), "/v1/chat/completions", json{{"messages", msgs}, {"max_tokens", 8}, {"temperature", 0}});
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_GE(second.json["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), first_prompt);
  EXPECT_GT(second.json["usage"]["prompt_tokens"].get<int>(), first_prompt);
}

TEST_F(ServerApi, MetricsCountWork) {
  http_post(port(), "/v1/completions",
            json{{"prompt", "One day"}, {"max_tokens", 7}, {"temperature", 0}, {"logit_bias", {{"2", -100}}}});
  auto m = http_get(port(), "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.headers.find("Content-Type")->second.find("text/plain"), std::string::npos);
  EXPECT_GE(testing::metric(m.body, "forge_generated_tokens_total"), 7);
  EXPECT_GE(testing::metric(m.body, "forge_prompt_tokens_total"), 1);
  EXPECT_GE(testing::metric(m.body, "forge_requests_total{endpoint=\"completions\"}"), 1);
  EXPECT_EQ(testing::metric(m.body, "forge_slots_total"), slots());
  EXPECT_EQ(testing::metric(m.body, "forge_slots_busy"), 0);
  EXPECT_EQ(testing::metric(m.body, "forge_queue_depth"), 0);
  EXPECT_GE(testing::metric(m.body, "forge_tokens_per_second"), 0);
  EXPECT_NE(m.body.find("# TYPE forge_generated_tokens_total counter"), std::string::npos);
}

}  // namespace
}  // namespace forge
