// session_backends_test.cc: the promises every session store keeps
// (state_backend.h's SessionBackend), held against both implementations —
// the LMDB SessionStore and RedisSessions on a real redis-server — by one
// parametrised suite, with time injected as `now`. Then what only the Redis
// store must show: a turn acknowledged with appendfsync always survives a
// kill -9 of Redis, and an unreachable Redis is Unavailable, not an error
// of the caller's, until it is back.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "poll_until.h"
#include "redis_server.h"
#include "redis_sessions.h"
#include "sessions.h"
#include "temp_dir.h"

namespace folio {
namespace {

using test::RedisServer;
using test::TempDir;

constexpr int64_t kT0 = 1'700'000'000;
constexpr int64_t kTtl = 3600;

// The suite's Redis: one server for every test, a key prefix of each test's own.
RedisServer* suite_redis = nullptr;
std::atomic<int> prefixes{0};

std::shared_ptr<RedisLink> LinkTo(const RedisServer& server) {
  Result<RedisOptions> options = ParseRedisUrl(server.url());
  EXPECT_TRUE(options.ok());
  options->prefix = "t" + std::to_string(prefixes++) + ":";
  options->backoff_min_ms = 20;
  options->backoff_max_ms = 100;
  return std::make_shared<RedisLink>(*options);
}

class SessionBackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { suite_redis = new RedisServer(); }
  static void TearDownTestSuite() {
    delete suite_redis;
    suite_redis = nullptr;
  }
  void SetUp() override { sessions_ = Open(SessionOptions{.max_messages = 5, .ttl_s = kTtl}); }

  std::unique_ptr<SessionBackend> Open(SessionOptions options) {
    if (GetParam() == "redis") return std::make_unique<RedisSessions>(LinkTo(*suite_redis), options);
    if (!store_) {
      StoreOptions store;
      store.path = dir_.path("env");
      store.map_size_mb = 64;
      store.databases = SessionDatabases();
      Result<std::unique_ptr<Store>> opened = Store::Open(store);
      EXPECT_TRUE(opened.ok()) << opened.status().ToString();
      store_ = std::move(opened.value());
    }
    Result<SessionStore> sessions = SessionStore::Open(store_.get(), options);
    EXPECT_TRUE(sessions.ok()) << sessions.status().ToString();
    return std::make_unique<SessionStore>(std::move(sessions.value()));
  }
  std::string CreateAt(int64_t now) {
    Result<std::string> id = sessions_->Create(now);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : "";
  }

  TempDir dir_{"folio-sessions-test"};
  std::unique_ptr<Store> store_;
  std::unique_ptr<SessionBackend> sessions_;
};

INSTANTIATE_TEST_SUITE_P(Backends, SessionBackendTest, ::testing::Values("lmdb", "redis"),
                         [](const auto& info) { return info.param; });

TEST_P(SessionBackendTest, TranscriptKeepsItsNewestTurnWithinTheByteBound) {
  std::unique_ptr<SessionBackend> bounded = Open(SessionOptions{.max_messages = 100, .max_record_bytes = 4096, .ttl_s = kTtl});
  Result<std::string> id = NewSessionId();
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(bounded->StartWithTurn(*id, "q0", std::string(1000, 'a'), kT0).ok());
  for (int i = 1; i < 10; ++i)
    ASSERT_TRUE(bounded->AppendTurn(*id, "q" + std::to_string(i), std::string(1000, 'a'), kT0 + i).ok());
  Result<Session> s = bounded->Get(*id, kT0 + 10);
  ASSERT_TRUE(s.ok());
  EXPECT_LE(EncodeSession(*s).size(), 4096u);
  ASSERT_GE(s->messages.size(), 2u);
  EXPECT_LT(s->messages.size(), 20u) << "older turns went to fit";
  EXPECT_EQ(s->messages[s->messages.size() - 2].content, "q9");
  // A turn bigger than the bound on its own: kept, cut (at a character).
  const std::string accents(3000, 'x');
  std::string long_utf8;
  for (int i = 0; i < 1500; ++i) long_utf8 += "\xC3\xA9";  // é, 3,000 bytes
  ASSERT_TRUE(bounded->AppendTurn(*id, accents, long_utf8, kT0 + 11).ok());
  s = bounded->Get(*id, kT0 + 11);
  ASSERT_TRUE(s.ok());
  EXPECT_LE(EncodeSession(*s).size(), 4096u);
  ASSERT_EQ(s->messages.size(), 2u);
  const std::string& cut = s->messages[1].content;
  EXPECT_EQ(cut.substr(cut.size() - 3), "\xE2\x80\xA6");
  EXPECT_EQ(cut.substr(0, 2), "\xC3\xA9");
  EXPECT_EQ((cut.size() - 3) % 2, 0u) << "cut inside a character";
}

TEST_P(SessionBackendTest, NewSessionHasNoMessages) {
  std::string id = CreateAt(kT0);
  Result<Session> s = sessions_->Get(id, kT0);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->id, id);
  EXPECT_EQ(s->created, kT0);
  EXPECT_EQ(s->updated, kT0);
  EXPECT_TRUE(s->messages.empty());
}

TEST_P(SessionBackendTest, StartWithTurnCreatesTheSessionWithItsFirstTurn) {
  Result<std::string> id = NewSessionId();
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(sessions_->Get(*id, kT0).status().error(), "session_not_found");
  ASSERT_TRUE(sessions_->StartWithTurn(*id, "first?", "answer.", kT0).ok());
  Result<Session> s = sessions_->Get(*id, kT0);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->messages.size(), 2u);
  EXPECT_EQ(s->messages[0].content, "first?");
  EXPECT_EQ(s->created, kT0);
  EXPECT_EQ(sessions_->StartWithTurn(*id, "again", "no", kT0).error(), "session_id_collision");
  EXPECT_EQ(sessions_->StartWithTurn("bad id", "x", "y", kT0).error(), "invalid_session_id");
}

TEST_P(SessionBackendTest, AppendTurnAddsUserThenAssistant) {
  std::string id = CreateAt(kT0);
  ASSERT_TRUE(sessions_->AppendTurn(id, "hello?", "hi!", kT0 + 5).ok());
  Result<Session> s = sessions_->Get(id, kT0 + 5);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->messages.size(), 2u);
  EXPECT_EQ(s->messages[0].role, Role::kUser);
  EXPECT_EQ(s->messages[0].content, "hello?");
  EXPECT_EQ(s->messages[0].ts, kT0 + 5);
  EXPECT_EQ(s->messages[1].role, Role::kAssistant);
  EXPECT_EQ(s->messages[1].content, "hi!");
  EXPECT_EQ(s->updated, kT0 + 5);
  EXPECT_EQ(s->created, kT0);
}

TEST_P(SessionBackendTest, AsyncTurnsReportOnceDurable) {
  std::string id = CreateAt(kT0);
  std::atomic<int> done{0};
  std::atomic<bool> all_ok{true};
  for (int i = 0; i < 3; ++i)
    sessions_->AppendTurnAsync(id, "u" + std::to_string(i), "a", kT0 + i, [&](const Status& s) {
      all_ok = all_ok && s.ok();
      ++done;
    });
  ASSERT_TRUE(test::PollUntil([&] { return done.load() == 3; }));
  EXPECT_TRUE(all_ok.load());
  EXPECT_EQ(sessions_->Get(id, kT0 + 3)->messages.size(), 5u) << "bounded at max_messages";
}

TEST_P(SessionBackendTest, ConcurrentTurnsOfOneSessionAreAllKept) {
  std::unique_ptr<SessionBackend> roomy = Open(SessionOptions{.max_messages = 1000, .ttl_s = kTtl});
  Result<std::string> id = roomy->Create(kT0);
  ASSERT_TRUE(id.ok());
  std::vector<std::thread> writers;
  std::atomic<int> failed{0};
  for (int t = 0; t < 4; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i)
        if (!roomy->AppendTurn(*id, "t" + std::to_string(t) + "-" + std::to_string(i), "a", kT0 + 1).ok()) ++failed;
    });
  for (auto& w : writers) w.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(roomy->Get(*id, kT0 + 1)->messages.size(), 80u) << "no turn overwrote another";
}

TEST_P(SessionBackendTest, KeepsOnlyTheLastNMessages) {
  std::string id = CreateAt(kT0);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(sessions_->AppendTurn(id, "u" + std::to_string(i), "a" + std::to_string(i), kT0 + i).ok());
  }
  Result<Session> s = sessions_->Get(id, kT0 + 4);
  ASSERT_TRUE(s.ok());
  std::vector<std::string> contents;
  for (const Message& m : s->messages) contents.push_back(m.content);
  EXPECT_EQ(contents, (std::vector<std::string>{"a1", "u2", "a2", "u3", "a3"}));
}

TEST_P(SessionBackendTest, IdleSessionExpiresAfterTtl) {
  std::string id = CreateAt(kT0);
  EXPECT_TRUE(sessions_->Get(id, kT0 + kTtl - 1).ok());
  Result<Session> expired = sessions_->Get(id, kT0 + kTtl);
  EXPECT_EQ(expired.status().code(), Code::kNotFound);
  EXPECT_EQ(expired.status().error(), "session_not_found");
}

TEST_P(SessionBackendTest, AppendTurnRenewsTheTtl) {
  std::string id = CreateAt(kT0);
  ASSERT_TRUE(sessions_->AppendTurn(id, "u", "a", kT0 + kTtl - 1).ok());
  EXPECT_TRUE(sessions_->Get(id, kT0 + 2 * kTtl - 2).ok());
}

TEST_P(SessionBackendTest, AppendTurnToExpiredOrUnknownSessionIsNotFound) {
  std::string id = CreateAt(kT0);
  EXPECT_EQ(sessions_->AppendTurn(id, "u", "a", kT0 + kTtl).code(), Code::kNotFound);
  Result<std::string> unknown = NewSessionId();
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(sessions_->AppendTurn(*unknown, "u", "a", kT0).code(), Code::kNotFound);
  EXPECT_EQ(sessions_->Get(*unknown, kT0).status().code(), Code::kNotFound);
}

TEST_P(SessionBackendTest, MalformedIdIsInvalidArgument) {
  EXPECT_EQ(sessions_->Get("not-an-id", kT0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(sessions_->AppendTurn("x", "u", "a", kT0).code(), Code::kInvalidArgument);
  EXPECT_EQ(sessions_->Delete("", kT0).code(), Code::kInvalidArgument);
}

TEST_P(SessionBackendTest, OversizedMessageIsRefused) {
  std::string id = CreateAt(kT0);
  EXPECT_EQ(sessions_->AppendTurn(id, std::string(kMaxMessageBytes + 1, 'x'), "a", kT0).code(),
            Code::kInvalidArgument);
}

TEST_P(SessionBackendTest, DeleteRemovesAndSecondDeleteIsNotFound) {
  std::string id = CreateAt(kT0);
  ASSERT_TRUE(sessions_->Delete(id, kT0).ok());
  EXPECT_EQ(sessions_->Get(id, kT0).status().code(), Code::kNotFound);
  EXPECT_EQ(sessions_->Delete(id, kT0).code(), Code::kNotFound);
}

TEST_P(SessionBackendTest, DeletingAnExpiredSessionIsNotFoundButRemovesIt) {
  std::string id = CreateAt(kT0);
  EXPECT_EQ(sessions_->Delete(id, kT0 + kTtl).code(), Code::kNotFound);
  EXPECT_EQ(sessions_->Get(id, kT0).status().code(), Code::kNotFound) << "removed, whatever `now` says";
}

TEST_P(SessionBackendTest, LastCommitStatusIsOkAfterAWrite) {
  std::string id = CreateAt(kT0);
  ASSERT_TRUE(sessions_->AppendTurn(id, "u", "a", kT0).ok());
  EXPECT_TRUE(sessions_->LastCommitStatus().ok());
}

// appendonly yes + appendfsync always (docs/OPERATIONS.md): Redis writes and
// syncs each command before it replies, so a turn acknowledged to a visitor
// survives a crash of Redis itself.
TEST(RedisSessionsTest, AnAcknowledgedTurnSurvivesKillNineOfRedisWithAppendfsyncAlways) {
  RedisServer::Options durable;
  durable.appendonly = true;
  RedisServer redis(durable);
  RedisSessions sessions(LinkTo(redis), SessionOptions{.ttl_s = kTtl});
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    Result<std::string> id = NewSessionId();
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE(sessions.StartWithTurn(*id, "question " + std::to_string(i), "answer", kT0).ok());
    ASSERT_TRUE(sessions.AppendTurn(*id, "follow-up " + std::to_string(i), "answer", kT0 + 1).ok());
    ids.push_back(*id);
  }
  redis.Kill();  // SIGKILL: nothing flushed at exit
  ASSERT_TRUE(redis.Start());
  // The link finds the restarted server by itself after its backoff.
  ASSERT_TRUE(test::PollUntil([&] { return sessions.Get(ids[0], kT0 + 2).ok(); }, std::chrono::seconds(5)));
  for (int i = 0; i < 20; ++i) {
    Result<Session> s = sessions.Get(ids[i], kT0 + 2);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_EQ(s->messages.size(), 4u);
    EXPECT_EQ(s->messages[2].content, "follow-up " + std::to_string(i));
  }
}

TEST(RedisSessionsTest, AnErrorReplyIsNeverTakenForAMissingSession) {
  RedisServer redis;
  std::shared_ptr<RedisLink> link = LinkTo(redis);
  RedisSessions sessions(link, SessionOptions{.ttl_s = kTtl});
  Result<std::string> id = NewSessionId();
  ASSERT_TRUE(id.ok());
  // Something else wrote the key (another program sharing the prefix):
  // every read of it is an error reply, which must not read as "no such
  // session" (a client told that starts a new conversation).
  ASSERT_TRUE(redis.Cli({"LPUSH", link->Key("session:" + *id), "not a session"}).ok());
  EXPECT_NE(sessions.AppendTurn(*id, "u", "a", kT0).code(), Code::kNotFound);
  EXPECT_NE(sessions.Get(*id, kT0).status().code(), Code::kNotFound);
}

TEST(RedisSessionsTest, UnreachableRedisIsUnavailableUntilItIsBack) {
  RedisServer redis;
  RedisSessions sessions(LinkTo(redis), SessionOptions{.ttl_s = kTtl});
  Result<std::string> id = sessions.Create(kT0);
  ASSERT_TRUE(id.ok());
  redis.Stop();
  Result<Session> read = sessions.Get(*id, kT0);
  EXPECT_EQ(read.status().code(), Code::kUnavailable);
  EXPECT_EQ(read.status().error(), "store_unavailable");
  Status append = sessions.AppendTurn(*id, "u", "a", kT0);
  EXPECT_EQ(append.error(), "store_unavailable");
  EXPECT_EQ(sessions.LastCommitStatus().error(), "store_unavailable") << "health shows turns not being saved";
  EXPECT_EQ(sessions.Get("bad", kT0).status().code(), Code::kInvalidArgument) << "a bad id is still the caller's";
  ASSERT_TRUE(redis.Start());  // no AOF: the data is gone, the link is not
  ASSERT_TRUE(test::PollUntil([&] { return sessions.Create(kT0).ok(); }, std::chrono::seconds(5)));
  EXPECT_TRUE(sessions.LastCommitStatus().ok());
}

}  // namespace
}  // namespace folio
