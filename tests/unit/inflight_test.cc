// inflight_test.cc: what only the LMDB in-flight table does: one leader
// among fork()ed processes, leases judged by the caller's clock (and
// clamped against its steps), purging, unreadable records. The promises
// every backend keeps are in inflight_backends_test.cc.
#include "inflight.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "child.h"
#include "clock.h"
#include "temp_dir.h"

namespace folio {
namespace {

using std::chrono::milliseconds;
using Outcome = FollowResult::Outcome;

constexpr char kKey[] = "0123456789abcdef0123456789abcdef";
constexpr int64_t kLongLease = 60000;

class InflightTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenStore();
    ASSERT_NE(store_, nullptr);
    auto table = InflightTable::Open(store_.get());
    ASSERT_TRUE(table.ok()) << table.status().ToString();
    table_.emplace(std::move(table).value());
  }

  std::unique_ptr<Store> OpenStore() {
    StoreOptions o;
    o.path = dir_.path();
    o.map_size_mb = 64;
    o.databases = {kInflightDb};
    o.commit_sync = CommitSync::kOnRequest;
    auto s = Store::Open(o);
    return s.ok() ? std::move(s).value() : nullptr;
  }

  // Runs `body` in a forked child with its own Store and table (LMDB
  // handles must not cross fork); the child's exit code is body's result.
  std::unique_ptr<test::Child> Spawn(const std::function<int(InflightTable&)>& body) {
    return std::make_unique<test::Child>([&] {
      auto store = OpenStore();
      if (store == nullptr) return 100;
      auto table = InflightTable::Open(store.get());
      if (!table.ok()) return 101;
      return body(*table);
    });
  }

  // A key led by a process that has exited (and been reaped).
  void LeadFromDeadProcess(const std::string& key) {
    ASSERT_EQ(Spawn([&](InflightTable& t) {
                auto role = t.Join(key, kLongLease, UnixMs());
                return role.ok() && *role == InflightTable::Role::kLeader ? 0 : 1;
              })->Wait(),
              0);
  }

  InflightTable& table() { return *table_; }

  const test::TempDir dir_{"folio-inflight"};  // first: outlives the store
  std::unique_ptr<Store> store_;
  std::optional<InflightTable> table_;
};

TEST_F(InflightTest, JoinersInFourProcessesMakeExactlyOneLeader) {
  // Every child stays alive until all have joined: a leader that exits is
  // rightly taken over, which would make a second leader.
  test::Pipe results, release;
  std::vector<std::unique_ptr<test::Child>> children;
  for (int p = 0; p < 4; ++p) {
    children.push_back(Spawn([&](InflightTable& t) {
      release.CloseWriteEnd();
      std::atomic<int> leaders{0};
      std::vector<std::thread> threads;
      for (int i = 0; i < 10; ++i) {
        threads.emplace_back([&] {
          auto role = t.Join(kKey, kLongLease, UnixMs());
          leaders += role.ok() && *role == InflightTable::Role::kLeader;
        });
      }
      for (auto& th : threads) th.join();
      results.Signal(static_cast<char>('0' + leaders.load()));
      (void)release.Wait(std::chrono::seconds(60));  // end of file once the parent has every answer
      return 0;
    }));
  }
  int leaders = 0;
  for (size_t i = 0; i < children.size(); ++i) {
    const char n = results.Wait();
    ASSERT_GE(n, '0') << "a child did not report";
    leaders += n - '0';
  }
  release.CloseWriteEnd();
  for (auto& child : children) EXPECT_EQ(child->Wait(), 0);
  EXPECT_EQ(leaders, 1);
}

TEST_F(InflightTest, HeartbeatExtendsTheLease) {
  const int64_t t0 = UnixMs();
  ASSERT_EQ(*table().Join(kKey, 1000, t0), InflightTable::Role::kLeader);
  ASSERT_TRUE(table().Heartbeat(kKey, t0 + 900, "").ok());
  EXPECT_EQ(*table().Join(kKey, 1000, t0 + 1500), InflightTable::Role::kFollower);
  EXPECT_EQ(*table().Join(kKey, 1000, t0 + 1900), InflightTable::Role::kLeader);
}

TEST_F(InflightTest, LeaseFarInTheFutureCountsAsExpired) {
  const int64_t t0 = UnixMs();
  ASSERT_EQ(*table().Join(kKey, 1000, t0), InflightTable::Role::kLeader);
  // The wall clock stepped back an hour: the lease must not last an hour.
  EXPECT_EQ(*table().Join(kKey, 1000, t0 - 3'600'000), InflightTable::Role::kLeader);
}

TEST_F(InflightTest, PurgeRemovesFinishedAfterLingerAndDeadOrExpiredEntries) {
  const int64_t t0 = UnixMs();
  ASSERT_EQ(*table().Join("done", kLongLease, t0), InflightTable::Role::kLeader);
  ASSERT_TRUE(table().Complete("done", "answer").ok());
  ASSERT_EQ(*table().Join("failed", kLongLease, t0), InflightTable::Role::kLeader);
  ASSERT_TRUE(table().Fail("failed", "timeout").ok());
  ASSERT_EQ(*table().Join("expired", 10, t0 - 1000), InflightTable::Role::kLeader);
  ASSERT_EQ(*table().Join("live", kLongLease, t0), InflightTable::Role::kLeader);
  LeadFromDeadProcess("dead");

  auto first = table().Purge(UnixMs());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, 2);  // "expired" and "dead"
  auto second = table().Purge(UnixMs() + table().options().linger_ms + 1000);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, 2);  // "done" and "failed"
  auto stats = store_->Stat(*store_->Database(kInflightDb));
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->entries, 1u);  // "live"
  EXPECT_EQ(*table().Join("live", kLongLease, UnixMs()), InflightTable::Role::kFollower);
}

TEST_F(InflightTest, UnreadableRecordIsReplacedNotFollowed) {
  ASSERT_TRUE(store_->Put(*store_->Database(kInflightDb), kKey, "garbage", Durability::kRelaxed).ok());
  auto got = table().Wait(kKey, Deadline::After(milliseconds(1000)));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->outcome, Outcome::kTakeOver);
  EXPECT_EQ(*table().Join(kKey, kLongLease, UnixMs()), InflightTable::Role::kLeader);
}

}  // namespace
}  // namespace folio
