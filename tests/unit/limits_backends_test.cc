// limits_backends_test.cc: the promises of limits_backend.h, held by each
// backend — shared memory on one machine ("lmdb": ClientLimits on a temp
// file) and Redis across instances ("redis": RedisLimits against a private
// redis-server) — and then what only Redis promises: instances counting
// against one budget, a dead instance's places coming back by lease expiry,
// and decisions from this machine's limits while Redis is down.
// Times are real (UnixMs()): Redis decides by its own clock.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "child.h"
#include "client_limits.h"
#include "poll_until.h"
#include "redis_limits.h"
#include "redis_link.h"
#include "redis_server.h"
#include "redis_url.h"
#include "temp_dir.h"

namespace folio {
namespace {

using std::chrono::milliseconds;

// One redis-server for every test of this file; each test names its keys
// under a prefix of its own.
test::RedisServer& Server() {
  static test::RedisServer server;  // stopped at exit
  return server;
}

std::string FreshPrefix() {
  static int n = 0;
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return "folio-test:" + std::to_string(getpid()) + ":" + std::to_string(++n) + ":" + info->name() + ":";
}

std::shared_ptr<RedisLink> LinkTo(const test::RedisServer& server, const std::string& prefix) {
  Result<RedisOptions> options = ParseRedisUrl(server.url());
  EXPECT_TRUE(options.ok()) << options.status().ToString();
  options->prefix = prefix;
  options->backoff_min_ms = 10;  // back soon after a restart
  options->backoff_max_ms = 50;
  return std::make_shared<RedisLink>(*options);
}

std::unique_ptr<ClientLimits> OpenLocal(const std::string& path, const LimitOptions& options) {
  auto local = ClientLimits::Open(path, options);
  EXPECT_TRUE(local.ok()) << local.status().ToString();
  return local.ok() ? std::move(local).value() : nullptr;
}

// One folio instance with Redis limits: its own link and its own machine's
// shared-memory limits (a file of its own).
std::unique_ptr<RedisLimits> OpenInstance(const std::string& prefix, const std::string& local_path,
                                          const LimitOptions& options, RedisLimitsOptions redis_options = {}) {
  auto limits = RedisLimits::Open(LinkTo(Server(), prefix), OpenLocal(local_path, options), options, redis_options);
  EXPECT_TRUE(limits.ok()) << limits.status().ToString();
  return limits.ok() ? std::move(limits).value() : nullptr;
}

// ---- the backend-agnostic promises -------------------------------------------

class LimitsBackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<LimitsBackend> Open(LimitOptions options = {}) {
    const std::string path = dir_.path("limits-" + std::to_string(++opened_) + ".shm");
    if (GetParam() == "lmdb") return OpenLocal(path, options);
    return OpenInstance(prefix_, path, options);
  }

  const test::TempDir dir_{"folio-limits"};
  const std::string prefix_ = FreshPrefix();
  int opened_ = 0;
};

TEST_P(LimitsBackendTest, RequestOverTheRateIsDeniedWithRetryAfterAndNotCounted) {
  auto limits = Open();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(limits->Admit("client-a", UnixMs()).allowed) << i;
  Decision d = limits->Admit("client-a", UnixMs());
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, DenyReason::kRate);
  EXPECT_FALSE(d.ticket.held());
  // The rest of the minute, plus the time the previous minute's 100 take to weigh 99.
  EXPECT_GE(d.retry_after_s, 1);
  EXPECT_LE(d.retry_after_s, 61);
  EXPECT_TRUE(limits->Admit("client-b", UnixMs()).allowed);  // others are unaffected
  EXPECT_FALSE(limits->Admit("client-a", UnixMs()).allowed);
  EXPECT_EQ(limits->Snapshot().denied_rate, 2);
}

TEST_P(LimitsBackendTest, DeniedClientIsAdmittedAgainWithinItsRetryAfter) {
  LimitOptions o;
  o.client_rpm = 1;
  o.window_ms = 1000;
  auto limits = Open(o);
  ASSERT_TRUE(limits->Admit("c", UnixMs()).allowed);
  Decision d = limits->Admit("c", UnixMs());
  ASSERT_FALSE(d.allowed);
  ASSERT_GE(d.retry_after_s, 1);
  const auto start = std::chrono::steady_clock::now();
  // Denied asks are not counted, so asking every 20 ms changes nothing.
  EXPECT_TRUE(test::PollUntil([&] { return limits->Admit("c", UnixMs()).allowed; },
                              milliseconds(d.retry_after_s * 1000 + 300), milliseconds(20)));
  EXPECT_LE(std::chrono::steady_clock::now() - start, milliseconds(d.retry_after_s * 1000 + 300));
}

TEST_P(LimitsBackendTest, ExpensiveLimitIsCountedSeparately) {
  auto limits = Open();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(limits->AdmitExpensive("client-a", UnixMs()).allowed) << i;
  Decision d = limits->AdmitExpensive("client-a", UnixMs());
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, DenyReason::kRate);
  EXPECT_GE(d.retry_after_s, 1);
  EXPECT_TRUE(limits->Admit("client-a", UnixMs()).allowed);
  EXPECT_TRUE(limits->AdmitNewSession("client-a", UnixMs()).allowed);
  EXPECT_TRUE(limits->AdmitExpensive("client-b", UnixMs()).allowed);
  EXPECT_EQ(limits->Snapshot().denied_expensive, 1);
  EXPECT_EQ(limits->Snapshot().denied_rate, 0);
}

TEST_P(LimitsBackendTest, NewSessionLimitIsCountedSeparately) {
  auto limits = Open();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(limits->AdmitNewSession("client-a", UnixMs()).allowed) << i;
  Decision d = limits->AdmitNewSession("client-a", UnixMs());
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, DenyReason::kRate);
  EXPECT_GE(d.retry_after_s, 1);
  EXPECT_TRUE(limits->Admit("client-a", UnixMs()).allowed);
  EXPECT_TRUE(limits->AdmitExpensive("client-a", UnixMs()).allowed);
  EXPECT_TRUE(limits->AdmitNewSession("client-b", UnixMs()).allowed);
  EXPECT_EQ(limits->Snapshot().denied_sessions, 1);
  EXPECT_EQ(limits->Snapshot().denied_rate, 0);
}

TEST_P(LimitsBackendTest, SixthConcurrentRequestIsDeniedUntilATicketIsReleased) {
  auto limits = Open();
  std::vector<Decision> running;
  for (int i = 0; i < 5; ++i) {
    running.push_back(limits->Admit("client-a", UnixMs()));
    ASSERT_TRUE(running.back().allowed);
    ASSERT_TRUE(running.back().ticket.held());
  }
  Decision sixth = limits->Admit("client-a", UnixMs());
  EXPECT_FALSE(sixth.allowed);
  EXPECT_EQ(sixth.reason, DenyReason::kConcurrent);
  EXPECT_EQ(sixth.retry_after_s, 1);
  EXPECT_TRUE(limits->Admit("client-b", UnixMs()).allowed);
  EXPECT_EQ(limits->Snapshot().requests_in_flight, 5);
  running.pop_back();  // one request ends
  EXPECT_TRUE(limits->Admit("client-a", UnixMs()).allowed);
  EXPECT_EQ(limits->Snapshot().denied_concurrent, 1);
  running.clear();
  EXPECT_EQ(limits->Snapshot().requests_in_flight, 0);
}

TEST_P(LimitsBackendTest, BusyUpstreamShedsAtTheDeadline) {
  LimitOptions o;
  o.max_concurrent_llm = 3;
  auto limits = Open(o);
  std::vector<UpstreamSlot> held;
  for (int i = 0; i < 3; ++i) {
    auto slot = limits->AcquireUpstreamSlot(Deadline::After(milliseconds(0)));
    ASSERT_TRUE(slot.ok()) << slot.status().ToString();
    held.push_back(std::move(slot).value());
  }
  const auto start = std::chrono::steady_clock::now();
  auto fourth = limits->AcquireUpstreamSlot(Deadline::After(milliseconds(100)));
  const auto took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(fourth.status().code(), Code::kUnavailable);
  EXPECT_TRUE(fourth.status().Is(Reason::kShed));
  EXPECT_GE(took, 100);
  EXPECT_LT(took, 100 + 100);  // slack for a busy 2-core host
  LimitsSnapshot s = limits->Snapshot();
  EXPECT_EQ(s.shed, 1);
  EXPECT_EQ(s.upstream_in_use, 3);
  EXPECT_EQ(s.upstream_peak, 3);
  EXPECT_EQ(s.upstream_capacity, 3);
  held.clear();
  EXPECT_EQ(limits->Snapshot().upstream_in_use, 0);
}

TEST_P(LimitsBackendTest, WaiterGetsTheSlotAHolderReleases) {
  LimitOptions o;
  o.max_concurrent_llm = 1;
  auto limits = Open(o);
  auto held = limits->AcquireUpstreamSlot(Deadline::After(milliseconds(0)));
  ASSERT_TRUE(held.ok());
  std::optional<Result<UpstreamSlot>> got;
  std::thread waiter([&] { got.emplace(limits->AcquireUpstreamSlot(Deadline::After(milliseconds(5000)))); });
  held->Release();
  waiter.join();
  ASSERT_TRUE(got->ok()) << got->status().ToString();
  EXPECT_TRUE((*got)->held());
  EXPECT_EQ(limits->Snapshot().shed, 0);
}

TEST_P(LimitsBackendTest, TokenBudgetIsSpentOnceTodaysTokensReachIt) {
  LimitOptions o;
  o.daily_token_budget = 100;
  auto limits = Open(o);
  EXPECT_EQ(limits->TokensSpentToday(UnixMs()), 0);
  limits->SpendTokens(60, UnixMs());
  EXPECT_EQ(limits->TokensSpentToday(UnixMs()), 60);
  EXPECT_FALSE(limits->TokenBudgetSpent(UnixMs()));
  limits->SpendTokens(0, UnixMs());
  limits->SpendTokens(-5, UnixMs());  // nothing to count
  limits->SpendTokens(50, UnixMs());
  EXPECT_EQ(limits->TokensSpentToday(UnixMs()), 110);
  EXPECT_TRUE(limits->TokenBudgetSpent(UnixMs()));
}

TEST_P(LimitsBackendTest, ZeroMeansUnlimited) {
  LimitOptions o;
  o.client_rpm = 0;
  o.client_expensive_rpm = 0;
  o.client_sessions_per_min = 0;
  o.client_max_concurrent = 0;
  o.max_concurrent_llm = 0;
  o.daily_token_budget = 0;
  auto limits = Open(o);
  std::vector<Decision> running;
  std::vector<UpstreamSlot> calls;
  for (int i = 0; i < 300; ++i) {
    running.push_back(limits->Admit("c", UnixMs()));
    ASSERT_TRUE(running.back().allowed) << i;
    EXPECT_FALSE(running.back().ticket.held());
    ASSERT_TRUE(limits->AdmitExpensive("c", UnixMs()).allowed) << i;
    ASSERT_TRUE(limits->AdmitNewSession("c", UnixMs()).allowed) << i;
    auto slot = limits->AcquireUpstreamSlot(Deadline::After(milliseconds(0)));
    ASSERT_TRUE(slot.ok()) << i;
    EXPECT_FALSE(slot->held());
    calls.push_back(std::move(slot).value());
  }
  limits->SpendTokens(int64_t{1} << 30, UnixMs());
  EXPECT_FALSE(limits->TokenBudgetSpent(UnixMs()));
}

INSTANTIATE_TEST_SUITE_P(Backends, LimitsBackendTest, ::testing::Values("lmdb", "redis"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// ---- Redis only: several instances, dead instances, outages -----------------------

class RedisLimitsTest : public ::testing::Test {
 protected:
  // Started here, not first in a forked child (which would keep it to itself).
  void SetUp() override { ASSERT_TRUE(Server().running()); }

  std::unique_ptr<RedisLimits> Instance(const LimitOptions& options, RedisLimitsOptions redis_options = {}) {
    return OpenInstance(prefix_, dir_.path("instance-" + std::to_string(++opened_) + ".shm"), options,
                        redis_options);
  }
  std::string LocalPath() { return dir_.path("instance-" + std::to_string(++opened_) + ".shm"); }

  const test::TempDir dir_{"folio-redis-limits"};
  const std::string prefix_ = FreshPrefix();
  int opened_ = 0;
};

TEST_F(RedisLimitsTest, TwoInstancesCountAgainstOneBudget) {
  LimitOptions o;
  o.max_concurrent_llm = 2;
  auto a = Instance(o), b = Instance(o);
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(a->Admit("shared", UnixMs()).allowed) << i;
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(b->Admit("shared", UnixMs()).allowed) << i;
  EXPECT_FALSE(a->Admit("shared", UnixMs()).allowed);
  EXPECT_FALSE(b->Admit("shared", UnixMs()).allowed);

  std::vector<Decision> running;
  for (int i = 0; i < 5; ++i) running.push_back((i % 2 ? a : b)->Admit("busy", UnixMs()));
  EXPECT_TRUE(running.back().ticket.held());
  EXPECT_EQ(a->Admit("busy", UnixMs()).reason, DenyReason::kConcurrent);
  running.pop_back();  // released by b, seen by a
  EXPECT_TRUE(a->Admit("busy", UnixMs()).allowed);

  auto slot_a = a->AcquireUpstreamSlot(Deadline::After(milliseconds(0)));
  auto slot_b = b->AcquireUpstreamSlot(Deadline::After(milliseconds(0)));
  ASSERT_TRUE(slot_a.ok() && slot_b.ok());
  EXPECT_TRUE(a->AcquireUpstreamSlot(Deadline::After(milliseconds(0))).status().Is(Reason::kShed));
  EXPECT_EQ(a->Snapshot().upstream_in_use, 2);
  // b's release is seen by a's waiter, which polls Redis.
  std::optional<Result<UpstreamSlot>> got;
  std::thread waiter([&] { got.emplace(a->AcquireUpstreamSlot(Deadline::After(milliseconds(5000)))); });
  slot_b->Release();
  waiter.join();
  EXPECT_TRUE(got->ok()) << got->status().ToString();

  a->SpendTokens(30, UnixMs());
  b->SpendTokens(12, UnixMs());
  EXPECT_EQ(b->TokensSpentToday(UnixMs()), 42);
  EXPECT_EQ(a->Snapshot().fallbacks + b->Snapshot().fallbacks, 0);
}

TEST_F(RedisLimitsTest, RacingInstancesNeverAdmitMoreThanTheLimit) {
  LimitOptions o;
  o.client_rpm = 100;
  auto a = Instance(o), b = Instance(o);
  std::atomic<int> allowed{0}, tickets{0};
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<Decision> held;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      RedisLimits& mine = t % 2 ? *a : *b;
      for (int i = 0; i < 40; ++i) {
        allowed += mine.Admit("hot", UnixMs()).allowed;
        Decision d = mine.Admit("busy", UnixMs());  // its rate is "busy"'s own
        if (!d.ticket.held()) continue;
        ++tickets;
        std::lock_guard<std::mutex> lock(mu);
        held.push_back(std::move(d));  // held to the end: at most 5 ever
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 100);
  EXPECT_EQ(tickets.load(), 5);
}

TEST_F(RedisLimitsTest, AdmitIsOneRoundTripAndZeroBudgetsCostNone) {
  LimitOptions o;
  auto link = LinkTo(Server(), prefix_);
  auto limits = RedisLimits::Open(link, OpenLocal(LocalPath(), o), o);
  ASSERT_TRUE(limits.ok());
  Decision d = (*limits)->Admit("c", UnixMs());
  EXPECT_TRUE(d.ticket.held());
  EXPECT_EQ(link->Stats().commands, 1u);

  o.client_rpm = o.client_expensive_rpm = o.client_sessions_per_min = o.client_max_concurrent = 0;
  o.max_concurrent_llm = 0;
  auto unlimited = RedisLimits::Open(link, OpenLocal(LocalPath(), o), o);
  ASSERT_TRUE(unlimited.ok());
  const uint64_t before = link->Stats().commands;
  EXPECT_TRUE((*unlimited)->Admit("c", UnixMs()).allowed);
  EXPECT_TRUE((*unlimited)->AdmitExpensive("c", UnixMs()).allowed);
  EXPECT_TRUE((*unlimited)->AdmitNewSession("c", UnixMs()).allowed);
  EXPECT_TRUE((*unlimited)->AcquireUpstreamSlot(Deadline::After(milliseconds(0))).ok());
  EXPECT_FALSE((*unlimited)->TokenBudgetSpent(UnixMs()));
  EXPECT_EQ(link->Stats().commands, before);
}

TEST_F(RedisLimitsTest, KilledInstancesTicketsAndSlotsComeBackAtTheirLeasesEnd) {
  LimitOptions o;
  o.max_concurrent_llm = 2;
  RedisLimitsOptions short_leases;
  short_leases.ticket_lease_ms = 1500;
  short_leases.slot_lease_ms = 1500;
  const std::string child_path = LocalPath();
  test::Pipe holding;
  test::Child child([&] {
    auto mine = OpenInstance(prefix_, child_path, o, short_leases);
    if (!mine) return 2;
    std::vector<Decision> held;
    for (int i = 0; i < 5; ++i) held.push_back(mine->Admit("client-a", UnixMs()));
    auto x = mine->AcquireUpstreamSlot(Deadline::After(milliseconds(0)));
    auto y = mine->AcquireUpstreamSlot(Deadline::After(milliseconds(0)));
    holding.Signal(held[4].ticket.held() && x.ok() && y.ok() ? 'H' : 'E');
    for (;;) pause();  // mid-request until killed
  });
  ASSERT_EQ(holding.Wait(), 'H');
  child.Kill();

  auto survivor = Instance(o);
  EXPECT_EQ(survivor->Admit("client-a", UnixMs()).reason, DenyReason::kConcurrent);
  EXPECT_TRUE(survivor->AcquireUpstreamSlot(Deadline::After(milliseconds(0))).status().Is(Reason::kShed));
  // Nobody releases them: their leases run out.
  std::vector<Decision> mine;
  EXPECT_TRUE(test::PollUntil([&] {
    Decision d = survivor->Admit("client-a", UnixMs());
    if (d.allowed) mine.push_back(std::move(d));
    return d.allowed;
  }, milliseconds(5000), milliseconds(20)));
  auto slot = survivor->AcquireUpstreamSlot(Deadline::After(milliseconds(5000)));
  EXPECT_TRUE(slot.ok()) << slot.status().ToString();
  EXPECT_EQ(survivor->Snapshot().upstream_in_use, 1);
}

TEST_F(RedisLimitsTest, RedisDownDecisionsComeFromLocalAndAreCounted) {
  LimitOptions o;
  o.client_rpm = 3;
  o.max_concurrent_llm = 1;
  o.daily_token_budget = 100;
  auto a = Instance(o), b = Instance(o);
  ASSERT_TRUE(a->Admit("c", UnixMs()).allowed);  // one in Redis
  Server().Kill();

  // From a's own machine: its full budget again, then denied there.
  Decision held = a->Admit("c", UnixMs());
  ASSERT_TRUE(held.allowed);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(a->Admit("c", UnixMs()).allowed) << i;
  EXPECT_FALSE(a->Admit("c", UnixMs()).allowed);
  auto slot = a->AcquireUpstreamSlot(Deadline::After(milliseconds(0)));
  ASSERT_TRUE(slot.ok()) << slot.status().ToString();
  EXPECT_TRUE(slot->held());
  EXPECT_TRUE(a->AcquireUpstreamSlot(Deadline::After(milliseconds(0))).status().Is(Reason::kShed));
  a->SpendTokens(150, UnixMs());
  EXPECT_TRUE(a->TokenBudgetSpent(UnixMs()));
  EXPECT_FALSE(b->TokenBudgetSpent(UnixMs()));  // b's machine spent nothing
  LimitsSnapshot s = a->Snapshot();
  EXPECT_GE(s.fallbacks, 8);
  EXPECT_EQ(s.upstream_in_use, 1);

  ASSERT_TRUE(Server().Start());
  // Shared again once the link notices (its backoff): a and b count together.
  ASSERT_TRUE(test::PollUntil([&] {
    const int64_t before = b->Snapshot().fallbacks;
    (void)b->Admit("probe", UnixMs());
    return b->Snapshot().fallbacks == before;
  }, milliseconds(5000), milliseconds(20)));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((i % 2 ? a : b)->Admit("after", UnixMs()).allowed) << i;
  EXPECT_FALSE(a->Admit("after", UnixMs()).allowed);
  // What local made releases there.
  held.ticket.Release();
  slot->Release();
  EXPECT_EQ(a->Snapshot().upstream_in_use, 0);
}

}  // namespace
}  // namespace folio
