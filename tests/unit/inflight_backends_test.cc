// inflight_backends_test.cc: the promises every in-flight backend keeps
// (state_backend.h), held by one parametrised suite against the LMDB table
// and against Redis (a private redis-server): one leader per key, followers
// sharing its answer, failure and streamed text, take-over of a dead or
// lapsed leader, deadlines. Then what only the Redis backend does: two
// instances sharing one server, renewing a live leader's lease, and the
// local table serving while the server is down.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "child.h"
#include "clock.h"
#include "inflight.h"
#include "poll_until.h"
#include "redis_inflight.h"
#include "redis_server.h"
#include "temp_dir.h"

namespace folio {
namespace {

using test::PollUntil;

using std::chrono::milliseconds;
using Outcome = FollowResult::Outcome;
using Role = InflightRole;

constexpr char kKey[] = "0123456789abcdef0123456789abcdef";
constexpr int64_t kLongLease = 60000;
// Short enough that the linger test ends soon, long enough for a follower
// on a busy host to read the answer.
constexpr int64_t kLingerMs = 1000;
// A dead Redis instance's keys lapse within this (production: 3 s).
constexpr int64_t kLivenessMs = 1200;

int64_t ElapsedMs(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - since).count();
}

InflightOptions TestOptions() {
  InflightOptions o;
  o.linger_ms = kLingerMs;
  return o;
}

std::unique_ptr<Store> OpenInflightStore(const std::string& dir) {
  StoreOptions o;
  o.path = dir;
  o.map_size_mb = 64;
  o.databases = {kInflightDb};
  o.commit_sync = CommitSync::kOnRequest;
  auto s = Store::Open(o);
  return s.ok() ? std::move(s).value() : nullptr;
}

std::unique_ptr<InflightTable> OpenTable(Store* store) {
  if (store == nullptr) return nullptr;
  auto table = InflightTable::Open(store, TestOptions());
  return table.ok() ? std::make_unique<InflightTable>(std::move(table).value()) : nullptr;
}

// One redis-server per suite; each test names its keys under a prefix of
// its own, so no test sees another's.
class RedisSuite {
 public:
  static void Start() { server_ = std::make_unique<test::RedisServer>(); }
  static void Stop() { server_.reset(); }
  static test::RedisServer& server() { return *server_; }

  // A link of its own (as another instance would have) under `prefix`.
  static std::shared_ptr<RedisLink> Link(const std::string& prefix) {
    RedisOptions o = server_->LinkOptions();
    o.prefix = prefix;
    return std::make_shared<RedisLink>(o);
  }
  static std::unique_ptr<RedisInflight> Instance(const std::string& prefix,
                                                 std::unique_ptr<InflightBackend> local = nullptr) {
    auto opened = RedisInflight::Open(Link(prefix), std::move(local), TestOptions(), kLivenessMs);
    return opened.ok() ? std::move(opened).value() : nullptr;
  }
  static std::string NewPrefix() {
    static int tests = 0;
    return "test" + std::to_string(++tests) + ":";
  }

 private:
  static inline std::unique_ptr<test::RedisServer> server_;
};

// A leader of kKey in another process (LMDB) or instance (Redis), alive
// until Die(): SIGKILL for the process (not reaped: a zombie is dead too),
// the object destroyed for the instance (its lease renewals stop).
struct Elsewhere {
  std::unique_ptr<test::Child> process;
  std::unique_ptr<RedisInflight> instance;
  void Die() {
    if (process) {
      ASSERT_EQ(kill(process->pid(), SIGKILL), 0);
    }
    instance.reset();
  }
};

class InflightBackendsTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { RedisSuite::Start(); }
  static void TearDownTestSuite() { RedisSuite::Stop(); }

  void SetUp() override {
    if (redis()) {
      backend_ = RedisSuite::Instance(prefix_);
    } else {
      store_ = OpenInflightStore(dir_.path());
      backend_ = OpenTable(store_.get());
    }
    ASSERT_NE(backend_, nullptr);
  }

  bool redis() const { return GetParam() == "redis"; }
  InflightBackend& backend() { return *backend_; }

  std::unique_ptr<Elsewhere> LeadElsewhere(const std::string& key) {
    auto other = std::make_unique<Elsewhere>();
    if (redis()) {
      other->instance = RedisSuite::Instance(prefix_);
      EXPECT_NE(other->instance, nullptr);
      if (other->instance) {
        EXPECT_EQ(*other->instance->Join(key, kLongLease, UnixMs()), Role::kLeader);
      }
      return other;
    }
    test::Pipe joined;
    other->process = std::make_unique<test::Child>([&]() -> int {
      auto store = OpenInflightStore(dir_.path());  // LMDB handles never cross fork()
      auto table = OpenTable(store.get());
      if (table == nullptr) return 100;
      auto role = table->Join(key, kLongLease, UnixMs());
      joined.Signal(role.ok() && *role == Role::kLeader ? 'L' : 'F');
      for (;;) pause();  // "calling upstream" until killed
    });
    EXPECT_EQ(joined.Wait(), 'L');
    return other;
  }

  // A follower thread's Wait(), its result and the pieces it was given.
  class Follower {
   public:
    Follower(InflightBackend& backend, const std::string& key, milliseconds within = milliseconds(5000))
        : thread_([this, &backend, key, within] {
            auto got = backend.Wait(key, Deadline::After(within), milliseconds(5), [this](std::string_view d) {
              std::lock_guard<std::mutex> lock(mu_);
              streamed_.append(d);
            });
            std::lock_guard<std::mutex> lock(mu_);
            result_.emplace(std::move(got));
          }) {}
    ~Follower() {
      if (thread_.joinable()) thread_.join();
    }
    std::string streamed() {
      std::lock_guard<std::mutex> lock(mu_);
      return streamed_;
    }
    Result<FollowResult> Get() {
      thread_.join();
      return std::move(*result_);
    }

   private:
    std::mutex mu_;
    std::string streamed_;
    std::optional<Result<FollowResult>> result_;
    std::thread thread_;  // last: starts once the members above exist
  };

  const test::TempDir dir_{"folio-inflight"};  // first: outlives the store
  const std::string prefix_ = RedisSuite::NewPrefix();
  std::unique_ptr<Store> store_;
  std::unique_ptr<InflightBackend> backend_;
};

INSTANTIATE_TEST_SUITE_P(Backends, InflightBackendsTest, ::testing::Values("lmdb", "redis"),
                         [](const auto& info) { return info.param; });

TEST_P(InflightBackendsTest, FirstJoinLeadsLaterJoinsFollow) {
  auto first = backend().Join(kKey, kLongLease, UnixMs());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, Role::kLeader);
  auto second = backend().Join(kKey, kLongLease, UnixMs());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, Role::kFollower);
  auto other = backend().Join("ffffffffffffffffffffffffffffffff", kLongLease, UnixMs());
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*other, Role::kLeader);
}

TEST_P(InflightBackendsTest, BadKeyOrLeaseIsInvalidArgument) {
  EXPECT_EQ(backend().Join("", kLongLease, UnixMs()).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(backend().Join(std::string(257, 'a'), kLongLease, UnixMs()).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(backend().Join(kKey, 0, UnixMs()).status().code(), Code::kInvalidArgument);
}

TEST_P(InflightBackendsTest, KeysOfAnyBytesAreKeysOfTheirOwn) {
  const std::string binary("a\0\xff\n b", 6), longest(256, '\x80');
  EXPECT_EQ(*backend().Join(binary, kLongLease, UnixMs()), Role::kLeader);
  EXPECT_EQ(*backend().Join(binary.substr(0, 1), kLongLease, UnixMs()), Role::kLeader);
  EXPECT_EQ(*backend().Join(longest, kLongLease, UnixMs()), Role::kLeader);
  EXPECT_EQ(*backend().Join(binary, kLongLease, UnixMs()), Role::kFollower);
  ASSERT_TRUE(backend().Complete(binary, "binary answer").ok());
  auto got = backend().Wait(binary, Deadline::After(milliseconds(0)));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->payload, "binary answer");
}

TEST_P(InflightBackendsTest, FiftyThreadsJoiningOneKeyMakeExactlyOneLeader) {
  std::atomic<bool> go{false};
  std::atomic<int> leaders{0}, errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      auto role = backend().Join(kKey, kLongLease, UnixMs());
      if (!role.ok()) ++errors;
      else if (*role == Role::kLeader) ++leaders;
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(leaders.load(), 1);
}

TEST_P(InflightBackendsTest, FollowerReceivesTheLeadersAnswer) {
  ASSERT_EQ(*backend().Join(kKey, kLongLease, UnixMs()), Role::kLeader);
  Follower follower(backend(), kKey);
  EXPECT_TRUE(backend().Complete(kKey, R"({"answer":"42"})").ok());
  auto got = follower.Get();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->outcome, Outcome::kDone);
  EXPECT_EQ(got->payload, R"({"answer":"42"})");
}

TEST_P(InflightBackendsTest, FollowerReceivesTheLeadersFailure) {
  ASSERT_EQ(*backend().Join(kKey, kLongLease, UnixMs()), Role::kLeader);
  Follower follower(backend(), kKey);
  EXPECT_TRUE(backend().Fail(kKey, "upstream_timeout").ok());
  auto got = follower.Get();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->outcome, Outcome::kFailed);
  EXPECT_EQ(got->payload, "upstream_timeout");
}

TEST_P(InflightBackendsTest, AFailureIsNotInheritedByQuestionsThatComeAfterIt) {
  ASSERT_EQ(*backend().Join(kKey, kLongLease, UnixMs()), Role::kLeader);
  ASSERT_TRUE(backend().Fail(kKey, "upstream_stream_broken").ok());
  // Within the linger: a new question leads a new attempt.
  EXPECT_EQ(*backend().Join(kKey, kLongLease, UnixMs()), Role::kLeader);
  EXPECT_EQ(*backend().Join(kKey, kLongLease, UnixMs()), Role::kFollower) << "of the new attempt";
}

TEST_P(InflightBackendsTest, FinishedEntryAnswersLateJoinersUntilItsLingerEnds) {
  ASSERT_EQ(*backend().Join(kKey, kLongLease, UnixMs()), Role::kLeader);
  const auto done_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(backend().Complete(kKey, "answer").ok());
  EXPECT_EQ(*backend().Join(kKey, kLongLease, UnixMs()), Role::kFollower);
  auto got = backend().Wait(kKey, Deadline::After(milliseconds(0)));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->payload, "answer");
  EXPECT_TRUE(PollUntil([&] { return *backend().Join(kKey, kLongLease, UnixMs()) == Role::kLeader; },
                        milliseconds(kLingerMs + 3000), milliseconds(20)));
  EXPECT_GE(ElapsedMs(done_at), kLingerMs - 20);  // the wall and the monotonic clock differ by a tick
}

TEST_P(InflightBackendsTest, DeadLeaderIsTakenOverLongBeforeItsLease) {
  std::unique_ptr<Elsewhere> leader = LeadElsewhere(kKey);
  ASSERT_EQ(*backend().Join(kKey, kLongLease, UnixMs()), Role::kFollower);

  const auto start = std::chrono::steady_clock::now();
  leader->Die();
  auto got = backend().Wait(kKey, Deadline::After(milliseconds(10000)));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->outcome, Outcome::kTakeOver);
  // LMDB: liveness checks, within ~100 ms; Redis: within kLivenessMs.
  // Either way, not the 60 s lease.
  EXPECT_LT(ElapsedMs(start), kLivenessMs + 1500);
  EXPECT_EQ(*backend().Join(kKey, kLongLease, UnixMs()), Role::kLeader);
}

TEST_P(InflightBackendsTest, ExpiredLeaseIsTakenOver) {
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(*backend().Join(kKey, 300, UnixMs()), Role::kLeader);
  EXPECT_EQ(*backend().Join(kKey, 300, UnixMs()), Role::kFollower);
  // A leader that stops heartbeating (hung, not dead) loses the key.
  auto got = backend().Wait(kKey, Deadline::After(milliseconds(5000)));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->outcome, Outcome::kTakeOver);
  EXPECT_GE(ElapsedMs(start), 300 - 20);
  EXPECT_EQ(*backend().Join(kKey, 300, UnixMs()), Role::kLeader);
}

TEST_P(InflightBackendsTest, HeartbeatsKeepTheKeyAndItLapsesWhenTheyStop) {
  ASSERT_EQ(*backend().Join(kKey, 300, UnixMs()), Role::kLeader);
  const auto start = std::chrono::steady_clock::now();
  while (ElapsedMs(start) < 1000) {  // three leases' worth of heartbeats
    ASSERT_TRUE(backend().Heartbeat(kKey, UnixMs(), "").ok());
    ASSERT_EQ(*backend().Join(kKey, 300, UnixMs()), Role::kFollower);
    std::this_thread::sleep_for(milliseconds(50));  // a leader's heartbeat interval, not a wait
  }
  EXPECT_TRUE(PollUntil([&] { return *backend().Join(kKey, 300, UnixMs()) == Role::kLeader; }, milliseconds(3000)));
}

TEST_P(InflightBackendsTest, WaitReturnsByItsDeadline) {
  ASSERT_EQ(*backend().Join(kKey, kLongLease, UnixMs()), Role::kLeader);
  const auto start = std::chrono::steady_clock::now();
  auto got = backend().Wait(kKey, Deadline::After(milliseconds(150)), milliseconds(20));
  const int64_t took = ElapsedMs(start);
  EXPECT_EQ(got.status().code(), Code::kDeadlineExceeded);
  EXPECT_GE(took, 150);
  EXPECT_LT(took, 150 + 100);  // a poll or a round trip past the deadline, on a busy 2-core host
}

TEST_P(InflightBackendsTest, FollowersSeeTheLeadersStreamedText) {
  ASSERT_EQ(*backend().Join(kKey, kLongLease, UnixMs()), Role::kLeader);
  Follower follower(backend(), kKey);
  EXPECT_TRUE(backend().Heartbeat(kKey, UnixMs(), "Hel").ok());
  EXPECT_TRUE(PollUntil([&] { return follower.streamed() == "Hel"; }));
  EXPECT_TRUE(backend().Heartbeat(kKey, UnixMs(), "Hello, wor").ok());
  EXPECT_TRUE(PollUntil([&] { return follower.streamed() == "Hello, wor"; }));
  EXPECT_TRUE(backend().Complete(kKey, "Hello, world").ok());
  auto got = follower.Get();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->payload, "Hello, world");
}

TEST_P(InflightBackendsTest, StreamedPiecesArriveInOrderForLateAndEarlyFollowers) {
  ASSERT_EQ(*backend().Join(kKey, kLongLease, UnixMs()), Role::kLeader);
  Follower early(backend(), kKey);
  std::string text;
  std::unique_ptr<Follower> late;
  for (int i = 0; i < 40; ++i) {
    text += "piece " + std::to_string(i) + "; ";
    ASSERT_TRUE(backend().Heartbeat(kKey, UnixMs(), text).ok());
    if (i == 20) late = std::make_unique<Follower>(backend(), kKey);  // joins mid-stream
  }
  EXPECT_TRUE(PollUntil([&] { return early.streamed() == text && late->streamed() == text; }))
      << "early: " << early.streamed() << "\nlate: " << late->streamed();
  ASSERT_TRUE(backend().Complete(kKey, text + "end").ok());
  EXPECT_EQ(early.Get()->payload, text + "end");
  EXPECT_EQ(late->Get()->payload, text + "end");
}

TEST_P(InflightBackendsTest, OnlyTheLeaderMayHeartbeatOrFailButAnyoneMayComplete) {
  std::unique_ptr<Elsewhere> leader = LeadElsewhere(kKey);
  EXPECT_EQ(backend().Heartbeat(kKey, UnixMs(), "x").code(), Code::kNotFound);
  EXPECT_EQ(backend().Fail(kKey, "timeout").code(), Code::kNotFound);
  // An answer is an answer, whoever computed it.
  EXPECT_TRUE(backend().Complete(kKey, "late answer").ok());
  auto got = backend().Wait(kKey, Deadline::After(milliseconds(0)));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->outcome, Outcome::kDone);
  EXPECT_EQ(got->payload, "late answer");
  EXPECT_EQ(*backend().Join(kKey, kLongLease, UnixMs()), Role::kFollower) << "while the answer lingers";
}

// What only the Redis backend does.
class RedisInflightTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { RedisSuite::Start(); }
  static void TearDownTestSuite() { RedisSuite::Stop(); }

  void SetUp() override {
    if (!RedisSuite::server().running()) {
      ASSERT_TRUE(RedisSuite::server().Start());
    }
  }

  // An instance whose local table is an LMDB table in dir_.
  std::unique_ptr<RedisInflight> InstanceWithLocalTable() {
    if (store_ == nullptr) store_ = OpenInflightStore(dir_.path());
    return RedisSuite::Instance(prefix_, OpenTable(store_.get()));
  }

  // Until `link` reaches the server again (its backoff has passed).
  static bool Reconnected(RedisLink& link) {
    return PollUntil([&] { return link.Command({"PING"}).ok(); }, milliseconds(5000), milliseconds(50));
  }

  const test::TempDir dir_{"folio-inflight"};
  const std::string prefix_ = RedisSuite::NewPrefix();
  std::unique_ptr<Store> store_;
};

TEST_F(RedisInflightTest, TwoInstancesSharingOneServerCoalesce) {
  auto a = RedisSuite::Instance(prefix_), b = RedisSuite::Instance(prefix_);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a->token(), b->token());
  ASSERT_EQ(*a->Join(kKey, kLongLease, UnixMs()), Role::kLeader);
  ASSERT_EQ(*b->Join(kKey, kLongLease, UnixMs()), Role::kFollower);
  std::mutex mu;
  std::string streamed;
  std::optional<Result<FollowResult>> got;
  std::thread follower([&] {
    got.emplace(b->Wait(kKey, Deadline::After(milliseconds(5000)), milliseconds(5), [&](std::string_view d) {
      std::lock_guard<std::mutex> lock(mu);
      streamed.append(d);
    }));
  });
  ASSERT_TRUE(a->Heartbeat(kKey, UnixMs(), "Hel").ok());
  EXPECT_TRUE(PollUntil([&] {
    std::lock_guard<std::mutex> lock(mu);
    return streamed == "Hel";
  }));
  EXPECT_EQ(b->Heartbeat(kKey, UnixMs(), "Hi").code(), Code::kNotFound) << "b does not lead";
  ASSERT_TRUE(a->Complete(kKey, "Hello").ok());
  follower.join();
  ASSERT_TRUE(got->ok()) << got->status().ToString();
  EXPECT_EQ((*got)->outcome, Outcome::kDone);
  EXPECT_EQ((*got)->payload, "Hello");
  EXPECT_EQ(a->fallbacks() + b->fallbacks(), 0u);
}

TEST_F(RedisInflightTest, ALiveLeaderKeepsItsKeyPastTheLivenessWindow) {
  auto a = RedisSuite::Instance(prefix_), b = RedisSuite::Instance(prefix_);
  ASSERT_EQ(*a->Join(kKey, kLongLease, UnixMs()), Role::kLeader);
  // No heartbeat from the caller: a's renewal thread alone keeps the lease.
  auto got = b->Wait(kKey, Deadline::After(milliseconds(3 * kLivenessMs)));
  EXPECT_EQ(got.status().code(), Code::kDeadlineExceeded);
  EXPECT_EQ(*b->Join(kKey, kLongLease, UnixMs()), Role::kFollower);
}

TEST_F(RedisInflightTest, WithoutRedisTheLocalTableCoalescesUntilRedisReturns) {
  auto a = InstanceWithLocalTable();
  ASSERT_NE(a, nullptr);
  RedisSuite::server().Kill();

  ASSERT_EQ(*a->Join(kKey, kLongLease, UnixMs()), Role::kLeader);
  EXPECT_EQ(a->fallbacks(), 1u);
  ASSERT_EQ(*a->Join(kKey, kLongLease, UnixMs()), Role::kFollower);
  std::optional<Result<FollowResult>> got;
  std::thread follower([&] { got.emplace(a->Wait(kKey, Deadline::After(milliseconds(5000)))); });
  ASSERT_TRUE(a->Heartbeat(kKey, UnixMs(), "partial").ok());
  ASSERT_TRUE(a->Complete(kKey, "local answer").ok());
  follower.join();
  ASSERT_TRUE(got->ok()) << got->status().ToString();
  EXPECT_EQ((*got)->payload, "local answer");
  EXPECT_EQ(a->Entries(), 1) << "the local table holds the key";

  ASSERT_TRUE(RedisSuite::server().Start());
  auto link = RedisSuite::Link(prefix_);
  ASSERT_TRUE(Reconnected(*link));
  // a's own link resumes after its backoff; until then joins still fall back.
  const std::string fresh = "fresh key";
  ASSERT_TRUE(PollUntil([&] {
    const uint64_t before = a->fallbacks();
    auto role = a->Join(fresh + std::to_string(before), kLongLease, UnixMs());
    return role.ok() && a->fallbacks() == before;
  }, milliseconds(5000), milliseconds(50)));
  auto b = RedisSuite::Instance(prefix_);
  EXPECT_EQ(*b->Join(fresh + std::to_string(a->fallbacks()), kLongLease, UnixMs()), Role::kFollower)
      << "the new key is on Redis, led by a";
}

TEST_F(RedisInflightTest, AFollowerWhoseRedisDiesIsToldToTakeOver) {
  auto a = RedisSuite::Instance(prefix_), b = InstanceWithLocalTable();
  ASSERT_EQ(*a->Join(kKey, kLongLease, UnixMs()), Role::kLeader);
  ASSERT_EQ(*b->Join(kKey, kLongLease, UnixMs()), Role::kFollower);
  std::optional<Result<FollowResult>> got;
  std::thread follower([&] { got.emplace(b->Wait(kKey, Deadline::After(milliseconds(10000)))); });
  RedisSuite::server().Kill();
  follower.join();
  ASSERT_TRUE(got->ok()) << got->status().ToString();
  EXPECT_EQ((*got)->outcome, Outcome::kTakeOver);
  EXPECT_EQ(*b->Join(kKey, kLongLease, UnixMs()), Role::kLeader) << "locally";
  EXPECT_EQ(b->fallbacks(), 1u);
}

TEST_F(RedisInflightTest, WithoutRedisOrALocalTableCallsFailUnavailable) {
  auto a = RedisSuite::Instance(prefix_);
  RedisSuite::server().Kill();
  EXPECT_EQ(a->Join(kKey, kLongLease, UnixMs()).status().code(), Code::kUnavailable);
  EXPECT_EQ(a->Entries(), std::nullopt);
}

}  // namespace
}  // namespace folio
