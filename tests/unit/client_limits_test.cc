// client_limits_test.cc: what only the shared-memory limits promise: exact
// Retry-After on injected timestamps, counts shared with fork()ed processes,
// places released after a holder is SIGKILLed, a full client table, a
// clock stepped back, the file reopened. The promises every backend keeps
// are in limits_backends_test.cc.
#include "client_limits.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <vector>

#include "child.h"
#include "temp_dir.h"

namespace folio {
namespace {

using std::chrono::milliseconds;

constexpr int64_t kMinute = 60000;
constexpr int64_t kT0 = 1'700'000'040'000 + 10'000;  // 10 s into a minute window

class ClientLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(kT0 % kMinute, 10'000); }

  std::unique_ptr<ClientLimits> OpenLimits(LimitOptions options = {}) {
    auto l = ClientLimits::Open(path_, options);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? std::move(l).value() : nullptr;
  }

  const test::TempDir dir_{"folio-limits"};
  const std::string path_ = dir_.path("limits.shm");
};

TEST_F(ClientLimitsTest, RetryAfterIsExactForTheEstimateOnAnInjectedClock) {
  auto limits = OpenLimits();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(limits->Admit("client-a", kT0 + i).allowed) << i;
  Decision d = limits->Admit("client-a", kT0 + 100);
  ASSERT_FALSE(d.allowed);
  // 50 s to the next window, where the previous 100 weigh 99 after 0.6 s.
  EXPECT_EQ(d.retry_after_s, 51);
  EXPECT_FALSE(limits->Admit("client-a", kT0 + 50'000).allowed);
  EXPECT_TRUE(limits->Admit("client-a", kT0 + 100 + d.retry_after_s * 1000).allowed);
}

TEST_F(ClientLimitsTest, TwoProcessesShareCounts) {
  auto limits = OpenLimits();
  ASSERT_EQ(test::RunInChild([&] {
              auto mine = ClientLimits::Open(path_, {});
              if (!mine.ok()) return 2;
              for (int i = 0; i < 60; ++i) {
                if (!(*mine)->Admit("shared", kT0).allowed) return 1;
              }
              return 0;
            }),
            0);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(limits->Admit("shared", kT0).allowed) << i;
  EXPECT_FALSE(limits->Admit("shared", kT0).allowed);
}

TEST_F(ClientLimitsTest, SigkilledHoldersTicketsAndSlotsAreReclaimed) {
  LimitOptions o;
  o.max_concurrent_llm = 2;
  auto limits = OpenLimits(o);
  test::Pipe holding;
  test::Child child([&] {
    auto mine = ClientLimits::Open(path_, o);
    if (!mine.ok()) return 2;
    std::vector<Decision> held;
    for (int i = 0; i < 3; ++i) held.push_back((*mine)->Admit("client-a", kT0));
    auto a = (*mine)->AcquireUpstreamSlot(Deadline::After(milliseconds(1000)));
    auto b = (*mine)->AcquireUpstreamSlot(Deadline::After(milliseconds(1000)));
    holding.Signal(held[2].ticket.held() && a.ok() && b.ok() ? 'H' : 'E');
    for (;;) pause();  // mid-request until killed
  });
  ASSERT_EQ(holding.Wait(), 'H');
  EXPECT_EQ(limits->Snapshot().requests_in_flight, 3);
  EXPECT_EQ(limits->Snapshot().upstream_in_use, 2);
  EXPECT_EQ(limits->ReclaimDead(), 0);  // the holder is alive

  std::vector<Decision> mine;
  for (int i = 0; i < 2; ++i) mine.push_back(limits->Admit("client-a", kT0));
  EXPECT_TRUE(mine.back().allowed);
  EXPECT_FALSE(limits->Admit("client-a", kT0).allowed);
  EXPECT_EQ(limits->AcquireUpstreamSlot(Deadline::After(milliseconds(0))).status().error(), "shed");

  ASSERT_EQ(kill(child.pid(), SIGKILL), 0);
  EXPECT_EQ(child.Wait(), -1);
  EXPECT_EQ(limits->ReclaimDead(), 3);  // its process row and two upstream slots
  LimitsSnapshot s = limits->Snapshot();
  EXPECT_EQ(s.requests_in_flight, 2);  // ours only
  EXPECT_EQ(s.upstream_in_use, 0);
  for (int i = 0; i < 3; ++i) mine.push_back(limits->Admit("client-a", kT0));
  EXPECT_TRUE(mine.back().allowed);
  auto slot = limits->AcquireUpstreamSlot(Deadline::After(milliseconds(0)));
  EXPECT_TRUE(slot.ok());
}

TEST_F(ClientLimitsTest, FullTableFailsOpenAndCountsIt) {
  LimitOptions o;
  o.table_slots = 64;
  o.client_rpm = 1;
  auto limits = OpenLimits(o);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(limits->Admit("client-" + std::to_string(i), kT0).allowed) << i;
  }
  LimitsSnapshot s = limits->Snapshot();
  EXPECT_EQ(s.table_slots, 64);
  EXPECT_EQ(s.clients_tracked, 64);
  EXPECT_EQ(s.fail_open, 1000 - 64);
}

TEST_F(ClientLimitsTest, StaleClientSlotsAreReused) {
  LimitOptions o;
  o.table_slots = 64;
  auto limits = OpenLimits(o);
  for (int i = 0; i < 64; ++i) ASSERT_TRUE(limits->Admit("old-" + std::to_string(i), kT0).allowed);
  const int64_t fail_open = limits->Snapshot().fail_open;
  // Two windows later the old clients' counts no longer matter.
  const int64_t later = kT0 + 2 * kMinute;
  for (int i = 0; i < 32; ++i) ASSERT_TRUE(limits->Admit("new-" + std::to_string(i), later).allowed);
  EXPECT_EQ(limits->Snapshot().fail_open, fail_open);
}

TEST_F(ClientLimitsTest, ClockSteppedBackDoesNotLockAClientOut) {
  LimitOptions o;
  o.client_rpm = 5;
  auto limits = OpenLimits(o);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(limits->Admit("c", kT0).allowed);
  ASSERT_FALSE(limits->Admit("c", kT0).allowed);
  EXPECT_TRUE(limits->Admit("c", kT0 - 3'600'000).allowed);
}

TEST_F(ClientLimitsTest, ReopeningKeepsStateAndForeignFileIsReinitialised) {
  {
    auto limits = OpenLimits();
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(limits->Admit("c", kT0).allowed);
  }
  EXPECT_FALSE(OpenLimits()->Admit("c", kT0).allowed);
  {
    FILE* f = fopen(path_.c_str(), "r+");
    ASSERT_NE(f, nullptr);
    fputs("garbage", f);
    fclose(f);
  }
  EXPECT_TRUE(OpenLimits()->Admit("c", kT0).allowed);
}

}  // namespace
}  // namespace folio
