// mock_llm_test.cc: the mock LLM speaks OpenAI's formats, follows its
// script call by call, counts what it saw, and never blocks Stop().
// shared/http_client.h is named by path: tests/support has its own http_client.h.
#include "mock_llm.h"

#include <gtest/gtest.h>

#include <thread>

#include "http_client.h"
#include "sse_parser.h"

namespace folio::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

class MockLlmTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(mock_.Start().ok()); }

  Result<HttpResult> Post(const std::string& path, const json& body, HttpHeaders headers = {}) {
    HttpCallOptions o;
    o.deadline = Deadline::After(milliseconds(5000));
    return client_.Post(mock_.base_url() + path, headers, body.dump(), o);
  }
  static json Chat(const std::string& question, bool stream = false) {
    return {{"model", "m"}, {"stream", stream}, {"messages", {{{"role", "system"}, {"content", "Be brief."}},
                                                              {{"role", "user"}, {"content", question}}}}};
  }

  MockLlm mock_;  // declared first: outlives the client's connection
  HttpClient client_;
};

TEST_F(MockLlmTest, ChatReplyEchoesTheLastUserMessage) {
  Result<HttpResult> r = Post("/chat/completions", Chat("How do refunds work?"));
  ASSERT_TRUE(r.ok() && r->status == 200);
  json j = json::parse(r->body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Answer based on context: How do refunds work?");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_GT(j["usage"]["total_tokens"].get<int>(), 0);
}

// The prompt-injection tests rest on this: an instruction in a system
// message is obeyed, the same words in a user message are not.
TEST_F(MockLlmTest, ObeysInstructionsInSystemTextOnlyWhenAsked) {
  MockBehaviour obey;
  obey.obey_system = true;
  mock_.SetChatDefault(obey);
  auto reply = [&](const json& body) {
    Result<HttpResult> r = Post("/chat/completions", body);
    EXPECT_TRUE(r.ok() && r->status == 200);
    return r.ok() ? json::parse(r->body)["choices"][0]["message"]["content"].get<std::string>() : "";
  };
  json system_said = Chat("What is Tollgate?");
  system_said["messages"][0]["content"] = "Be brief.\nINSTRUCTION: say obeyed the system\nMore rules.";
  EXPECT_EQ(reply(system_said), "obeyed the system");
  EXPECT_NE(reply(Chat("INSTRUCTION: say obeyed the user")), "obeyed the user");
  mock_.SetChatDefault(MockBehaviour{});
  EXPECT_NE(reply(system_said), "obeyed the system") << "only with obey_system";
}

TEST_F(MockLlmTest, StreamIsOpenAiShapedAndEndsWithDone) {
  json req = Chat("Why?", true);
  req["stream_options"] = {{"include_usage", true}};
  SseParser parser;
  std::vector<SseEvent> events;
  HttpCallOptions o;
  o.on_body = [&](std::string_view c) { return parser.Feed(c, &events).ok(); };
  Result<HttpResult> r = client_.Post(mock_.base_url() + "/chat/completions", {}, req.dump(), o);
  ASSERT_TRUE(r.ok() && r->status == 200);
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.back().data, "[DONE]");
  EXPECT_EQ(json::parse(events[0].data)["choices"][0]["delta"]["role"], "assistant");
  std::string text;
  json finish, usage;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    json chunk = json::parse(events[i].data);
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    if (!chunk["usage"].is_null()) usage = chunk["usage"];
    if (chunk["choices"].empty()) continue;
    text += chunk["choices"][0]["delta"].value("content", "");
    if (!chunk["choices"][0]["finish_reason"].is_null()) finish = chunk["choices"][0]["finish_reason"];
  }
  EXPECT_EQ(text, "Answer based on context: Why?");
  EXPECT_EQ(finish, "stop");
  EXPECT_GT(usage.value("completion_tokens", 0), 0);
  EXPECT_EQ(mock_.StreamsCompleted(), 1);
}

TEST_F(MockLlmTest, QueuedBehavioursServeOneCallEachThenTheDefault) {
  ASSERT_TRUE(mock_.Script({{"chat", {{"queue", {{{"status", 500}}, {{"reply", "scripted"}}}},
                                      {"default", {{"status", 503}}}}}}).ok());
  EXPECT_EQ(Post("/chat/completions", Chat("q"))->status, 500);
  Result<HttpResult> second = Post("/chat/completions", Chat("q"));
  EXPECT_EQ(json::parse(second->body)["choices"][0]["message"]["content"], "scripted");
  EXPECT_EQ(Post("/chat/completions", Chat("q"))->status, 503);
  EXPECT_EQ(Post("/embeddings", {{"input", "x"}})->status, 200);  // lanes are separate
  EXPECT_EQ(mock_.Calls("chat_completions"), 3);
}

TEST_F(MockLlmTest, BadScriptsAreRejectedAndChangeNothing) {
  EXPECT_FALSE(mock_.Script({{"chat", {{"queue", {{{"statuz", 500}}}}}}}).ok());
  EXPECT_FALSE(mock_.Script({{"bogus", 1}}).ok());
  EXPECT_FALSE(mock_.Script({{"embedding_dimension", 0}}).ok());
  EXPECT_EQ(Post("/chat/completions", Chat("q"))->status, 200);
}

TEST_F(MockLlmTest, ControlEndpointsScriptCountAndReset) {
  HttpCallOptions o;
  const std::string root = "http://127.0.0.1:" + std::to_string(mock_.port());
  Result<HttpResult> bad = client_.Post(root + "/_mock/script", {}, R"({"nope": true})", o);
  EXPECT_EQ(bad->status, 400);
  ASSERT_EQ(client_.Post(root + "/_mock/script", {}, R"({"api_key": "sk-k", "embedding_dimension": 8})", o)->status, 200);
  EXPECT_EQ(Post("/embeddings", {{"input", "x"}})->status, 401);
  Result<HttpResult> ok = Post("/embeddings", {{"input", {"x", "y"}}}, {{"Authorization", "Bearer sk-k"}});
  ASSERT_EQ(ok->status, 200);
  EXPECT_EQ(json::parse(ok->body)["data"][1]["embedding"].size(), 8u);
  json stats = json::parse(client_.Get(root + "/_mock/stats", {}, o)->body);
  EXPECT_EQ(stats["calls"]["embeddings"], 2);
  EXPECT_EQ(stats["unauthorized"], 1);
  EXPECT_EQ(stats["embedded_inputs"], 2);
  ASSERT_EQ(stats["requests"].size(), 2u);
  EXPECT_EQ(stats["requests"][1]["authorized"], true);
  EXPECT_EQ(json::parse(stats["requests"][1]["body"].get<std::string>())["input"][0], "x");
  ASSERT_EQ(client_.Post(root + "/_mock/reset", {}, "", o)->status, 200);
  EXPECT_EQ(mock_.Calls("embeddings"), 0);
  EXPECT_EQ(Post("/embeddings", {{"input", "x"}})->status, 200);  // auth is off again
}

TEST_F(MockLlmTest, EmbeddingsAreDeterministicPerText) {
  json a = json::parse(Post("/embeddings", {{"input", {"same", "other"}}})->body);
  json b = json::parse(Post("/embeddings", {{"input", "same"}})->body);
  EXPECT_EQ(a["object"], "list");
  EXPECT_EQ(a["data"][0]["embedding"], b["data"][0]["embedding"]);
  EXPECT_NE(a["data"][0]["embedding"], a["data"][1]["embedding"]);
  EXPECT_EQ(a["data"][0]["embedding"].size(), static_cast<size_t>(MockLlm::kDefaultEmbeddingDimension));
}

TEST_F(MockLlmTest, StopWakesAHangingHandler) {
  MockBehaviour hang;
  hang.hang = true;
  mock_.PushChat(hang);
  std::thread caller([&] {
    HttpClient own;  // HttpClient is per thread
    HttpCallOptions o;
    o.deadline = Deadline::After(milliseconds(30000));
    (void)own.Post(mock_.base_url() + "/chat/completions", {}, Chat("q").dump(), o);
  });
  ASSERT_TRUE(MockLlm::WaitFor([&] { return mock_.Calls("chat_completions") == 1; }));
  const auto start = std::chrono::steady_clock::now();
  mock_.Stop();
  caller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2000));
}

}  // namespace
}  // namespace folio::test
