// shared_limits_test.cc: what the worker processes promise together, through
// the real stack with the mock upstream: a coalescing leader killed with
// SIGKILL mid-call is replaced by one of its followers (one more upstream
// call, not one per follower, and nobody waits past the deadline); the
// per-client concurrency limit and the global upstream slots answer 429 and
// 503 with Retry-After across both workers.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <regex>
#include <thread>

#include "mock_llm.h"
#include "stack.h"

namespace folio::test {
namespace {

using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

std::string Ask(const std::string& message) { return nlohmann::json({{"message", message}}).dump(); }

// The worker process that made the first chat call the mock received: the
// process at the other end of that call's connection. -1 until there is one.
// (Not just any worker connected to the mock: each worker's start-up key
// check may leave an idle keep-alive connection to it.)
pid_t CallerOf(const MockLlm& mock) {
  const nlohmann::json stats = mock.Stats();
  for (const nlohmann::json& r : stats["requests"]) {
    if (r["endpoint"] != "chat_completions") continue;
    std::string out;
    RunCommand("ss -Htnp state established '( sport = :" + std::to_string(r["peer_port"].get<int>()) +
                   " and dport = :" + std::to_string(mock.port()) + " )'",
               &out);
    std::smatch m;
    if (std::regex_search(out, m, std::regex(R"(folio-worker\",pid=(\d+))"))) return std::stoi(m[1]);
    return -1;
  }
  return -1;
}

struct Outcome {
  int status = 0;
  std::string body;
  double seconds = 0;
};

// Sends `n` chats at once on their own threads; returns when all ended.
std::vector<Outcome> Concurrently(const TestStack& stack, int n, const std::function<std::string(int)>& body) {
  std::vector<Outcome> out(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      auto start = Clock::now();
      HttpResponse r = stack.Post("/api/chat", body(i), {{}, seconds(40)});
      out[i] = {r.status, r.body, std::chrono::duration<double>(Clock::now() - start).count()};
    });
  for (auto& t : threads) t.join();
  return out;
}

TEST(CoalescingTest, LeaderKilledMidCallIsTakenOverByOneFollower) {
  MockLlm mock;
  ASSERT_TRUE(mock.Start().ok());
  MockBehaviour hang;
  hang.hang = true;  // the first call never answers: its caller gets killed
  mock.PushChat(hang);
  MockBehaviour quick;
  quick.reply = "Taken over.";
  mock.SetChatDefault(quick);
  const int kTimeoutS = 15;
  std::string error;
  auto stack = TestStack::Start({{"OPENAI_API_KEY", "sk-x"}, {"LLM_BASE_URL", mock.base_url()}, {"WORKERS", "2"},
                                 {"REQUEST_TIMEOUT_S", std::to_string(kTimeoutS)}, {"LLM_RETRIES", "0"},
                                 {"CONN_LIMIT_PER_IP", "1000"}, {"RATE_LIMIT_RPS", "10000"},
                                 {"RATE_LIMIT_BURST", "10000"}},
                                &error);
  ASSERT_NE(stack, nullptr) << error;
  const std::string question = Ask("Which cities has Maya lived in?");

  // The leader: its call hangs at the mock, its caller found by its port.
  // jthreads: an ASSERT that returns early still joins them (no terminate()).
  std::jthread leader([&] { stack->Post("/api/chat", question, {{}, seconds(40)}); });
  pid_t caller = -1;
  ASSERT_TRUE(MockLlm::WaitFor([&] { return (caller = CallerOf(mock)) > 0; }, seconds(10)));
  // Followers on both workers join it and wait. Each counts its cache miss
  // right before it joins: once the leader's miss and all of theirs are
  // counted, every follower is at the in-flight entry.
  constexpr int kFollowers = 24;
  std::vector<Outcome> outcomes;
  std::jthread followers([&] { outcomes = Concurrently(*stack, kFollowers, [&](int) { return question; }); });
  double misses = 0;
  EXPECT_TRUE(MockLlm::WaitFor([&] { return (misses = stack->Metric("folio_cache_misses_total")) >= 1 + kFollowers; },
                               seconds(10)))
      << misses << " cache misses";
  ASSERT_EQ(kill(caller, SIGKILL), 0);
  followers.join();
  leader.join();

  int answered = 0, lost_with_the_worker = 0;
  for (const Outcome& o : outcomes) {
    EXPECT_LT(o.seconds, kTimeoutS + 2) << "a follower waited past the deadline";
    if (o.status == 200) {
      ++answered;
      EXPECT_EQ(nlohmann::json::parse(o.body)["response"], "Taken over.") << o.body;
    } else {
      EXPECT_EQ(o.status, 502) << o.body;  // only those the killed worker itself held
      ++lost_with_the_worker;
    }
  }
  ASSERT_GT(answered, 0) << "no follower landed on the surviving worker";
  // One call for the dead leader, one for whoever took over: never a stampede.
  EXPECT_EQ(mock.Calls("chat_completions"), 2) << answered << " answered, " << lost_with_the_worker << " lost";
  // The key is not stuck: the same question now answers from the cache.
  HttpResponse again = stack->Post("/api/chat", question);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.Json()["cached"], true);
  stack.reset();
  mock.Stop();
}

TEST(ClientLimitTest, ConcurrentRequestsOverTheLimitGet429AcrossWorkers) {
  MockLlm mock;
  ASSERT_TRUE(mock.Start().ok());
  MockBehaviour slow;
  slow.latency_ms = 1500;
  mock.SetChatDefault(slow);
  std::string error;
  auto stack = TestStack::Start({{"OPENAI_API_KEY", "sk-x"}, {"LLM_BASE_URL", mock.base_url()}, {"WORKERS", "2"},
                                 {"CLIENT_MAX_CONCURRENT", "2"}, {"CONN_LIMIT_PER_IP", "1000"},
                                 {"RATE_LIMIT_RPS", "10000"}, {"RATE_LIMIT_BURST", "10000"}},
                                &error);
  ASSERT_NE(stack, nullptr) << error;
  std::vector<Outcome> outcomes =
      Concurrently(*stack, 6, [](int i) { return Ask("Distinct question number " + std::to_string(i) + "?"); });
  int ok = 0, limited = 0;
  for (const Outcome& o : outcomes) {
    if (o.status == 200) ++ok;
    if (o.status == 429) {
      ++limited;
      auto j = nlohmann::json::parse(o.body);
      EXPECT_EQ(j["error"]["code"], "rate_limited");
      EXPECT_TRUE(j["request_id"].is_string());
    }
  }
  EXPECT_EQ(ok, 2);  // one budget of 2 for this client, over both workers
  EXPECT_EQ(limited, 4);
  // Slots come back when requests end.
  HttpResponse after = stack->Post("/api/chat", Ask("One more, later?"));
  EXPECT_EQ(after.status, 200) << after.body;
  stack.reset();
  mock.Stop();
}

TEST(SheddingTest, NoUpstreamSlotBeforeTheDeadlineIs503WithRetryAfter) {
  MockLlm mock;
  ASSERT_TRUE(mock.Start().ok());
  MockBehaviour slow;
  slow.latency_ms = 8000;  // longer than a request may wait for a slot
  mock.SetChatDefault(slow);
  std::string error;
  auto stack = TestStack::Start({{"OPENAI_API_KEY", "sk-x"}, {"LLM_BASE_URL", mock.base_url()}, {"WORKERS", "2"},
                                 {"MAX_CONCURRENT_LLM", "1"}, {"REQUEST_TIMEOUT_S", "12"}, {"LLM_RETRIES", "0"},
                                 {"CONN_LIMIT_PER_IP", "1000"}, {"RATE_LIMIT_RPS", "10000"},
                                 {"RATE_LIMIT_BURST", "10000"}},
                                &error);
  ASSERT_NE(stack, nullptr) << error;
  std::vector<Outcome> outcomes =
      Concurrently(*stack, 4, [](int i) { return Ask("Shed question number " + std::to_string(i) + "?"); });
  int served = 0, shed = 0;
  for (const Outcome& o : outcomes) {
    if (o.status == 200) ++served;
    if (o.status == 503) {
      ++shed;
      EXPECT_EQ(nlohmann::json::parse(o.body)["error"]["code"], "shed") << o.body;
      EXPECT_LT(o.seconds, 8) << "shed only after waiting as long as the upstream call";
    }
  }
  EXPECT_EQ(served, 1);  // the one slot, shared by both workers
  EXPECT_EQ(shed, 3);
  EXPECT_EQ(mock.Calls("chat_completions"), 1);
  // The 503 carries Retry-After (checked on one more shed request).
  std::thread holder([&] { stack->Post("/api/chat", Ask("Holding the slot?"), {{}, seconds(30)}); });
  ASSERT_TRUE(MockLlm::WaitFor([&] { return mock.Calls("chat_completions") == 2; }, seconds(10)));
  HttpResponse r = stack->Post("/api/chat", Ask("Will I be shed?"), {{}, seconds(30)});
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_GE(std::stoi(r.Header("retry-after").empty() ? "0" : r.Header("retry-after")), 1);
  holder.join();
  stack.reset();
  mock.Stop();
}

// LLM_DAILY_TOKEN_BUDGET over both workers: once the day's tokens are spent,
// answers come from the knowledge base (no upstream call), and the health
// page, the metrics and folio-admin say so.
TEST(SpendCeilingTest, OnceTheDaysTokensAreSpentAnswersComeFromTheKnowledgeBase) {
  MockLlm mock;
  ASSERT_TRUE(mock.Start().ok());
  MockBehaviour reply;
  reply.reply = "An answer from the model.";
  mock.SetChatDefault(reply);
  std::string error;
  auto stack = TestStack::Start({{"OPENAI_API_KEY", "sk-x"}, {"LLM_BASE_URL", mock.base_url()}, {"WORKERS", "2"},
                                 {"LLM_RETRIES", "0"}, {"LLM_DAILY_TOKEN_BUDGET", "50"}},
                                &error);
  ASSERT_NE(stack, nullptr) << error;
  // The first question's prompt alone is over 50 tokens: the budget is spent by it.
  HttpResponse first = stack->Post("/api/chat", Ask("Which projects has Maya led?"));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.Json()["degraded"], false);
  const int calls = mock.Calls("chat_completions");
  EXPECT_EQ(calls, 1);
  // Every later question, whichever worker answers: no call, a degraded answer.
  for (int i = 0; i < 6; ++i) {
    HttpResponse r = stack->Post("/api/chat", Ask("A different question, number " + std::to_string(i)));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Json()["degraded"], true) << r.body;
    EXPECT_FALSE(r.Json()["response"].get<std::string>().empty());
  }
  EXPECT_EQ(mock.Calls("chat_completions"), calls) << "the budget was spent, yet the LLM was called";
  const nlohmann::json llm = stack->Get("/api/health").Json()["checks"]["llm"];
  EXPECT_EQ(llm["status"], "warn") << llm.dump();
  EXPECT_GE(llm["tokens_today"].get<int64_t>(), 50) << llm.dump();
  EXPECT_NE(llm.value("reason", "").find("budget"), std::string::npos) << llm.dump();
  const std::string metrics = stack->Get("/metrics").body;
  EXPECT_NE(metrics.find("\nfolio_llm_daily_token_budget 50\n"), std::string::npos);
  EXPECT_NE(metrics.find("\nfolio_llm_budget_refusals_total 6\n"), std::string::npos) << metrics.substr(0, 3000);
  std::string out;
  RunCommand("env DATA_DIR=" + stack->data_dir() + " RUN_DIR=" + stack->run_dir() +
                 " LLM_DAILY_TOKEN_BUDGET=50 " FOLIO_BINARY_DIR "/bin/folio-admin status",
             &out);
  EXPECT_NE(out.find("of a budget of 50; SPENT"), std::string::npos) << out;
}

}  // namespace
}  // namespace folio::test
