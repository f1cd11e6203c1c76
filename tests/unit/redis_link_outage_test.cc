// redis_link_outage_test.cc: RedisLink when its server goes away — a stop,
// a crash, a hang — failing fast while it is down and resuming on its own
// when it is back; and its connections, one per thread, freed when the
// thread or the link ends. Time bounds here are sanity bounds, far above
// the timeouts they check; what is asserted exactly is counted.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <sstream>
#include <thread>
#include <vector>

#include "poll_until.h"
#include "redis_link.h"
#include "redis_server.h"

namespace folio {
namespace {

using std::chrono::milliseconds;
using test::PollUntil;
using test::RedisServer;

int64_t MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start).count();
}

// Connections whose CLIENT LIST line carries `name` (CLIENT SETNAME).
int ConnectionsNamed(const RedisServer& server, const std::string& name) {
  Result<std::string> list = server.Cli({"CLIENT", "LIST"});
  if (!list.ok()) return -1;
  std::istringstream lines(*list);
  int n = 0;
  for (std::string line; std::getline(lines, line);)
    if (line.find(" name=" + name + " ") != std::string::npos) ++n;
  return n;
}

// A link whose observer counts the calls that reached the network.
class ObservedLink {
 public:
  explicit ObservedLink(RedisOptions options) : link(std::move(options)) {
    // Calls that reached the network (a fail-fast one is reported as -1 s).
    link.SetObserver([this](bool, double seconds) { observed.fetch_add(seconds >= 0 ? 1 : 0); });
  }
  RedisLink link;
  std::atomic<int> observed{0};
};

class RedisOutageTest : public ::testing::Test {
 protected:
  RedisServer server_;
};

TEST_F(RedisOutageTest, StoppedServerFailsFastThenResumesOnItsOwn) {
  ObservedLink o(server_.LinkOptions());
  ASSERT_TRUE(o.link.Command({"SET", "k", "v"}).ok());
  server_.Stop();

  auto start = std::chrono::steady_clock::now();
  Result<RedisReply> lost = o.link.Command({"GET", "k"});
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.status().code(), Code::kUnavailable);
  EXPECT_EQ(lost.status().error(), "redis_unavailable");
  EXPECT_LT(MsSince(start), 2000);
  RedisLinkStats stats = o.link.Stats();
  EXPECT_FALSE(stats.up);
  EXPECT_FALSE(stats.last_error.empty());
  EXPECT_GT(stats.down_since_ms, 0);
  EXPECT_TRUE(o.link.Down());

  // Inside the backoff: no connection attempt (the observer sees none),
  // yet every call is counted as failed.
  const int observed_before = o.observed.load();
  const uint64_t errors_before = o.link.Stats().errors;
  start = std::chrono::steady_clock::now();
  int fast = 0;
  while (o.link.Down() && fast < 50) {
    Result<RedisReply> r = o.link.Command({"GET", "k"});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().error(), "redis_unavailable");
    ++fast;
  }
  EXPECT_GT(fast, 10);  // 50 calls without I/O take microseconds, not the 100 ms backoff
  EXPECT_LE(o.observed.load() - observed_before, 1);  // at most one probe if the backoff ran out
  EXPECT_EQ(o.link.Stats().errors - errors_before, static_cast<uint64_t>(fast));
  EXPECT_LT(MsSince(start), 1000);

  // Each backoff ends in one probe, which fails (connection refused) while
  // the server is down.
  EXPECT_TRUE(PollUntil(
      [&] {
        (void)o.link.Command({"PING"});
        return o.observed.load() >= observed_before + 2;
      },
      std::chrono::seconds(10), milliseconds(5)));
  EXPECT_FALSE(o.link.Stats().up);
  // ...and once it is back on the same port, the link resumes by itself.
  ASSERT_TRUE(server_.Start());
  EXPECT_TRUE(PollUntil([&] { return o.link.Command({"PING"}).ok(); }, std::chrono::seconds(10), milliseconds(20)));
  stats = o.link.Stats();
  EXPECT_TRUE(stats.up);
  EXPECT_EQ(stats.down_since_ms, 0);
  EXPECT_GE(stats.reconnects, 1u);
  EXPECT_FALSE(o.link.Down());
  EXPECT_TRUE(o.link.Command({"SET", "k", "again"}).ok());
}

TEST_F(RedisOutageTest, CrashedServerIsUnavailableForANewLinkToo) {
  server_.Kill();
  ObservedLink o(server_.LinkOptions());
  const auto start = std::chrono::steady_clock::now();
  Result<RedisReply> r = o.link.Command({"PING"});  // connection refused
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("cannot connect"), std::string::npos) << r.status().message();
  EXPECT_LT(MsSince(start), 2000);
  EXPECT_EQ(o.observed.load(), 1);
  EXPECT_TRUE(o.link.Down());
  Result<RedisReply> fast = o.link.Command({"PING"});
  ASSERT_FALSE(fast.ok());
  EXPECT_NE(fast.status().message().find("next attempt in"), std::string::npos) << fast.status().message();

  ASSERT_TRUE(server_.Start());
  EXPECT_TRUE(PollUntil([&] { return o.link.Command({"PING"}).ok(); }, std::chrono::seconds(10), milliseconds(20)));
}

TEST_F(RedisOutageTest, HungServerTimesOutWithinTheCommandTimeout) {
  RedisLink link(server_.LinkOptions());  // command_timeout_ms 500
  ASSERT_TRUE(link.Command({"SET", "k", "v"}).ok());
  ASSERT_TRUE(server_.Cli({"CLIENT", "PAUSE", "3000", "ALL"}).ok());
  const auto start = std::chrono::steady_clock::now();
  Result<RedisReply> r = link.Command({"GET", "k"});
  const int64_t took = MsSince(start);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("did not answer within 500 ms"), std::string::npos) << r.status().message();
  EXPECT_GE(took, 400);
  EXPECT_LT(took, 2500);  // well before the pause ends: the timeout ended it
  EXPECT_FALSE(link.Stats().up);
  // After the pause the link resumes by itself.
  EXPECT_TRUE(PollUntil([&] { return link.Command({"GET", "k"}).ok(); }, std::chrono::seconds(10), milliseconds(20)));
  EXPECT_TRUE(link.Stats().up);
}

TEST_F(RedisOutageTest, EachThreadHasItsOwnConnection) {
  constexpr int kThreads = 4;
  auto link = std::make_unique<RedisLink>(server_.LinkOptions());
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> ready{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      if (!link->Command({"CLIENT", "SETNAME", "folio-thread"}).ok()) failures.fetch_add(1);
      for (int i = 0; i < 50; ++i)
        if (!link->Command({"INCR", "shared-counter"}).ok()) failures.fetch_add(1);
      if (!link->Pipeline({{"INCR", "t" + std::to_string(t)}, {"PING"}}).ok()) failures.fetch_add(1);
      ready.fetch_add(1);
      released.wait();  // alive, its connection still in its table
    });
  ASSERT_TRUE(PollUntil([&] { return ready.load() == kThreads; }, std::chrono::seconds(20)));
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(*server_.Cli({"GET", "shared-counter"}), std::to_string(kThreads * 50));
  EXPECT_EQ(ConnectionsNamed(server_, "folio-thread"), kThreads);

  // Destroying the link closes its connections though their threads live on.
  link.reset();
  EXPECT_TRUE(PollUntil([&] { return ConnectionsNamed(server_, "folio-thread") == 0; }));
  release.set_value();
  for (std::thread& t : threads) t.join();  // their tables drop the stale entries
}

TEST_F(RedisOutageTest, ThreadExitClosesItsConnection) {
  RedisLink link(server_.LinkOptions());
  std::thread([&] { EXPECT_TRUE(link.Command({"CLIENT", "SETNAME", "short-lived"}).ok()); }).join();
  EXPECT_TRUE(PollUntil([&] { return ConnectionsNamed(server_, "short-lived") == 0; }));
  EXPECT_TRUE(link.Command({"CLIENT", "SETNAME", "main"}).ok());
  EXPECT_EQ(ConnectionsNamed(server_, "main"), 1);
}

TEST_F(RedisOutageTest, LinksComeAndGoOnOneThread) {
  for (int i = 0; i < 20; ++i) {
    RedisLink link(server_.LinkOptions());
    ASSERT_TRUE(link.Command({"CLIENT", "SETNAME", "churn"}).ok());
  }
  EXPECT_TRUE(PollUntil([&] { return ConnectionsNamed(server_, "churn") == 0; }));
  RedisLink last(server_.LinkOptions());
  EXPECT_TRUE(last.Command({"PING"}).ok());
}

}  // namespace
}  // namespace folio
