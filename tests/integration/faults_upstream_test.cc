// faults_upstream_test.cc: every upstream fault the mock can play, each under
// 12 concurrent distinct chats (half streamed) through the real stack.
// chat_test.cc checks each fault once, in sequence; here
// they run side by side, so the retry loop, deadlines, chat threads and the
// shared breaker are exercised together. For every request:
//  - it ends within REQUEST_TIMEOUT_S + 1.5 s (never a hang);
//  - with an answer (real, or composed from the passages and marked
//    "degraded": true), or a clean error: a JSON body with error.code and
//    429/503/504, or a stream whose last event is an error with a code;
//  - never a 500/502, a non-JSON body or a stream without a final event;
//  - no worker process dies.
// Then the shared breaker: it opens under concurrent failing calls (shown by
// /api/health and folio_breaker_state), answers at once while open, and
// closes again on the first successful trial after BREAKER_COOLDOWN_S.
// And identical questions under a fault: followers of a leader whose stream
// broke get what they would have got on their own, and a question asked
// after the failure is not answered with it.
#include <gtest/gtest.h>

#include <regex>

#include "chat_load.h"
#include "mock_llm.h"
#include "stack.h"

namespace folio::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kTimeoutS = 3;         // REQUEST_TIMEOUT_S
constexpr int kPerFault = 12;        // concurrent chats per fault, every other one streamed
constexpr auto kBound = seconds(kTimeoutS) + milliseconds(1500);
constexpr int kCooldownS = 2;        // BREAKER_COOLDOWN_S

std::string Words(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += (i ? " word" : "word") + std::to_string(i);
  return s;
}

// What every request under a fault must come to, beyond the common rules.
enum class Expect {
  kDegraded,   // an answer composed from the passages (retries exhausted or not worth it)
  kTimeout,    // 504, or a stream's error event, with code "timeout"
  kBroken,     // the upstream stream breaks after 3 tokens: a plain chat gets
               // the degraded answer; a stream, which already showed those
               // tokens, ends with an error event "upstream_stream_broken"
};

struct Fault {
  std::string name;
  MockBehaviour behaviour;
  Expect expect;
};

std::vector<Fault> Faults() {
  auto make = [](const std::string& name, Expect expect, auto&& set) {
    MockBehaviour b;
    b.reply = Words(12);
    set(b);
    return Fault{name, b, expect};
  };
  using E = Expect;
  return {
      make("timeout", E::kTimeout, [](MockBehaviour& b) { b.latency_ms = (kTimeoutS + 2) * 1000; }),
      make("hang", E::kTimeout, [](MockBehaviour& b) { b.hang = true; }),
      make("429 Retry-After 1", E::kDegraded, [](MockBehaviour& b) { b.status = 429, b.retry_after = "1"; }),
      make("429 Retry-After 60", E::kDegraded, [](MockBehaviour& b) { b.status = 429, b.retry_after = "60"; }),
      make("429", E::kDegraded, [](MockBehaviour& b) { b.status = 429; }),
      make("500", E::kDegraded, [](MockBehaviour& b) { b.status = 500; }),
      make("502", E::kDegraded, [](MockBehaviour& b) { b.status = 502; }),
      make("503", E::kDegraded, [](MockBehaviour& b) { b.status = 503; }),
      make("malformed JSON", E::kDegraded, [](MockBehaviour& b) { b.malformed = true; }),
      make("truncated stream", E::kBroken, [](MockBehaviour& b) { b.truncate_after_tokens = 3; }),
      make("reset mid-stream", E::kBroken, [](MockBehaviour& b) { b.reset_after_tokens = 3; }),
      make("close mid-stream", E::kBroken, [](MockBehaviour& b) { b.close_after_tokens = 3; }),
  };
}

// Fires `n` distinct chats at once, every other one streamed.
std::vector<Outcome> Burst(int port, const std::string& tag, int n) {
  std::vector<Outcome> out(static_cast<size_t>(n));
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      out[static_cast<size_t>(i)] = Send(port, i % 2 ? Kind::kStream : Kind::kChat,
                                         tag + " question " + std::to_string(i) + " about Maya's work?", "",
                                         seconds(kTimeoutS + 30));
    });
  for (auto& t : threads) t.join();
  return out;
}

bool Degraded(const Outcome& o) {
  if (o.kind == Kind::kStream) return o.events.back().data.value("degraded", false);
  return o.response.Json().value("degraded", false);
}

std::string ErrorCode(const Outcome& o) {
  if (o.kind == Kind::kStream && o.response.status == 200) return o.events.back().data["error"].value("code", "");
  return o.response.Json()["error"].value("code", "");
}

void ExpectAnswerOrCleanError(const Outcome& o, const std::string& fault) {
  EXPECT_LT(o.end - o.start, kBound) << fault << ": " << o.Describe();
  if (o.Answered()) return;
  EXPECT_TRUE(o.CleanError()) << fault << ": neither an answer nor a clean error: " << o.Describe();
  const int s = o.response.status;
  EXPECT_TRUE(s == 200 || s == 429 || s == 503 || s == 504) << fault << ": " << o.Describe();
}

double Gauge(const std::string& metrics, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(metrics, m, std::regex("\n" + name + " ([0-9.e+-]+)"))) return -1;
  return std::stod(m[1]);
}

std::map<std::string, std::string> StackEnv(const MockLlm& mock, int breaker_threshold, int retries) {
  return {{"OPENAI_API_KEY", "sk-x"},          {"LLM_BASE_URL", mock.base_url()},
          {"REQUEST_TIMEOUT_S", std::to_string(kTimeoutS)}, {"LLM_RETRIES", std::to_string(retries)},
          {"BREAKER_THRESHOLD", std::to_string(breaker_threshold)},
          {"BREAKER_COOLDOWN_S", std::to_string(kCooldownS)},
          // 2 × 12 chat threads, each keeping a connection to the mock: within
          // its 32 server threads (more would wait for an idle one to time out).
          {"WORKERS", "2"},                    {"CHAT_THREADS", "12"},
          {"RATE_LIMIT_RPS", "100000"},        {"RATE_LIMIT_BURST", "100000"},
          {"CONN_LIMIT_PER_IP", "1000"}};
}

TEST(UpstreamFaultMatrixTest, EveryFaultUnderConcurrencyEndsInTimeWithAnAnswerOrACleanError) {
  MockLlm mock;
  ASSERT_TRUE(mock.Start().ok());
  std::string error;
  // A breaker that never opens here, so that every request meets its fault.
  auto stack = TestStack::Start(StackEnv(mock, 1000, 1), &error);
  ASSERT_NE(stack, nullptr) << error;
  const std::vector<pid_t> workers = stack->WorkerPids();

  std::printf("[ matrix   ] %-20s %5s %8s %7s  %s\n", "fault", "real", "degraded", "slowest", "errors");
  for (const Fault& f : Faults()) {
    mock.Reset();
    mock.SetChatDefault(f.behaviour);
    std::vector<Outcome> outcomes = Burst(stack->port(), f.name, kPerFault);
    int real = 0, degraded = 0;
    std::map<std::string, int> errors;
    Clock::duration slowest{};
    for (const Outcome& o : outcomes) {
      ExpectAnswerOrCleanError(o, f.name);
      slowest = std::max(slowest, o.end - o.start);
      if (o.Answered()) (Degraded(o) ? degraded : real)++;
      else errors[std::string(KindName(o.kind)) + " " + std::to_string(o.response.status) + " " + ErrorCode(o)]++;
    }
    std::string summary;
    for (const auto& [what, n] : errors) summary += std::to_string(n) + "× " + what + "; ";
    std::printf("[ matrix   ] %-20s %5d %8d %5lld ms  %s\n", f.name.c_str(), real, degraded,
                static_cast<long long>(std::chrono::duration_cast<milliseconds>(slowest).count()), summary.c_str());
    if (f.expect == Expect::kDegraded) {
      EXPECT_EQ(degraded, kPerFault) << f.name;
    }
    if (f.expect == Expect::kTimeout) {
      for (const Outcome& o : outcomes) EXPECT_EQ(ErrorCode(o), "timeout") << f.name << ": " << o.Describe();
    }
    if (f.expect == Expect::kBroken) {
      for (const Outcome& o : outcomes) {
        if (o.kind == Kind::kStream) EXPECT_EQ(ErrorCode(o), "upstream_stream_broken") << f.name << ": " << o.Describe();
        else EXPECT_TRUE(o.Answered() && Degraded(o)) << f.name << ": " << o.Describe();
      }
    }
    EXPECT_EQ(real, 0) << f.name;
  }
  EXPECT_EQ(stack->WorkerPids(), workers) << "a worker died";
  // Afterwards the upstream is fine again and so is every answer.
  mock.Reset();
  for (const Outcome& o : Burst(stack->port(), "after the faults", kPerFault)) {
    EXPECT_TRUE(o.Answered()) << o.Describe();
    if (o.Answered()) {
      EXPECT_FALSE(Degraded(o)) << o.Describe();
    }
  }
  stack.reset();
  mock.Stop();
}

TEST(UpstreamBreakerTest, OpensUnderConcurrentFailuresAndClosesAfterTheCooldown) {
  MockLlm mock;
  ASSERT_TRUE(mock.Start().ok());
  std::string error;
  auto stack = TestStack::Start(StackEnv(mock, 5, 0), &error);
  ASSERT_NE(stack, nullptr) << error;
  auto breaker = [&] { return stack->Get("/api/health").Json()["checks"]["llm"].value("breaker", "?"); };
  ASSERT_EQ(breaker(), "closed");

  // A mix of failures, 16 at once: every chat still gets an answer.
  std::vector<MockBehaviour> failures(6);
  failures[0].status = 503, failures[1].status = 500, failures[2].status = 502, failures[3].status = 429;
  failures[4].malformed = true;
  failures[5].reply = Words(12), failures[5].reset_after_tokens = 0;
  for (int i = 0; i < 16; ++i) mock.PushChat(failures[static_cast<size_t>(i) % failures.size()]);
  mock.SetChatDefault(failures[0]);
  const auto failing = Clock::now();
  for (const Outcome& o : Burst(stack->port(), "failing", 16)) {
    ExpectAnswerOrCleanError(o, "failing upstream");
    EXPECT_TRUE(o.Answered() && Degraded(o)) << o.Describe();
  }
  ASSERT_EQ(breaker(), "open");
  const double opened_ms = std::chrono::duration<double, std::milli>(Clock::now() - failing).count();
  EXPECT_EQ(Gauge(stack->Get("/metrics").body, "folio_breaker_state"), 1);

  // Open: no call goes upstream, answers come at once from the passages.
  const int calls = mock.Calls("chat_completions");
  for (const Outcome& o : Burst(stack->port(), "while open", 8)) {
    ASSERT_TRUE(o.Answered()) << o.Describe();
    EXPECT_TRUE(Degraded(o));
    EXPECT_LT(o.end - o.start, milliseconds(1000)) << o.Describe();
  }
  EXPECT_EQ(mock.Calls("chat_completions"), calls);

  // The upstream heals: after the cooldown one trial goes through and closes it.
  mock.Reset();
  const auto healed = Clock::now();
  Outcome first_real;
  // New questions each round: an identical one would be answered from the
  // in-flight table, where a finished (degraded) answer lingers for 5 s.
  for (int round = 0; Clock::now() - healed < seconds(kCooldownS + 8); ++round) {
    std::vector<Outcome> burst = Burst(stack->port(), "recovering " + std::to_string(round), 4);
    for (const Outcome& o : burst) {
      ExpectAnswerOrCleanError(o, "recovering");
      if (o.Answered() && !Degraded(o) && first_real.response.status == 0) first_real = o;
    }
    if (first_real.response.status != 0) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_EQ(first_real.response.status, 200) << "the breaker never let a trial through";
  const double recovered_ms = std::chrono::duration<double, std::milli>(first_real.end - healed).count();
  // It opened during the failing burst: no trial before the cooldown from then.
  const double since_failing_ms = std::chrono::duration<double, std::milli>(first_real.end - failing).count();
  EXPECT_GE(since_failing_ms, kCooldownS * 1000.0) << "closed before its cooldown";
  EXPECT_LT(since_failing_ms, opened_ms + kCooldownS * 1000.0 + 1500) << "no trial soon after the cooldown";
  EXPECT_EQ(breaker(), "closed");
  EXPECT_EQ(Gauge(stack->Get("/metrics").body, "folio_breaker_state"), 0);
  for (const Outcome& o : Burst(stack->port(), "closed again", 8)) {
    ASSERT_TRUE(o.Answered()) << o.Describe();
    EXPECT_FALSE(Degraded(o)) << o.Describe();
  }
  std::printf("[ breaker  ] open after one burst of 16 failing chats (%.0f ms); first real answer %.0f ms after the "
              "burst began, %.0f ms after the upstream healed (BREAKER_COOLDOWN_S=%d)\n",
              opened_ms, since_failing_ms, recovered_ms, kCooldownS);
  stack.reset();
  mock.Stop();
}

TEST(CoalescedFaultTest, FollowersOfABrokenStreamGetTheFallbackAndLaterQuestionsLeadAnew) {
  MockLlm mock;
  ASSERT_TRUE(mock.Start().ok());
  MockBehaviour broken;
  broken.reply = Words(12);
  broken.first_token_ms = 1500;  // time for the followers to join before any token
  broken.token_delay_ms = 100;
  broken.reset_after_tokens = 3;
  mock.PushChat(broken);
  MockBehaviour fine;
  fine.reply = "A real answer this time.";
  mock.SetChatDefault(fine);
  std::string error;
  auto stack = TestStack::Start(StackEnv(mock, 1000, 0), &error);
  ASSERT_NE(stack, nullptr) << error;
  const std::string question = "What did Maya build at Tollgate, in detail?";

  Outcome leader;
  std::thread leading([&] { leader = Send(stack->port(), Kind::kStream, question, "", seconds(kTimeoutS + 30)); });
  ASSERT_TRUE(MockLlm::WaitFor([&] { return mock.Calls("chat_completions") == 1; }, seconds(10)));
  std::vector<Outcome> followers(6);
  std::vector<std::thread> following;
  for (size_t i = 0; i < followers.size(); ++i)
    following.emplace_back([&, i] { followers[i] = Send(stack->port(), Kind::kChat, question, "", seconds(kTimeoutS + 30)); });
  for (std::thread& t : following) t.join();
  leading.join();

  EXPECT_EQ(ErrorCode(leader), "upstream_stream_broken") << leader.Describe();
  for (const Outcome& o : followers) {
    ASSERT_TRUE(o.Answered()) << "a plain follower inherited the stream's failure: " << o.Describe();
    EXPECT_TRUE(Degraded(o)) << o.Describe();
  }
  EXPECT_EQ(mock.Calls("chat_completions"), 1) << "the followers asked the failing provider again";

  // Asked again within the failure's linger: a new attempt, a real answer.
  Outcome again = Send(stack->port(), Kind::kChat, question, "", seconds(kTimeoutS + 30));
  ASSERT_TRUE(again.Answered()) << again.Describe();
  EXPECT_FALSE(Degraded(again)) << "answered with the lingering failure: " << again.Describe();
  EXPECT_EQ(mock.Calls("chat_completions"), 2);
}

}  // namespace
}  // namespace folio::test
