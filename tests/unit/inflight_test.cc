// inflight_test.cc: request coalescing on a real LMDB environment: one leader
// among threads and among fork()ed processes, followers sharing the leader's
// answer, failure and streamed text, takeover after a SIGKILL or an expired
// lease, deadlines, and purging.
#include "inflight.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "child.h"
#include "clock.h"
#include "poll_until.h"
#include "temp_dir.h"

namespace folio {
namespace {

using test::PollUntil;

using std::chrono::milliseconds;
using Outcome = FollowResult::Outcome;

constexpr char kKey[] = "0123456789abcdef0123456789abcdef";
constexpr int64_t kLongLease = 60000;

int64_t ElapsedMs(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - since).count();
}

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

TEST_F(InflightTest, FirstJoinLeadsLaterJoinsFollow) {
  auto first = table().Join(kKey, kLongLease, UnixMs());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, InflightTable::Role::kLeader);
  auto second = table().Join(kKey, kLongLease, UnixMs());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, InflightTable::Role::kFollower);
  auto other = table().Join("ffffffffffffffffffffffffffffffff", kLongLease, UnixMs());
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*other, InflightTable::Role::kLeader);
}

TEST_F(InflightTest, BadKeyOrLeaseIsInvalidArgument) {
  EXPECT_EQ(table().Join("", kLongLease, UnixMs()).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(table().Join(std::string(257, 'a'), kLongLease, UnixMs()).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(table().Join(kKey, 0, UnixMs()).status().code(), Code::kInvalidArgument);
}

TEST_F(InflightTest, FiftyThreadsJoiningOneKeyMakeExactlyOneLeader) {
  std::atomic<bool> go{false};
  std::atomic<int> leaders{0}, errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      auto role = table().Join(kKey, kLongLease, UnixMs());
      if (!role.ok()) ++errors;
      else if (*role == InflightTable::Role::kLeader) ++leaders;
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(leaders.load(), 1);
}

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

TEST_F(InflightTest, FollowerReceivesTheLeadersAnswer) {
  ASSERT_EQ(*table().Join(kKey, kLongLease, UnixMs()), InflightTable::Role::kLeader);
  std::optional<Result<FollowResult>> got;
  std::thread follower([&] { got.emplace(table().Wait(kKey, Deadline::After(milliseconds(5000)))); });
  EXPECT_TRUE(table().Complete(kKey, R"({"answer":"42"})").ok());
  follower.join();
  ASSERT_TRUE(got->ok()) << got->status().ToString();
  EXPECT_EQ((*got)->outcome, Outcome::kDone);
  EXPECT_EQ((*got)->payload, R"({"answer":"42"})");
}

TEST_F(InflightTest, FollowerReceivesTheLeadersFailure) {
  ASSERT_EQ(*table().Join(kKey, kLongLease, UnixMs()), InflightTable::Role::kLeader);
  std::optional<Result<FollowResult>> got;
  std::thread follower([&] { got.emplace(table().Wait(kKey, Deadline::After(milliseconds(5000)))); });
  EXPECT_TRUE(table().Fail(kKey, "upstream_timeout").ok());
  follower.join();
  ASSERT_TRUE(got->ok());
  EXPECT_EQ((*got)->outcome, Outcome::kFailed);
  EXPECT_EQ((*got)->payload, "upstream_timeout");
}

TEST_F(InflightTest, AFailureIsNotInheritedByQuestionsThatComeAfterIt) {
  ASSERT_EQ(*table().Join(kKey, kLongLease, UnixMs()), InflightTable::Role::kLeader);
  ASSERT_TRUE(table().Fail(kKey, "upstream_stream_broken").ok());
  // Within the linger: a new question leads a new attempt.
  EXPECT_EQ(*table().Join(kKey, kLongLease, UnixMs()), InflightTable::Role::kLeader);
  EXPECT_EQ(*table().Join(kKey, kLongLease, UnixMs()), InflightTable::Role::kFollower) << "of the new attempt";
}

TEST_F(InflightTest, FinishedEntryAnswersLateJoinersUntilItsLingerEnds) {
  ASSERT_EQ(*table().Join(kKey, kLongLease, UnixMs()), InflightTable::Role::kLeader);
  ASSERT_TRUE(table().Complete(kKey, "answer").ok());
  const int64_t done_at = UnixMs();
  EXPECT_EQ(*table().Join(kKey, kLongLease, done_at), InflightTable::Role::kFollower);
  auto got = table().Wait(kKey, Deadline::After(milliseconds(0)));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->payload, "answer");
  const int64_t after_linger = done_at + table().options().linger_ms + 1000;
  EXPECT_EQ(*table().Join(kKey, kLongLease, after_linger), InflightTable::Role::kLeader);
}

TEST_F(InflightTest, SigkilledLeaderProcessIsTakenOverLongBeforeItsLease) {
  test::Pipe joined;
  std::unique_ptr<test::Child> child = Spawn([&](InflightTable& t) -> int {
    auto role = t.Join(kKey, kLongLease, UnixMs());
    joined.Signal(role.ok() && *role == InflightTable::Role::kLeader ? 'L' : 'F');
    for (;;) pause();  // "calling upstream" until killed
  });
  ASSERT_EQ(joined.Wait(), 'L');
  ASSERT_EQ(*table().Join(kKey, kLongLease, UnixMs()), InflightTable::Role::kFollower);

  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(child->pid(), SIGKILL), 0);  // not reaped yet: a zombie must count as dead too
  auto got = table().Wait(kKey, Deadline::After(milliseconds(10000)));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->outcome, Outcome::kTakeOver);
  EXPECT_LT(ElapsedMs(start), 2000);  // liveness checks, not the 60 s lease
  EXPECT_EQ(*table().Join(kKey, kLongLease, UnixMs()), InflightTable::Role::kLeader);
  EXPECT_EQ(child->Wait(), -1);
}

TEST_F(InflightTest, ExpiredLeaseIsTakenOver) {
  const int64_t t0 = UnixMs();
  ASSERT_EQ(*table().Join(kKey, 150, t0), InflightTable::Role::kLeader);
  EXPECT_EQ(*table().Join(kKey, 150, t0 + 149), InflightTable::Role::kFollower);
  // A leader that stops heartbeating (hung, not dead) loses the key.
  auto got = table().Wait(kKey, Deadline::After(milliseconds(5000)));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->outcome, Outcome::kTakeOver);
  EXPECT_GE(UnixMs(), t0 + 150);
  EXPECT_EQ(*table().Join(kKey, 150, UnixMs()), InflightTable::Role::kLeader);
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

TEST_F(InflightTest, WaitReturnsByItsDeadline) {
  ASSERT_EQ(*table().Join(kKey, kLongLease, UnixMs()), InflightTable::Role::kLeader);
  const auto start = std::chrono::steady_clock::now();
  auto got = table().Wait(kKey, Deadline::After(milliseconds(150)), milliseconds(20));
  const int64_t took = ElapsedMs(start);
  EXPECT_EQ(got.status().code(), Code::kDeadlineExceeded);
  EXPECT_GE(took, 150);
  EXPECT_LT(took, 150 + 100);  // a poll past the deadline, on a busy 2-core host
}

TEST_F(InflightTest, FollowersSeeTheLeadersStreamedText) {
  ASSERT_EQ(*table().Join(kKey, kLongLease, UnixMs()), InflightTable::Role::kLeader);
  std::mutex mu;
  std::string streamed;
  auto seen = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return streamed;
  };
  std::optional<Result<FollowResult>> got;
  std::thread follower([&] {
    got.emplace(table().Wait(kKey, Deadline::After(milliseconds(5000)), milliseconds(5), [&](std::string_view delta) {
      std::lock_guard<std::mutex> lock(mu);
      streamed.append(delta);
    }));
  });
  EXPECT_TRUE(table().Heartbeat(kKey, UnixMs(), "Hel").ok());
  EXPECT_TRUE(PollUntil([&] { return seen() == "Hel"; }));
  EXPECT_TRUE(table().Heartbeat(kKey, UnixMs(), "Hello, wor").ok());
  EXPECT_TRUE(PollUntil([&] { return seen() == "Hello, wor"; }));
  EXPECT_TRUE(table().Complete(kKey, "Hello, world").ok());
  follower.join();
  ASSERT_TRUE(got->ok());
  EXPECT_EQ((*got)->payload, "Hello, world");
}

TEST_F(InflightTest, OnlyTheLeadingProcessMayHeartbeatOrFail) {
  LeadFromDeadProcess(kKey);
  EXPECT_EQ(table().Heartbeat(kKey, UnixMs(), "x").code(), Code::kNotFound);
  EXPECT_EQ(table().Fail(kKey, "timeout").code(), Code::kNotFound);
  // An answer is an answer, whoever computed it.
  EXPECT_TRUE(table().Complete(kKey, "late answer").ok());
  auto got = table().Wait(kKey, Deadline::After(milliseconds(0)));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->payload, "late answer");
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
