// coalesced_answer_test.cc: AnswerShared()'s coalescing over the real
// in-flight table and a loopback mock LLM — identical concurrent questions
// make one upstream call and the follower gets the leader's answer; a
// leader whose process dies or whose lease lapses is replaced by exactly one
// follower; a follower gives up at its own deadline; a leader's failure is
// shared (its degraded fallback too) and a degraded answer is never cached.
#include "coalesced_answer.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <utility>

#include "child.h"
#include "clock.h"
#include "inflight.h"
#include "mock_llm.h"
#include "poll_until.h"
#include "state_layout.h"
#include "temp_dir.h"
#include "test_app.h"

namespace folio {
namespace {

using std::chrono::milliseconds;
using test::PollUntil;

constexpr char kQuestion[] = "How do I configure the lantern?";
constexpr char kReply[] = "Set LANTERN_MODE in the config file.";

class CoalescedAnswerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mock_.Start().ok());
    Script(kReply, /*latency_ms=*/0);
  }

  // The App, made on first use so a test can choose its settings first.
  App& app() {
    if (!test_app_) {
      std::map<std::string, std::string> env = {{"LLM_BASE_URL", mock_.base_url()},
                                                {"OPENAI_API_KEY", "sk-test"},
                                                {"LLM_RETRIES", "0"},
                                                {"CLIENT_EXPENSIVE_RPM", "0"},
                                                {"RUN_DIR", run_dir_.path()}};  // its own limits
      for (const auto& [k, v] : env_) env[k] = v;
      test_app_.emplace(env);
    }
    return test_app_->app();
  }

  void Script(const std::string& reply, int latency_ms) {
    test::MockBehaviour b;
    b.reply = reply;
    b.latency_ms = latency_ms;
    mock_.SetChatDefault(b);
  }

  ChatInput Input() {
    ChatInput in;
    in.message = kQuestion;
    in.request_id = "test";
    in.received_at = std::chrono::steady_clock::now();
    return in;
  }

  std::string Key() { return LookUpInMemory(app(), Input()).key; }

  // One question from its own client, as a slow-path thread asks it.
  // `joined` (optional) is set once the request has joined the in-flight
  // table as leader or follower: both announce their sources only then.
  Result<SharedAnswer> Ask(const std::string& client, std::atomic<bool>* joined = nullptr) {
    int retry_after_s = 0;
    SourcesFn on_sources = nullptr;
    if (joined != nullptr) on_sources = [joined](const std::vector<Passage>&) { return *joined = true; };
    return AnswerShared(app(), Input(), Key(), client, nullptr, &retry_after_s, on_sources);
  }

  int UpstreamCalls() { return mock_.Calls("chat_completions"); }

  // The question from one client, then, once its upstream call has begun,
  // from another: both answers, in that order.
  std::pair<std::optional<Result<SharedAnswer>>, std::optional<Result<SharedAnswer>>> AskWhileTheFirstIsUpstream() {
    std::optional<Result<SharedAnswer>> first, second;
    std::thread leader([&] { first.emplace(Ask("ip:a")); });
    EXPECT_TRUE(PollUntil([&] { return UpstreamCalls() == 1; })) << "the first never called upstream";
    std::thread follower([&] { second.emplace(Ask("ip:b")); });
    leader.join();
    follower.join();
    return {std::move(first), std::move(second)};
  }

  std::map<std::string, std::string> env_;
  test::TempDir run_dir_{"folio-coalesce-run"};
  test::MockLlm mock_;
  std::optional<test::TestApp> test_app_;
};

TEST_F(CoalescedAnswerTest, TwoConcurrentIdenticalQuestionsMakeOneUpstreamCall) {
  Script(kReply, /*latency_ms=*/400);  // the follower joins while the leader waits on it
  auto [first, second] = AskWhileTheFirstIsUpstream();

  ASSERT_TRUE(first->ok()) << first->status().ToString();
  ASSERT_TRUE(second->ok()) << second->status().ToString();
  EXPECT_EQ(UpstreamCalls(), 1);
  EXPECT_EQ((*first)->output.text, kReply);
  EXPECT_EQ((*second)->output.text, kReply) << "the follower gets the leader's answer";
  EXPECT_FALSE((*first)->coalesced);
  EXPECT_TRUE((*second)->coalesced);
}

TEST_F(CoalescedAnswerTest, ALateAskerWithinTheLingerIsAnsweredWithoutACall) {
  ASSERT_TRUE(Ask("ip:a").ok());
  // The cache would answer too: take it out to see the in-flight table's answer.
  if (app().cache) {
    ASSERT_TRUE(app().cache->Clear().ok());
  }
  Result<SharedAnswer> late = Ask("ip:b");
  ASSERT_TRUE(late.ok()) << late.status().ToString();
  EXPECT_TRUE(late->coalesced);
  EXPECT_EQ(late->output.text, kReply);
  EXPECT_EQ(UpstreamCalls(), 1);
}

TEST_F(CoalescedAnswerTest, AFollowerTakesOverFromALeaderWhoseProcessDied) {
  const std::string key = Key();
  const StoreOptions inflight_store = StateLayoutOf(app().config).inflight_store;
  test::Pipe joined;
  test::Child leader([&] {
    // Its own environment: LMDB handles never cross fork().
    Result<std::unique_ptr<Store>> store = Store::Open(inflight_store);
    if (!store.ok()) return 100;
    Result<InflightTable> table = InflightTable::Open(store->get());
    if (!table.ok()) return 101;
    Result<InflightTable::Role> role = table->Join(key, 60000, UnixMs());
    joined.Signal(role.ok() && *role == InflightTable::Role::kLeader ? 'L' : 'F');
    for (;;) pause();  // "calling upstream" until killed
  });
  ASSERT_EQ(joined.Wait(), 'L');

  std::atomic<bool> following{false};
  std::optional<Result<SharedAnswer>> answer;
  std::thread follower([&] { answer.emplace(Ask("ip:b", &following)); });
  ASSERT_TRUE(PollUntil([&] { return following.load(); }));
  EXPECT_EQ(UpstreamCalls(), 0) << "a follower waits for the live leader";

  const auto killed_at = std::chrono::steady_clock::now();
  leader.Kill();
  follower.join();
  ASSERT_TRUE(answer->ok()) << answer->status().ToString();
  EXPECT_EQ((*answer)->output.text, kReply);
  EXPECT_FALSE((*answer)->coalesced) << "it made the call itself";
  EXPECT_EQ(UpstreamCalls(), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - killed_at, milliseconds(5000)) << "liveness, not the 60 s lease";
}

TEST_F(CoalescedAnswerTest, ExactlyOneFollowerTakesOverAnExpiredLease) {
  Script(kReply, /*latency_ms=*/300);  // the second follower finds the new leader still calling
  const std::string key = Key();
  // A leader in this (live) process that never heartbeats: only its lease ends it.
  ASSERT_EQ(*app().inflight->Join(key, 300, UnixMs()), InflightTable::Role::kLeader);

  std::atomic<bool> joined_a{false}, joined_b{false};
  std::optional<Result<SharedAnswer>> a, b;
  std::thread ta([&] { a.emplace(Ask("ip:a", &joined_a)); });
  std::thread tb([&] { b.emplace(Ask("ip:b", &joined_b)); });
  ta.join();
  tb.join();

  ASSERT_TRUE(a->ok()) << a->status().ToString();
  ASSERT_TRUE(b->ok()) << b->status().ToString();
  EXPECT_EQ(UpstreamCalls(), 1) << "one follower took over; the other followed it";
  EXPECT_EQ((*a)->output.text, kReply);
  EXPECT_EQ((*b)->output.text, kReply);
  EXPECT_NE((*a)->coalesced, (*b)->coalesced);
}

TEST_F(CoalescedAnswerTest, AFollowerGivesUpAtItsOwnDeadline) {
  env_["REQUEST_TIMEOUT_S"] = "1";
  const std::string key = Key();
  ASSERT_EQ(*app().inflight->Join(key, 60000, UnixMs()), InflightTable::Role::kLeader);  // never finishes

  const auto start = std::chrono::steady_clock::now();
  Result<SharedAnswer> answer = Ask("ip:b");
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), Code::kDeadlineExceeded);
  EXPECT_EQ(answer.status().error(), "timeout");
  EXPECT_GE(took, milliseconds(900));
  EXPECT_LT(took, milliseconds(3000));
  EXPECT_EQ(UpstreamCalls(), 0);
}

TEST_F(CoalescedAnswerTest, ALeaderWhoseStreamBrokeLeavesFollowersTheFallbackWithoutACall) {
  const std::string key = Key();
  ASSERT_EQ(*app().inflight->Join(key, 60000, UnixMs()), InflightTable::Role::kLeader);
  std::atomic<bool> following{false};
  std::optional<Result<SharedAnswer>> answer;
  std::thread follower([&] { answer.emplace(Ask("ip:b", &following)); });
  ASSERT_TRUE(PollUntil([&] { return following.load(); }));
  ASSERT_TRUE(app().inflight->Fail(key, "upstream_stream_broken").ok());
  follower.join();

  ASSERT_TRUE(answer->ok()) << answer->status().ToString();
  EXPECT_TRUE((*answer)->output.degraded);
  EXPECT_EQ((*answer)->output.degraded_reason, "upstream_stream_broken");
  EXPECT_EQ(UpstreamCalls(), 0) << "the failing provider is not asked again";
}

TEST_F(CoalescedAnswerTest, AFollowerLeadsAfterALeaderThatWasShedOrCancelled) {
  for (Reason reason : {Reason::kShed, Reason::kCancelled}) {
    mock_.Reset();
    Script(kReply, 0);
    const std::string key = Key();
    if (app().cache) {
      ASSERT_TRUE(app().cache->Clear().ok());
    }
    (void)app().inflight->Purge(UnixMs() + 3600 * 1000);  // the previous round's entry
    ASSERT_EQ(*app().inflight->Join(key, 60000, UnixMs()), InflightTable::Role::kLeader);
    std::atomic<bool> following{false};
    std::optional<Result<SharedAnswer>> answer;
    std::thread follower([&] { answer.emplace(Ask("ip:b", &following)); });
    ASSERT_TRUE(PollUntil([&] { return following.load(); }));
    ASSERT_TRUE(app().inflight->Fail(key, ReasonToken(reason)).ok());
    follower.join();

    ASSERT_TRUE(answer->ok()) << ReasonToken(reason) << ": " << answer->status().ToString();
    EXPECT_EQ((*answer)->output.text, kReply) << ReasonToken(reason);
    EXPECT_FALSE((*answer)->output.degraded) << ReasonToken(reason);
    EXPECT_EQ(UpstreamCalls(), 1) << "not the follower's failure: it asks itself";
  }
}

TEST_F(CoalescedAnswerTest, DegradedAnswersAreSharedButNeverCached) {
  test::MockBehaviour failing;
  failing.status = 500;
  failing.latency_ms = 300;
  mock_.SetChatDefault(failing);
  ASSERT_NE(app().cache, nullptr);

  auto [first, second] = AskWhileTheFirstIsUpstream();
  ASSERT_TRUE(first->ok()) << first->status().ToString();
  ASSERT_TRUE(second->ok()) << second->status().ToString();
  EXPECT_TRUE((*first)->output.degraded);
  EXPECT_TRUE((*second)->output.degraded) << "the leader's fallback, shared";
  EXPECT_EQ(UpstreamCalls(), 1);

  Result<std::optional<CachedAnswer>> cached = app().cache->Get(Key(), UnixMsCoarse());
  ASSERT_TRUE(cached.ok());
  EXPECT_FALSE(cached->has_value()) << "a degraded answer was cached";
  EXPECT_FALSE(LookUpInMemory(app(), Input()).answer.has_value());
}

}  // namespace
}  // namespace folio
