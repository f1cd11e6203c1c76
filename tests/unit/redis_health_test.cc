// redis_health_test.cc: a link's up/down state — fail fast inside the
// backoff, one probe at a time after it, the backoff doubling up to its
// maximum, stale failures ignored, and a success resetting it all.
#include "redis_health.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "poll_until.h"

namespace folio {
namespace {

using std::chrono::milliseconds;
using test::PollUntil;

constexpr int64_t kMin = 100, kMax = 250;

// Waits out the backoff: true once a probe was claimed.
bool ClaimProbe(RedisHealth& h) {
  bool probe = false;
  return PollUntil([&] { return h.MayTry(&probe) && probe; }, std::chrono::seconds(5), milliseconds(1));
}

TEST(RedisHealthTest, UpLetsEveryCallThrough) {
  RedisHealth h(kMin, kMax);
  bool probe = true;
  EXPECT_TRUE(h.MayTry(&probe));
  EXPECT_FALSE(probe);
  EXPECT_FALSE(h.FailingFast());
  EXPECT_TRUE(h.Read().up);
}

TEST(RedisHealthTest, DownFailsFastThenOneProbeAndTheBackoffDoubles) {
  RedisHealth h(kMin, kMax);
  h.MarkDown(h.epoch(), false, "connection refused");
  EXPECT_EQ(h.epoch(), 1u);
  RedisHealth::Snapshot s = h.Read();
  EXPECT_FALSE(s.up);
  EXPECT_EQ(s.last_error, "connection refused");
  EXPECT_GT(s.down_since_ms, 0);
  EXPECT_GT(s.next_attempt_in_ms, 0);
  EXPECT_LE(s.next_attempt_in_ms, kMin);
  bool probe = false;
  EXPECT_FALSE(h.MayTry(&probe));
  EXPECT_TRUE(h.FailingFast());

  h.MarkDown(0, false, "old news");  // a connection from before the failure
  EXPECT_EQ(h.epoch(), 1u);
  EXPECT_EQ(h.Read().last_error, "connection refused");

  ASSERT_TRUE(ClaimProbe(h));
  EXPECT_FALSE(h.MayTry(&probe));  // the probe is out: everyone else still fails fast
  h.MarkDown(h.epoch(), true, "still refused");
  EXPECT_GT(h.Read().next_attempt_in_ms, kMin);  // doubled: 200 ms
  ASSERT_TRUE(ClaimProbe(h));
  h.MarkDown(h.epoch(), true, "still refused");
  EXPECT_LE(h.Read().next_attempt_in_ms, kMax);  // 400 capped at 250
  EXPECT_GT(h.Read().next_attempt_in_ms, 2 * kMin);

  ASSERT_TRUE(ClaimProbe(h));
  h.MarkUp();
  s = h.Read();
  EXPECT_TRUE(s.up);
  EXPECT_EQ(s.down_since_ms, 0);
  EXPECT_TRUE(h.MayTry(&probe));
  EXPECT_FALSE(probe);
  h.MarkDown(h.epoch(), false, "again");  // the backoff starts over
  EXPECT_LE(h.Read().next_attempt_in_ms, kMin);
}

TEST(RedisHealthTest, OnlyOneOfManyThreadsProbes) {
  RedisHealth h(300, 1000);
  h.MarkDown(h.epoch(), false, "down");
  ASSERT_TRUE(PollUntil([&] { return !h.FailingFast(); }, std::chrono::seconds(5), milliseconds(1)));
  std::atomic<bool> go{false};
  std::atomic<int> probes{0}, passed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      bool probe = false;
      if (h.MayTry(&probe)) passed.fetch_add(1);
      if (probe) probes.fetch_add(1);
    });
  go.store(true);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(probes.load(), 1);
  EXPECT_EQ(passed.load(), 1);
}

}  // namespace
}  // namespace folio
