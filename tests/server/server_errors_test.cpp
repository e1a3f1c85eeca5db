// Malformed input of every class gets a 4xx with a clear OpenAI-shaped error,
// and the server goes on serving; authentication; body limits; loading state.
#include <gtest/gtest.h>

#include "openai_schema.h"
#include "server_test_support.h"

namespace forge {
namespace {

using nlohmann::json;
using testing::http_get;
using testing::http_post;

class ServerErrors : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server::ServerOptions o;
    o.max_body_bytes = 64 * 1024;
    server_ = testing::TestServer::for_suite(o);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static int port() { return server_->port(); }
  // POSTs `body` and expects `status` with a message containing `words` (and the param, if given).
  static void expect_error(const std::string& path, const std::string& body, int status, const std::string& words,
                           const std::string& param = "") {
    SCOPED_TRACE(path + " " + body.substr(0, 200));
    auto r = http_post(port(), path, body);
    EXPECT_EQ(r.status, status) << r.body;
    testing::check_error(r.json);
    const std::string msg = r.json["error"].value("message", "");
    EXPECT_NE(msg.find(words), std::string::npos) << "message: " << msg;
    if (!param.empty()) {
      EXPECT_EQ(r.json["error"]["param"], param) << r.body;
    }
    if (status == 400) {
      EXPECT_EQ(r.json["error"]["type"], "invalid_request_error");
    }
  }
  static void still_serves() {
    auto r = http_post(port(), "/v1/completions",
                       json{{"prompt", "Once upon a time"}, {"max_tokens", 4}, {"temperature", 0}});
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(http_get(port(), "/health").status, 200);
  }
  static testing::TestServer* server_;
};
testing::TestServer* ServerErrors::server_ = nullptr;

const std::string kChat = "/v1/chat/completions";
const std::string kComp = "/v1/completions";

std::string with(json base, const std::string& key, json value) {
  base[key] = std::move(value);
  return base.dump();
}
const json kPrompt = {{"prompt", "Once upon a time"}};
const json kMessages = {{"messages", {{{"role", "user"}, {"content", "Hi"}}}}};

TEST_F(ServerErrors, MalformedJson) {
  expect_error(kComp, "{\"prompt\": \"hi\"", 400, "not valid JSON");
  expect_error(kComp, "", 400, "empty");
  expect_error(kComp, "[1, 2]", 400, "JSON object");
  expect_error(kChat, "\"just a string\"", 400, "JSON object");
  expect_error(kComp, "{\"prompt\": \"hi\", \"temperature\": NaN}", 400, "not valid JSON");
  expect_error(kComp, "{\"prompt\": \"hi\", \"temperature\": 1e999}", 400, "not valid JSON");
  // Invalid UTF-8 inside a string (a lone continuation byte, an overlong encoding).
  expect_error(kComp, "{\"prompt\": \"bad \x80 byte\"}", 400, "UTF-8");
  expect_error(kChat, "{\"messages\": [{\"role\": \"user\", \"content\": \"\xC0\xAF\"}]}", 400, "UTF-8");
  still_serves();
}

TEST_F(ServerErrors, WrongTypes) {
  expect_error(kComp, with(kPrompt, "max_tokens", "ten"), 400, "must be an integer", "max_tokens");
  expect_error(kComp, with(kPrompt, "max_tokens", 2.5), 400, "must be an integer", "max_tokens");
  expect_error(kComp, with(kPrompt, "temperature", "hot"), 400, "must be a number", "temperature");
  expect_error(kComp, with(kPrompt, "stream", "yes"), 400, "true or false", "stream");
  expect_error(kComp, with(kPrompt, "stop", 5), 400, "string or a list", "stop");
  expect_error(kComp, with(kPrompt, "stop", json::array({"a", 1})), 400, "string or a list", "stop");
  expect_error(kComp, with(kPrompt, "logit_bias", json::array({1})), 400, "logit_bias", "logit_bias");
  expect_error(kComp, with(kPrompt, "logit_bias", {{"5", "x"}}), 400, "numbers", "logit_bias");
  expect_error(kComp, with(kPrompt, "logit_bias", {{"five", 1}}), 400, "not a token id", "logit_bias");
  expect_error(kComp, with(kPrompt, "seed", "42"), 400, "integer", "seed");
  expect_error(kComp, with(kPrompt, "user", 7), 400, "string", "user");
  expect_error(kComp, with(kPrompt, "stream_options", true), 400, "object", "stream_options");
  expect_error(kComp, with(kPrompt, "prompt", 42), 400, "string or a list", "prompt");
  expect_error(kComp, with(kPrompt, "prompt", json::array({"a", "b"})), 400, "one prompt", "prompt");
  expect_error(kComp, with(kPrompt, "prompt", json::array()), 400, "empty", "prompt");
  expect_error(kComp, "{}", 400, "'prompt' is required", "prompt");
  expect_error(kChat, "{}", 400, "'messages' is required", "messages");
  expect_error(kChat, with(kMessages, "messages", "hi"), 400, "non-empty list", "messages");
  expect_error(kChat, with(kMessages, "messages", json::array()), 400, "non-empty list", "messages");
  expect_error(kChat, with(kMessages, "messages", json::array({{{"role", "wizard"}, {"content", "x"}}})), 400,
               "must be system", "messages[0].role");
  expect_error(kChat, with(kMessages, "messages", json::array({{{"content", "x"}}})), 400, "role", "messages[0].role");
  expect_error(kChat, with(kMessages, "messages", json::array({{{"role", "user"}, {"content", 5}}})), 400,
               "string or a list", "messages[0].content");
  expect_error(kChat,
               with(kMessages, "messages", json::array({{{"role", "user"}, {"content", {{{"type", "image_url"}}}}}})),
               400, "only text", "messages[0].content");
  expect_error(kChat, with(kMessages, "logprobs", 3), 400, "true or false", "logprobs");
  expect_error(kChat, with(kMessages, "top_logprobs", 3), 400, "needs 'logprobs'", "top_logprobs");
  still_serves();
}

TEST_F(ServerErrors, NumbersOutOfRange) {
  expect_error(kComp, with(kPrompt, "max_tokens", -1), 400, "between 1 and", "max_tokens");
  expect_error(kComp, with(kPrompt, "max_tokens", 0), 400, "between 1 and", "max_tokens");
  expect_error(kComp, with(kPrompt, "max_tokens", 1e12), 400, "between 1 and", "max_tokens");
  expect_error(kComp, with(kPrompt, "max_tokens", json(uint64_t{18446744073709551615u})), 400, "between 1 and",
               "max_tokens");
  expect_error(kComp, with(kPrompt, "temperature", -0.5), 400, "between 0 and 2", "temperature");
  expect_error(kComp, with(kPrompt, "temperature", 1e300), 400, "between 0 and 2", "temperature");
  expect_error(kComp, with(kPrompt, "top_p", 1.5), 400, "between 0 and 1", "top_p");
  expect_error(kComp, with(kPrompt, "min_p", -1), 400, "between 0 and 1", "min_p");
  expect_error(kComp, with(kPrompt, "top_k", -3), 400, "between 0 and", "top_k");
  expect_error(kComp, with(kPrompt, "presence_penalty", 3), 400, "between -2 and 2", "presence_penalty");
  expect_error(kComp, with(kPrompt, "frequency_penalty", -2.5), 400, "between -2 and 2", "frequency_penalty");
  expect_error(kComp, with(kPrompt, "repeat_penalty", 0), 400, "greater than 0", "repeat_penalty");
  expect_error(kComp, with(kPrompt, "n", 0), 400, "between 1 and 16", "n");
  expect_error(kComp, with(kPrompt, "n", 1000), 400, "between 1 and 16", "n");
  expect_error(kComp, with(kPrompt, "logprobs", 99), 400, "between 0 and 20", "logprobs");
  expect_error(kComp, with(kPrompt, "logit_bias", {{"5", 500}}), 400, "between -100 and 100", "logit_bias");
  expect_error(kComp, with(kPrompt, "stop", ""), 400, "must not be empty", "stop");
  expect_error(kComp,
               with(kPrompt, "stop",
                    json::array({"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q"})),
               400, "at most 16", "stop");
  still_serves();
}

TEST_F(ServerErrors, TokenIdsOutOfRange) {
  expect_error(kComp, with(kPrompt, "prompt", json::array({1, 600})), 400, "token id 600", "prompt");
  expect_error(kComp, with(kPrompt, "prompt", json::array({-1})), 400, "outside the vocabulary", "prompt");
  expect_error(kComp, with(kPrompt, "prompt", json::array({1, 2.5})), 400, "integer token ids", "prompt");
  expect_error(kComp, with(kPrompt, "logit_bias", {{"512", 1}}), 400, "outside the vocabulary", "logit_bias");
  expect_error("/detokenize", json{{"tokens", {1, 99999}}}.dump(), 400, "token id 99999", "tokens");
  expect_error("/detokenize", json{{"tokens", "1,2"}}.dump(), 400, "list of token ids", "tokens");
  expect_error("/tokenize", json{{"content", 5}}.dump(), 400, "must be a string", "content");
  expect_error("/tokenize", json{{"content", "x"}, {"add_special", "no"}}.dump(), 400, "true or false", "add_special");
  still_serves();
}

TEST_F(ServerErrors, PromptOverTheContext) {
  std::string longer;
  for (int i = 0; i < 200; ++i) longer += "Once upon a time ";  // ~800 tokens > 512
  auto r = http_post(port(), kComp, json{{"prompt", longer}});
  EXPECT_EQ(r.status, 400);
  testing::check_error(r.json);
  EXPECT_EQ(r.json["error"]["code"], "context_length_exceeded");
  EXPECT_NE(r.json["error"]["message"].get<std::string>().find("context holds 512"), std::string::npos) << r.body;
  auto chat = http_post(port(), kChat, json{{"messages", {{{"role", "user"}, {"content", longer}}}}});
  EXPECT_EQ(chat.status, 400);
  EXPECT_EQ(chat.json["error"]["code"], "context_length_exceeded");
  still_serves();
}

TEST_F(ServerErrors, BodyOverTheLimit) {
  const std::string big = json{{"prompt", std::string(100 * 1024, 'a')}}.dump();
  auto r = http_post(port(), kComp, big);
  EXPECT_EQ(r.status, 413);
  testing::check_error(r.json);
  EXPECT_NE(r.body.find("larger than 65536 bytes"), std::string::npos) << r.body;
  still_serves();
}

TEST_F(ServerErrors, UnknownEndpointAndMethod) {
  auto r = http_get(port(), "/v1/engines");
  EXPECT_EQ(r.status, 404);
  testing::check_error(r.json);
  EXPECT_NE(r.body.find("/v1/engines"), std::string::npos);
  auto g = http_get(port(), "/v1/completions");
  EXPECT_GE(g.status, 400);
  EXPECT_LT(g.status, 500);
  testing::check_error(g.json);
  still_serves();
}

TEST(ServerAuth, BearerKeyRequiredExceptHealth) {
  server::ServerOptions o;
  o.api_key = "s3cret-key";
  testing::TestServer s(testing::stories_model(), o);
  const json body = {{"prompt", "Once"}, {"max_tokens", 2}};
  auto none = http_post(s.port(), kComp, body);
  EXPECT_EQ(none.status, 401);
  testing::check_error(none.json);
  EXPECT_EQ(none.json["error"]["code"], "invalid_api_key");
  EXPECT_NE(none.json["error"]["message"].get<std::string>().find("missing API key"), std::string::npos);
  for (const char* bad :
       {"Bearer s3cret-ke", "Bearer s3cret-keyX", "Bearer S3CRET-KEY", "s3cret-key", "Basic czNjcmV0LWtleQ=="}) {
    auto r = http_post(s.port(), kComp, body, {{"Authorization", bad}});
    EXPECT_EQ(r.status, 401) << bad;
  }
  EXPECT_EQ(http_get(s.port(), "/v1/models").status, 401);
  EXPECT_EQ(http_get(s.port(), "/metrics").status, 401);
  EXPECT_EQ(http_post(s.port(), "/tokenize", json{{"content", "x"}}).status, 401);
  auto ok = http_post(s.port(), kComp, body, {{"Authorization", "Bearer s3cret-key"}});
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(http_get(s.port(), "/health").status, 200);
  EXPECT_EQ(http_get(s.port(), "/metrics", {{"Authorization", "Bearer s3cret-key"}}).status, 200);
}

TEST(ServerLoading, HealthIs503UntilTheModelIsSet) {
  server::ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  server::Server s(o);
  const int port = s.start();
  auto h = http_get(port, "/health");
  EXPECT_EQ(h.status, 503);
  EXPECT_EQ(h.json["status"], "loading");
  auto c = http_post(port, kComp, json{{"prompt", "x"}});
  EXPECT_EQ(c.status, 503);
  testing::check_error(c.json);
  EXPECT_EQ(http_get(port, "/v1/models").status, 503);
  s.shutdown();
  s.wait();
}

}  // namespace
}  // namespace forge
