// cache_test.cc: the shared response cache, cross-process coalescing and the
// per-client LLM budget, through the real stack with the mock upstream.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "mock_llm.h"
#include "stack.h"

namespace folio::test {
namespace {

std::string Ask(const std::string& message) { return nlohmann::json({{"message", message}}).dump(); }

TEST(CacheTest, SecondIdenticalQuestionIsAHitWithoutAnUpstreamCall) {
  MockLlm mock;
  ASSERT_TRUE(mock.Start().ok());
  std::string error;
  auto stack = TestStack::Start({{"OPENAI_API_KEY", "sk-x"}, {"LLM_BASE_URL", mock.base_url()}}, &error);
  ASSERT_NE(stack, nullptr) << error;
  HttpResponse first = stack->Post("/api/chat", Ask("What is Tollgate?"));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.Json()["cached"], false);
  // Same question, other case, spacing and punctuation, from a new session.
  HttpResponse second = stack->Post("/api/chat", Ask("  what is   TOLLGATE "));
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(second.Json()["cached"], true);
  EXPECT_EQ(second.Json()["response"], first.Json()["response"]);
  EXPECT_EQ(mock.Calls("chat_completions"), 1);
  // A follow-up in a conversation is a different question.
  std::string session = first.Json()["session_id"];
  HttpResponse follow = stack->Post("/api/chat", nlohmann::json({{"message", "What is Tollgate?"}, {"session_id", session}}).dump());
  EXPECT_EQ(follow.Json()["cached"], false);
  EXPECT_EQ(mock.Calls("chat_completions"), 2);
  // Streamed from the cache as a stream.
  std::string raw = StreamHttp(stack->port(), "POST", "/api/chat",
                               nlohmann::json({{"message", "What is Tollgate?"}, {"stream", true}}).dump(),
                               {{"Content-Type", "application/json"}}, [](const std::string&) { return true; });
  EXPECT_NE(raw.find("event: token"), std::string::npos);
  EXPECT_NE(raw.find("\"cached\":true"), std::string::npos) << raw;
  EXPECT_EQ(mock.Calls("chat_completions"), 2);
  // Greetings are answered from canned replies, no LLM call.
  HttpResponse hi = stack->Post("/api/chat", Ask("Hello!"));
  EXPECT_EQ(hi.status, 200);
  EXPECT_FALSE(hi.Json()["response"].get<std::string>().empty());
  EXPECT_EQ(mock.Calls("chat_completions"), 2);
  // Counts are batched per process: the worker that served the hits folds
  // them into the shared totals within its housekeeping pass (5 s).
  nlohmann::json stats;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(std::chrono::milliseconds(250))) {
    stats = stack->Get("/api/cache/stats").Json();
    if (stats["hits"].is_number() && stats["hits"].get<int>() >= 2) break;
  }
  ASSERT_TRUE(stats["hits"].is_number() && stats["entries"].is_number()) << stats;
  EXPECT_EQ(stats["hits"].get<int>(), 2) << stats;
  EXPECT_GE(stats["entries"].get<int>(), 2);
  std::string metrics = stack->Get("/metrics").body;
  EXPECT_NE(metrics.find("folio_cache_hits_total 2"), std::string::npos) << metrics.substr(0, 300);
  stack.reset();
  mock.Stop();
}

TEST(CacheTest, HundredConcurrentIdenticalQuestionsMakeOneUpstreamCall) {
  MockLlm mock;
  ASSERT_TRUE(mock.Start().ok());
  MockBehaviour slow;
  slow.latency_ms = 1500;
  slow.reply = "One answer for everybody.";
  mock.SetChatDefault(slow);
  std::string error;
  auto stack = TestStack::Start({{"OPENAI_API_KEY", "sk-x"}, {"LLM_BASE_URL", mock.base_url()}, {"WORKERS", "2"},
                                 {"CHAT_THREADS", "64"}, {"CHAT_QUEUE", "64"}, {"REQUEST_TIMEOUT_S", "20"},
                                 {"CONN_LIMIT_PER_IP", "1000"}, {"RATE_LIMIT_RPS", "10000"}, {"RATE_LIMIT_BURST", "10000"}},
                                &error);
  ASSERT_NE(stack, nullptr) << error;
  std::vector<std::thread> clients;
  std::mutex mu;
  std::vector<std::string> answers;
  std::set<std::string> workers;
  std::atomic<int> failed{0};
  for (int i = 0; i < 100; ++i)
    clients.emplace_back([&] {
      HttpResponse r = stack->Post("/api/chat", Ask("Which databases has Maya used in production?"),
                                   {{}, std::chrono::seconds(30)});
      if (r.status != 200) {
        failed++;
        ADD_FAILURE() << r.raw.substr(0, 200);
        return;
      }
      std::lock_guard<std::mutex> lock(mu);
      answers.push_back(r.Json()["response"]);
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(mock.Calls("chat_completions"), 1);
  ASSERT_EQ(answers.size(), 100u);
  for (const auto& a : answers) EXPECT_EQ(a, "One answer for everybody.");
  // Both worker processes took part (coalescing crossed processes).
  EXPECT_NE(stack->ReadLog("worker-0.log").find("/api/chat"), std::string::npos);
  EXPECT_NE(stack->ReadLog("worker-1.log").find("/api/chat"), std::string::npos);
  auto stats = stack->Get("/api/cache/stats").Json();
  EXPECT_GE(stats["coalesced"].get<int>() + stats["hits"].get<int>(), 1) << stats;
  stack.reset();
  mock.Stop();
}

TEST(CacheTest, ExpensiveBudgetIs429WithRetryAfterButHitsAreFree) {
  MockLlm mock;
  ASSERT_TRUE(mock.Start().ok());
  std::string error;
  auto stack = TestStack::Start({{"OPENAI_API_KEY", "sk-x"}, {"LLM_BASE_URL", mock.base_url()},
                                 {"CLIENT_EXPENSIVE_RPM", "2"}},
                                &error);
  ASSERT_NE(stack, nullptr) << error;
  EXPECT_EQ(stack->Post("/api/chat", Ask("What is Lantern?")).status, 200);
  EXPECT_EQ(stack->Post("/api/chat", Ask("What is Driftwood?")).status, 200);
  HttpResponse third = stack->Post("/api/chat", Ask("What is Riverbed?"));
  EXPECT_EQ(third.status, 429) << third.body;
  EXPECT_EQ(third.Json()["error"]["code"], "rate_limited");
  EXPECT_GE(std::stoi(third.Header("retry-after")), 1);
  EXPECT_EQ(mock.Calls("chat_completions"), 2);
  // A cache hit does not spend the budget.
  HttpResponse hit = stack->Post("/api/chat", Ask("What is Lantern?"));
  EXPECT_EQ(hit.status, 200);
  EXPECT_EQ(hit.Json()["cached"], true);
  stack.reset();
  mock.Stop();
}

TEST(ClientLimitTest, GeneralRateIsSharedAcrossWorkersAndAnswers429WithRetryAfter) {
  std::string error;
  auto stack = TestStack::Start({{"CLIENT_RPM", "5"}}, &error);
  ASSERT_NE(stack, nullptr) << error;
  int ok = 0;
  HttpResponse limited;
  for (int i = 0; i < 8; ++i) {
    HttpResponse r = stack->Post("/api/search", R"({"query":"Tollgate"})");
    if (r.status == 200) ++ok;
    if (r.status == 429) limited = r;
  }
  EXPECT_EQ(ok, 5);  // one budget for the client, whichever of the 2 workers answered
  EXPECT_EQ(limited.Json()["error"]["code"], "rate_limited");
  EXPECT_GE(std::stoi(limited.Header("retry-after")), 1);
  EXPECT_EQ(stack->Get("/ping").status, 200);
  EXPECT_EQ(stack->Get("/api/health").status / 100, 2);
}

}  // namespace
}  // namespace folio::test
