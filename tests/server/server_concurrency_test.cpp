// Slots, the queue, continuous batching, client disconnects and shutdown.
// A SlowForward (each model step sleeps) keeps slots busy for a known time.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <thread>

#include "openai_schema.h"
#include "server_test_support.h"

namespace forge {
namespace {

using nlohmann::json;
using testing::http_get;
using testing::http_post;
using testing::http_stream;
using Clock = std::chrono::steady_clock;

// Waits until /metrics shows every slot free and nothing queued (or the time is up).
bool wait_idle(int port, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    auto m = http_get(port, "/metrics");
    if (m.status == 200 && testing::metric(m.body, "forge_slots_busy") == 0 &&
        testing::metric(m.body, "forge_queue_depth") == 0) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST(ServerConcurrency, BatchedGreedyMatchesReference) {
  // Four slots decode the five reference prompts together (and a fifth waits):
  // batching must not change a single greedy token.
  std::ifstream in(std::string(FORGE_DATA_DIR) + "/models/stories260K/reference-greedy.json");
  ASSERT_TRUE(in) << "missing models/stories260K/reference-greedy.json";
  const json ref = json::parse(in);
  server::ServerOptions o;
  o.parallel = 4;
  testing::TestServer s(testing::stories_model(), o);
  std::vector<std::future<testing::HttpReply>> replies;
  for (const json& c : ref["cases"]) {
    replies.push_back(std::async(std::launch::async, [&, c] {
      return http_post(s.port(), "/v1/completions",
                       json{{"prompt", c["prompt"]}, {"max_tokens", 64}, {"temperature", 0}, {"return_tokens", true}});
    }));
  }
  for (size_t i = 0; i < replies.size(); ++i) {
    auto r = replies[i].get();
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json["choices"][0]["token_ids"], ref["cases"][i]["generated_tokens"]) << ref["cases"][i]["prompt"];
  }
  auto m = http_get(s.port(), "/metrics");
  // Fewer steps than tokens: several slots advanced in one decode_batch call.
  EXPECT_LT(testing::metric(m.body, "forge_decode_steps_total"),
            testing::metric(m.body, "forge_generated_tokens_total") * 0.7);
}

TEST(ServerConcurrency, FullQueueAnswers503WithRetryAfter) {
  server::ServerOptions o;
  o.parallel = 1;
  o.queue = 1;
  testing::TestServer s(testing::stories_model(), o, 1, /*delay_ms=*/20);
  const json slow = {
      {"prompt", "Once upon a time"}, {"max_tokens", 30}, {"temperature", 0}, {"logit_bias", {{"2", -100}}}};
  auto a = std::async(std::launch::async, [&] { return http_post(s.port(), "/v1/completions", slow); });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // a runs
  auto b = std::async(std::launch::async, [&] { return http_post(s.port(), "/v1/completions", slow); });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // b waits in the queue
  auto c = http_post(s.port(), "/v1/completions", slow);
  EXPECT_EQ(c.status, 503) << c.body;
  testing::check_error(c.json);
  EXPECT_EQ(c.json["error"]["code"], "queue_full");
  ASSERT_TRUE(c.headers.count("Retry-After"));
  EXPECT_EQ(c.headers.find("Retry-After")->second, "1");
  // n choices count as queued work too.
  auto n = http_post(s.port(), "/v1/completions", json{{"prompt", "x"}, {"n", 3}});
  EXPECT_EQ(n.status, 503);
  EXPECT_EQ(a.get().status, 200);
  EXPECT_EQ(b.get().status, 200);
  EXPECT_TRUE(wait_idle(s.port(), std::chrono::seconds(5)));
  EXPECT_GE(testing::metric(http_get(s.port(), "/metrics").body, "forge_requests_rejected_total"), 2);
}

TEST(ServerConcurrency, StreamDisconnectFreesTheSlotAtOnce) {
  server::ServerOptions o;
  o.parallel = 1;
  testing::TestServer s(testing::stories_model(), o, 1, /*delay_ms=*/10);
  const json req = {{"prompt", "Once upon a time"},
                    {"max_tokens", 400},
                    {"temperature", 0},
                    {"stream", true},
                    {"logit_bias", {{"2", -100}}}};
  auto t0 = Clock::now();
  auto r = http_stream(s.port(), "/v1/completions", req, /*abort_after=*/3);
  EXPECT_TRUE(r.aborted);
  ASSERT_TRUE(wait_idle(s.port(), std::chrono::seconds(2))) << "the slot stayed busy after the client left";
  // Far less than 400 tokens (4 s of steps) were generated.
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(2));
  auto m = http_get(s.port(), "/metrics");
  EXPECT_LT(testing::metric(m.body, "forge_generated_tokens_total"), 100);
  EXPECT_EQ(testing::metric(m.body, "forge_requests_cancelled_total"), 1);
  // And the slot serves the next request.
  auto next = http_post(s.port(), "/v1/completions", json{{"prompt", "Once upon a time"}, {"max_tokens", 3}});
  EXPECT_EQ(next.status, 200);
}

TEST(ServerConcurrency, NonStreamedDisconnectFreesTheSlot) {
  server::ServerOptions o;
  o.parallel = 1;
  testing::TestServer s(testing::stories_model(), o, 1, /*delay_ms=*/10);
  // The generation would take 4 s; the client leaves after 0.3 s.
  testing::post_and_hang_up(
      s.port(), "/v1/completions",
      json{{"prompt", "Once upon a time"}, {"max_tokens", 400}, {"logit_bias", {{"2", -100}}}}.dump(), 300);
  // The heartbeat write fails within about a second of the client leaving.
  EXPECT_TRUE(wait_idle(s.port(), std::chrono::milliseconds(2500)));
  EXPECT_LT(testing::metric(http_get(s.port(), "/metrics").body, "forge_generated_tokens_total"), 350);
}

TEST(ServerConcurrency, QueuedRequestOfAGoneClientIsDropped) {
  server::ServerOptions o;
  o.parallel = 1;
  o.queue = 4;
  testing::TestServer s(testing::stories_model(), o, 1, /*delay_ms=*/10);
  const json req = {
      {"prompt", "Once upon a time"}, {"max_tokens", 60}, {"stream", true}, {"logit_bias", {{"2", -100}}}};
  auto a = std::async(std::launch::async, [&] { return http_stream(s.port(), "/v1/completions", req); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // This one waits in the queue and its client closes after the first heartbeat.
  auto b = http_stream(s.port(), "/v1/completions", req, /*abort_after=*/0);
  (void)b;
  auto done = a.get();
  EXPECT_TRUE(done.done);
  ASSERT_TRUE(wait_idle(s.port(), std::chrono::seconds(3)));
  auto m = http_get(s.port(), "/metrics");
  EXPECT_LT(testing::metric(m.body, "forge_generated_tokens_total"), 100);
}

TEST(ServerConcurrency, ShutdownCancelsInFlightStreams) {
  server::ServerOptions o;
  o.parallel = 2;
  o.shutdown_grace_s = 0;
  auto s = std::make_unique<testing::TestServer>(testing::stories_model(), o, 1, /*delay_ms=*/10);
  const int port = s->port();
  const json req = {
      {"prompt", "Once upon a time"}, {"max_tokens", 400}, {"stream", true}, {"logit_bias", {{"2", -100}}}};
  auto a = std::async(std::launch::async, [&] { return http_stream(port, "/v1/completions", req); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto t0 = Clock::now();
  s->server().shutdown();
  s->server().wait();
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(3));
  auto r = a.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.done);
  ASSERT_FALSE(r.chunks.empty());
  ASSERT_TRUE(r.chunks.back().contains("error")) << r.chunks.back().dump();
  testing::check_error(r.chunks.back());
  EXPECT_EQ(r.chunks.back()["error"]["code"], "shutdown");
  EXPECT_EQ(http_get(port, "/health").status, -1);  // no longer listening
}

TEST(ServerConcurrency, ShutdownLetsShortRequestsFinish) {
  server::ServerOptions o;
  o.parallel = 1;
  o.shutdown_grace_s = 5;
  testing::TestServer s(testing::stories_model(), o, 1, /*delay_ms=*/10);
  const json req = {
      {"prompt", "Once upon a time"}, {"max_tokens", 30}, {"stream", true}, {"logit_bias", {{"2", -100}}}};
  auto a = std::async(std::launch::async, [&] { return http_stream(s.port(), "/v1/completions", req); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  s.server().shutdown();
  auto r = a.get();
  EXPECT_TRUE(r.done) << r.body;
  EXPECT_EQ(r.chunks.size(), 30u);
}

}  // namespace
}  // namespace forge
