// cache_backends_test.cc: the promises every response cache keeps
// (state_backend.h's CacheBackend), held against the LMDB ResponseCache and
// RedisCache on a real redis-server by one parametrised suite; then what
// only the shared cache must show: an answer one instance stored is a hit on
// another for one round trip and then none, its local copy expires no later
// than the original, and an unreachable Redis is a miss, never an error.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "clock.h"
#include "poll_until.h"
#include "redis_cache.h"
#include "redis_server.h"
#include "response_cache.h"
#include "temp_dir.h"

namespace folio {
namespace {

using test::RedisServer;
using test::TempDir;

RedisServer* suite_redis = nullptr;
std::atomic<int> prefixes{0};

std::shared_ptr<RedisLink> LinkTo(const RedisServer& server, const std::string& prefix) {
  Result<RedisOptions> options = ParseRedisUrl(server.url());
  EXPECT_TRUE(options.ok());
  options->prefix = prefix;
  options->backoff_min_ms = 20;
  options->backoff_max_ms = 100;
  return std::make_shared<RedisLink>(*options);
}

// One instance's cache: its own LMDB directory, and Redis in front when
// `link` is given.
std::unique_ptr<CacheBackend> OpenCache(const TempDir& dir, const std::string& name, std::shared_ptr<RedisLink> link,
                                        int64_t ttl_s = 60) {
  CacheOptions options;
  options.path = dir.path(name);
  options.map_size_mb = 16;
  options.ttl_s = ttl_s;
  options.max_entries = 100;
  options.max_bytes = 4 << 20;
  Result<std::unique_ptr<ResponseCache>> local = ResponseCache::Open(options);
  EXPECT_TRUE(local.ok()) << local.status().ToString();
  if (!link) return std::move(local.value());
  return std::make_unique<RedisCache>(std::move(link), std::move(local.value()), ttl_s * 1000);
}

class CacheBackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { suite_redis = new RedisServer(); }
  static void TearDownTestSuite() {
    delete suite_redis;
    suite_redis = nullptr;
  }
  void SetUp() override {
    prefix_ = "c" + std::to_string(prefixes++) + ":";
    cache_ = OpenCache(dir_, "a", GetParam() == "redis" ? LinkTo(*suite_redis, prefix_) : nullptr);
  }
  std::optional<CachedAnswer> MustGet(std::string_view key) {
    Result<std::optional<CachedAnswer>> r = cache_->Get(key, UnixMs());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::nullopt;
  }

  TempDir dir_{"folio-cache-backends"};
  std::string prefix_;
  std::unique_ptr<CacheBackend> cache_;
};

INSTANTIATE_TEST_SUITE_P(Backends, CacheBackendTest, ::testing::Values("lmdb", "redis"),
                         [](const auto& info) { return info.param; });

TEST_P(CacheBackendTest, AStoredAnswerIsAHitAndAnotherKeyAMiss) {
  ASSERT_TRUE(cache_->Put("c1:aa", "the answer", UnixMs()).ok());
  std::optional<CachedAnswer> hit = MustGet("c1:aa");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->payload, "the answer");
  EXPECT_GT(hit->expires_ms, UnixMs());
  EXPECT_FALSE(MustGet("c1:bb").has_value());
  ASSERT_TRUE(cache_->Flush().ok());
  CacheStats stats = cache_->Stats();
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 1u);
}

TEST_P(CacheBackendTest, APutReplacesTheAnswer) {
  ASSERT_TRUE(cache_->Put("c1:aa", "old", UnixMs()).ok());
  ASSERT_TRUE(cache_->Put("c1:aa", "new", UnixMs()).ok());
  EXPECT_EQ(MustGet("c1:aa")->payload, "new");
}

TEST_P(CacheBackendTest, ClearEmptiesIt) {
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(cache_->Put("c1:k" + std::to_string(i), "v", UnixMs()).ok());
  ASSERT_TRUE(cache_->Clear().ok());
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(MustGet("c1:k" + std::to_string(i)).has_value());
}

TEST_P(CacheBackendTest, BadEntriesAreRefusedAsTheCallersMistake) {
  EXPECT_EQ(cache_->Put("", "v", UnixMs()).code(), Code::kInvalidArgument);
  EXPECT_EQ(cache_->Put("c1:big", std::string(kMaxCachePayloadBytes + 1, 'x'), UnixMs()).code(), Code::kInvalidArgument);
  EXPECT_FALSE(MustGet("c1:big").has_value());
}

TEST_P(CacheBackendTest, CoalescedAndSavedCountsReachTheStats) {
  cache_->CountCoalesced(2);
  cache_->CountUpstreamSaved(3);
  ASSERT_TRUE(cache_->Flush().ok());
  CacheStats stats = cache_->Stats();
  EXPECT_EQ(stats.coalesced, 2u);
  EXPECT_EQ(stats.upstream_saved, 3u);
}

TEST(RedisCacheTest, AnAnswerStoredByOneInstanceIsAHitOnAnotherForOneRoundTripThenNone) {
  RedisServer redis;
  TempDir dir("folio-cache-backends");
  auto link_a = LinkTo(redis, "site:");
  auto link_b = LinkTo(redis, "site:");
  std::unique_ptr<CacheBackend> a = OpenCache(dir, "a", link_a);
  std::unique_ptr<CacheBackend> b = OpenCache(dir, "b", link_b);
  ASSERT_TRUE(a->Put("c1:shared", "paid for once", UnixMs()).ok());
  // A's own hit: its local copy, no round trip.
  uint64_t before = link_a->Stats().commands;
  ASSERT_TRUE(a->Get("c1:shared", UnixMs())->has_value());
  EXPECT_EQ(link_a->Stats().commands, before);
  // B has never seen it: one round trip, then its local copy answers.
  before = link_b->Stats().commands;
  Result<std::optional<CachedAnswer>> first = b->Get("c1:shared", UnixMs());
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->payload, "paid for once");
  EXPECT_EQ(link_b->Stats().commands, before + 1);
  ASSERT_TRUE(b->Get("c1:shared", UnixMs())->has_value());
  EXPECT_EQ(link_b->Stats().commands, before + 1);
  // B's lookup counted as a hit, though its local copy missed.
  ASSERT_TRUE(b->Flush().ok());
  EXPECT_EQ(b->Stats().hits, 2u);
  EXPECT_EQ(b->Stats().misses, 0u);
  // Another site's prefix never sees it.
  std::unique_ptr<CacheBackend> other = OpenCache(dir, "c", LinkTo(redis, "other-site:"));
  EXPECT_FALSE(other->Get("c1:shared", UnixMs())->has_value());
}

TEST(RedisCacheTest, ALocalCopyExpiresNoLaterThanTheOriginal) {
  RedisServer redis;
  TempDir dir("folio-cache-backends");
  std::unique_ptr<CacheBackend> a = OpenCache(dir, "a", LinkTo(redis, "site:"), 60);
  std::unique_ptr<CacheBackend> b = OpenCache(dir, "b", LinkTo(redis, "site:"), 60);
  ASSERT_TRUE(a->Put("c1:aging", "v", UnixMs()).ok());
  ASSERT_TRUE(redis.Cli({"PEXPIRE", "site:cache:c1:aging", "5000"}).ok());  // as if stored 55 s ago
  Result<std::optional<CachedAnswer>> copy = b->Get("c1:aging", UnixMs());
  ASSERT_TRUE(copy.ok() && copy->has_value());
  EXPECT_LE((*copy)->expires_ms, UnixMs() + 5000);
  // Past the original's expiry (time injected; Redis's copy made to expire
  // with it), the local copy misses too.
  ASSERT_TRUE(b->Get("c1:aging", UnixMs() + 4000)->has_value());
  ASSERT_TRUE(redis.Cli({"DEL", "site:cache:c1:aging"}).ok());
  EXPECT_FALSE(b->Get("c1:aging", UnixMs() + 6000)->has_value());
}

TEST(RedisCacheTest, AnUnreachableRedisIsAMissAndTheLocalCopyStillAnswers) {
  RedisServer redis;
  TempDir dir("folio-cache-backends");
  std::unique_ptr<CacheBackend> cache = OpenCache(dir, "a", LinkTo(redis, "site:"));
  ASSERT_TRUE(cache->Put("c1:known", "v", UnixMs()).ok());
  redis.Kill();
  Result<std::optional<CachedAnswer>> known = cache->Get("c1:known", UnixMs());
  ASSERT_TRUE(known.ok());
  EXPECT_TRUE(known->has_value()) << "this instance's copy";
  Result<std::optional<CachedAnswer>> unknown = cache->Get("c1:unknown", UnixMs());
  ASSERT_TRUE(unknown.ok()) << "a miss, not an error";
  EXPECT_FALSE(unknown->has_value());
  EXPECT_EQ(cache->Put("c1:later", "v", UnixMs()).code(), Code::kUnavailable) << "not shared";
  EXPECT_TRUE(cache->Get("c1:later", UnixMs())->has_value()) << "but kept locally";
  ASSERT_TRUE(redis.Start());
  EXPECT_TRUE(test::PollUntil([&] { return cache->Put("c1:back", "v", UnixMs()).ok(); }, std::chrono::seconds(5)));
  EXPECT_EQ(redis.Cli({"GET", "site:cache:c1:back"}).value(), "v");
}

}  // namespace
}  // namespace folio
