// circuit_breaker_test.cc: the breaker's state machine on explicit
// timestamps, its sharing across mappings, threads and a fork()ed process,
// and its recovery from a garbage file.
#include "circuit_breaker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "child.h"
#include "temp_dir.h"

namespace folio {
namespace {

using std::chrono::milliseconds;

constexpr int64_t kT0 = 1'700'000'000'000;  // a plausible unix ms
constexpr int64_t kCooldown = 1000;
constexpr int64_t kLease = 500;

class CircuitBreakerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.failure_threshold = 3;
    options_.cooldown = milliseconds(kCooldown);
    options_.trial_lease = milliseconds(kLease);
  }

  std::unique_ptr<CircuitBreaker> OpenBreaker() {
    auto b = CircuitBreaker::Open(path_, options_);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? std::move(b).value() : nullptr;
  }

  // Opens `b` at time `t` with threshold failures.
  void Trip(CircuitBreaker& b, int64_t t) {
    for (int i = 0; i < options_.failure_threshold; ++i) b.RecordFailure(t);
  }

  const test::TempDir dir_{"folio-breaker"};
  const std::string path_ = dir_.path("breaker.shm");
  CircuitBreakerOptions options_;
};

TEST_F(CircuitBreakerTest, OpensAfterThresholdConsecutiveFailures) {
  auto b = OpenBreaker();
  b->RecordFailure(kT0);
  b->RecordFailure(kT0);
  EXPECT_EQ(b->State(kT0), BreakerState::kClosed);
  EXPECT_TRUE(b->Allow(kT0));
  b->RecordFailure(kT0);
  EXPECT_EQ(b->State(kT0), BreakerState::kOpen);
  EXPECT_FALSE(b->Allow(kT0));
  EXPECT_FALSE(b->Allow(kT0 + kCooldown - 1));
  BreakerSnapshot s = b->Snapshot(kT0);
  EXPECT_EQ(s.consecutive_failures, 3);
  EXPECT_EQ(s.open_until_ms, kT0 + kCooldown);
  EXPECT_EQ(s.last_change_ms, kT0);
  EXPECT_EQ(s.total_opens, 1);
  EXPECT_STREQ(BreakerStateName(s.state), "open");
}

TEST_F(CircuitBreakerTest, SuccessResetsTheConsecutiveCount) {
  auto b = OpenBreaker();
  b->RecordFailure(kT0);
  b->RecordFailure(kT0);
  b->RecordSuccess(kT0);
  b->RecordFailure(kT0);
  b->RecordFailure(kT0);
  EXPECT_EQ(b->State(kT0), BreakerState::kClosed);
  EXPECT_EQ(b->Snapshot(kT0).consecutive_failures, 2);
}

TEST_F(CircuitBreakerTest, AfterCooldownOneTrialAndItsSuccessCloses) {
  auto b = OpenBreaker();
  Trip(*b, kT0);
  const int64_t t = kT0 + kCooldown;
  EXPECT_EQ(b->State(t), BreakerState::kHalfOpen);
  EXPECT_FALSE(b->Snapshot(t).trial_in_flight);
  EXPECT_TRUE(b->Allow(t));
  EXPECT_TRUE(b->Snapshot(t).trial_in_flight);
  EXPECT_FALSE(b->Allow(t));
  EXPECT_FALSE(b->Allow(t + 10));
  b->RecordSuccess(t + 20);
  EXPECT_EQ(b->State(t + 20), BreakerState::kClosed);
  EXPECT_TRUE(b->Allow(t + 20));
  EXPECT_TRUE(b->Allow(t + 20));
  EXPECT_EQ(b->Snapshot(t + 20).last_change_ms, t + 20);
}

TEST_F(CircuitBreakerTest, FailedTrialReopensForAFullCooldown) {
  auto b = OpenBreaker();
  Trip(*b, kT0);
  const int64_t t = kT0 + kCooldown + 5;
  ASSERT_TRUE(b->Allow(t));
  b->RecordFailure(t + 100);
  EXPECT_EQ(b->State(t + 100), BreakerState::kOpen);
  EXPECT_FALSE(b->Allow(t + 100 + kCooldown - 1));
  EXPECT_EQ(b->Snapshot(t + 100).total_opens, 2);
  EXPECT_TRUE(b->Allow(t + 100 + kCooldown));  // the next trial
}

TEST_F(CircuitBreakerTest, StragglerFailureWhileOpenDoesNotExtendIt) {
  auto b = OpenBreaker();
  Trip(*b, kT0);
  b->RecordFailure(kT0 + 500);
  EXPECT_EQ(b->Snapshot(kT0 + 500).open_until_ms, kT0 + kCooldown);
  EXPECT_EQ(b->Snapshot(kT0 + 500).total_opens, 1);
}

TEST_F(CircuitBreakerTest, TrialLeaseExpiresSoADeadTrialCannotWedgeIt) {
  auto b = OpenBreaker();
  Trip(*b, kT0);
  const int64_t t = kT0 + kCooldown;
  ASSERT_TRUE(b->Allow(t));  // this trial holder "dies" without recording
  EXPECT_FALSE(b->Allow(t + kLease - 1));
  EXPECT_TRUE(b->Allow(t + kLease));
  EXPECT_FALSE(b->Allow(t + kLease + 1));
}

TEST_F(CircuitBreakerTest, WallClockSteppingBackCannotWedgeItOpen) {
  auto b = OpenBreaker();
  Trip(*b, kT0 + 86'400'000);  // opened "tomorrow", then the clock was corrected
  EXPECT_EQ(b->State(kT0), BreakerState::kHalfOpen);
  EXPECT_TRUE(b->Allow(kT0));
}

TEST_F(CircuitBreakerTest, KeyRejectedIsSeparateAndClearedBySuccess) {
  auto b = OpenBreaker();
  b->SetKeyRejected(true);
  EXPECT_TRUE(b->key_rejected());
  EXPECT_TRUE(b->Snapshot(kT0).key_rejected);
  EXPECT_EQ(b->State(kT0), BreakerState::kClosed);
  EXPECT_TRUE(b->Allow(kT0));
  b->RecordSuccess(kT0);
  EXPECT_FALSE(b->key_rejected());
}

TEST_F(CircuitBreakerTest, TwoMappingsOfOneFileAreOneBreaker) {
  auto a = OpenBreaker();
  auto b = OpenBreaker();
  Trip(*a, kT0);
  EXPECT_EQ(b->State(kT0), BreakerState::kOpen);
  EXPECT_FALSE(b->Allow(kT0));
  a->SetKeyRejected(true);
  EXPECT_TRUE(b->key_rejected());
}

TEST_F(CircuitBreakerTest, HalfOpenGrantsExactlyOneTrialAcrossMappingsAndThreads) {
  auto a = OpenBreaker();
  auto b = OpenBreaker();
  Trip(*a, kT0);
  const int64_t t = kT0 + kCooldown;
  std::atomic<bool> go{false};
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    CircuitBreaker* mine = (i % 2 == 0) ? a.get() : b.get();
    threads.emplace_back([&, mine] {
      while (!go.load()) std::this_thread::yield();
      if (mine->Allow(t)) granted.fetch_add(1);
    });
  }
  go = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(granted.load(), 1);
}

TEST_F(CircuitBreakerTest, ForkedProcessSharesTheTrialAndTheOutcome) {
  auto parent = OpenBreaker();
  Trip(*parent, kT0);
  const int64_t t = kT0 + kCooldown;
  // The child maps the file itself, as a worker process does after fork.
  const std::string path = path_;
  const CircuitBreakerOptions options = options_;
  EXPECT_EQ(test::RunInChild([&] {
              auto b = CircuitBreaker::Open(path, options);
              return b.ok() && (*b)->Allow(t) ? 0 : 1;
            }),
            0);
  EXPECT_FALSE(parent->Allow(t));  // the child holds the trial
  EXPECT_EQ(test::RunInChild([&] {
              auto b = CircuitBreaker::Open(path, options);
              if (!b.ok()) return 2;
              (*b)->RecordFailure(t + 1);  // the child's trial failed
              return 0;
            }),
            0);
  EXPECT_EQ(parent->State(t + 1), BreakerState::kOpen);
  EXPECT_EQ(parent->Snapshot(t + 1).total_opens, 2);
}

TEST_F(CircuitBreakerTest, StateSurvivesReopeningTheFile) {
  {
    auto b = OpenBreaker();
    Trip(*b, kT0);
  }
  auto again = OpenBreaker();
  EXPECT_EQ(again->State(kT0), BreakerState::kOpen);
}

TEST_F(CircuitBreakerTest, ShortGarbageFileIsReinitialisedClosed) {
  std::ofstream(path_) << "garbage";
  auto b = OpenBreaker();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->State(kT0), BreakerState::kClosed);
  EXPECT_EQ(b->Snapshot(kT0).total_opens, 0);
  EXPECT_EQ(std::filesystem::file_size(path_), 4096u);
  Trip(*b, kT0);
  EXPECT_EQ(b->State(kT0), BreakerState::kOpen);
}

TEST_F(CircuitBreakerTest, FullSizeGarbageFileIsReinitialisedClosed) {
  std::ofstream(path_, std::ios::binary) << std::string(4096, '\xff');
  auto b = OpenBreaker();
  ASSERT_NE(b, nullptr);
  BreakerSnapshot s = b->Snapshot(kT0);
  EXPECT_EQ(s.state, BreakerState::kClosed);
  EXPECT_EQ(s.consecutive_failures, 0);
  EXPECT_FALSE(s.key_rejected);
}

TEST_F(CircuitBreakerTest, OversizedFileIsCutBackAndReinitialised) {
  std::ofstream(path_, std::ios::binary) << std::string(10000, 'x');
  auto b = OpenBreaker();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(std::filesystem::file_size(path_), 4096u);
  EXPECT_EQ(b->State(kT0), BreakerState::kClosed);
}

TEST_F(CircuitBreakerTest, UnusablePathIsAnErrorNotACrash) {
  auto b = CircuitBreaker::Open(dir_.path(), options_);  // a directory
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().error(), "breaker_file");
  auto c = CircuitBreaker::Open(dir_.path("missing/breaker.shm"), options_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().error(), "breaker_file");
}

TEST_F(CircuitBreakerTest, InMemoryBreakerFollowsTheSamePolicy) {
  auto b = CircuitBreaker::InMemory(options_);
  EXPECT_EQ(b->path(), "");
  Trip(*b, kT0);
  EXPECT_FALSE(b->Allow(kT0));
  EXPECT_TRUE(b->Allow(kT0 + kCooldown));
  b->RecordSuccess(kT0 + kCooldown);
  EXPECT_EQ(b->State(kT0 + kCooldown), BreakerState::kClosed);
}

}  // namespace
}  // namespace folio
