// response_cache_test.cc: normalisation and key composition; ResponseCache on a
// real LMDB environment in a fresh temp dir with time injected as now_ms: hits,
// misses, expiry, LRU eviction by entries and by bytes, a full map (evict, then
// disable), corrupt records, and two processes sharing the environment.
#include "response_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "child.h"
#include "temp_dir.h"

namespace folio {
namespace {

using test::RunInChild;
using test::TempDir;

constexpr int64_t kT0 = 1'700'000'000'000;  // unix ms
constexpr char kAnswer[] = R"({"text":"Tollgate is a toll-road simulator.","sources":["projects.md"],"usage":{"total_tokens":42},"degraded":false})";

CacheKeyParts Parts(std::string_view message) {
  return CacheKeyParts{message, "projects", kEmptyHistoryDigest, "gpt-4o-mini", "p1", "kb1"};
}

// ---- keys -------------------------------------------------------------------

TEST(NormalizeMessageTest, FoldsSpellingNoise) {
  const std::pair<const char*, const char*> kCases[] = {
      {"What is Tollgate?", "what is tollgate"},
      {"  what is   tollgate ", "what is tollgate"},
      {"WHAT IS TOLLGATE?!?", "what is tollgate"},
      {"\"What is Tollgate?\"", "what is tollgate"},
      {"\u201cWhat is Tollgate?\u201d", "what is tollgate"},
      {"'what is tollgate' ...", "what is tollgate"},
      {"what\tis\n\ntollgate\u2026", "what is tollgate"},
      {"what\u00a0is tollgate", "what is tollgate"},
      {"What is \"Tollgate\"?", "what is \"tollgate\""},
      {"Was ist Straße?", "was ist straße"},  // non-ASCII bytes untouched
      {"ÉCOLE?", "École"},                    // only ASCII is lowercased
      {"is it c++?", "is it c++"},
      {"?!.", ""},
      {"", ""},
      {"\"\"", ""},
  };
  for (const auto& [in, want] : kCases) EXPECT_EQ(NormalizeMessage(in), want) << "input: " << in;
}

TEST(CacheKeyTest, HasVersionPrefixAnd32HexDigits) {
  const std::string key = CacheKey(Parts("what is tollgate"));
  ASSERT_EQ(key.size(), 35u);
  EXPECT_EQ(key.substr(0, 3), "c1:");
  EXPECT_EQ(key.find_first_not_of("0123456789abcdef", 3), std::string::npos);
  EXPECT_EQ(key, CacheKey(Parts("what is tollgate")));
}

TEST(CacheKeyTest, SpellingVariantsShareAKey) {
  const std::string a = NormalizeMessage("What is Tollgate?"), b = NormalizeMessage("  what is   tollgate ");
  EXPECT_EQ(CacheKey(Parts(a)), CacheKey(Parts(b)));
}

TEST(CacheKeyTest, EveryPartChangesTheKey) {
  const CacheKeyParts base = Parts("what is tollgate");
  std::set<std::string> keys = {CacheKey(base)};
  const std::vector<ChatMessage> history = {{"user", "who is she?"}, {"assistant", "A developer."}};
  const std::string digest = HistoryDigest(history);
  CacheKeyParts p = base;
  p.normalized_message = "what is tollgate 2";
  keys.insert(CacheKey(p));
  p = base, p.intent = "other", keys.insert(CacheKey(p));
  p = base, p.history_digest = digest, keys.insert(CacheKey(p));
  p = base, p.model = "gpt-4o", keys.insert(CacheKey(p));
  p = base, p.prompt_version = "p2", keys.insert(CacheKey(p));
  p = base, p.kb_version = "kb2", keys.insert(CacheKey(p));
  // Length-prefixed parts: moving a byte from one part to the next is another key.
  p = base, p.model = "gpt-4o-min", p.prompt_version = "ip1", keys.insert(CacheKey(p));
  EXPECT_EQ(keys.size(), 8u);
}

TEST(HistoryDigestTest, DependsOnEveryMessageAndRole) {
  EXPECT_EQ(HistoryDigest({}), kEmptyHistoryDigest);
  const std::vector<ChatMessage> a = {{"user", "who is she?"}, {"assistant", "A developer."}};
  std::vector<ChatMessage> b = a;
  b[1].content = "An engineer.";
  std::vector<ChatMessage> c = a;
  c[0].role = "assistant";
  const std::vector<ChatMessage> d = {{"user", "who is she?"}};
  EXPECT_EQ(HistoryDigest(a), HistoryDigest(std::vector<ChatMessage>(a)));
  EXPECT_EQ(HistoryDigest(a).size(), 32u);
  const std::set<std::string> digests = {HistoryDigest(a), HistoryDigest(b), HistoryDigest(c), HistoryDigest(d)};
  EXPECT_EQ(digests.size(), 4u);
}

// ---- records ----------------------------------------------------------------

TEST(CacheRecordTest, RoundTrips) {
  const CachedAnswer a{kAnswer, kT0, kT0 + 1000, kT0 + 5};
  Result<CachedAnswer> b = DecodeCacheRecord(EncodeCacheRecord(a));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->payload, a.payload);
  EXPECT_EQ(b->created_ms, a.created_ms);
  EXPECT_EQ(b->expires_ms, a.expires_ms);
  EXPECT_EQ(b->last_access_ms, a.last_access_ms);
}

TEST(CacheRecordTest, DamagedRecordsAreErrorsNotCrashes) {
  const std::string good = EncodeCacheRecord(CachedAnswer{kAnswer, kT0, kT0 + 1000, kT0});
  std::vector<std::string> bad = {"", "\x02", good.substr(0, 10), good.substr(0, good.size() - 1), good + "x"};
  for (size_t i = 0; i < good.size(); i += 7) {
    std::string flipped = good;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x20);
    bad.push_back(flipped);
  }
  for (const std::string& bytes : bad) {
    Result<CachedAnswer> r = DecodeCacheRecord(bytes);
    ASSERT_FALSE(r.ok()) << "size " << bytes.size();
    EXPECT_EQ(r.status().error(), "corrupt_record");
  }
  std::string noise;
  for (int i = 0; i < 2000; ++i) {  // never crashes, whatever the bytes
    noise.push_back(static_cast<char>(i * 131 + 7));
    (void)DecodeCacheRecord(noise).ok();
  }
}

// ---- the cache --------------------------------------------------------------

class ResponseCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.path = dir_.path("cache");
    options_.map_size_mb = 16;
    options_.ttl_s = 60;
    options_.max_entries = 100;
    options_.max_bytes = 4 << 20;
    options_.touch_interval_ms = 1000;
    Reopen();
  }
  void Reopen() {
    cache_.reset();
    Result<std::unique_ptr<ResponseCache>> c = ResponseCache::Open(options_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    cache_ = std::move(c.value());
  }
  std::optional<CachedAnswer> MustGet(std::string_view key, int64_t now) {
    Result<std::optional<CachedAnswer>> r = cache_->Get(key, now);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::nullopt;
  }
  static std::string Key(int i) { return CacheKey(Parts("question " + std::to_string(i))); }

  TempDir dir_{"folio-cache-test"};
  CacheOptions options_;
  std::unique_ptr<ResponseCache> cache_;
};

TEST_F(ResponseCacheTest, HitAfterPut) {
  const std::string key = CacheKey(Parts(NormalizeMessage("What is Tollgate?")));
  ASSERT_TRUE(cache_->Put(key, kAnswer, kT0).ok());
  std::optional<CachedAnswer> a = MustGet(CacheKey(Parts(NormalizeMessage("  what is   tollgate "))), kT0 + 10);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->payload, kAnswer);
  EXPECT_EQ(a->created_ms, kT0);
  EXPECT_EQ(a->expires_ms, kT0 + 60'000);
  const CacheStats s = cache_->Stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 0u);
  EXPECT_EQ(s.entries, 1u);
  EXPECT_GT(s.bytes, std::string_view(kAnswer).size());
  EXPECT_DOUBLE_EQ(s.hit_rate, 1.0);
}

TEST_F(ResponseCacheTest, MissesAreCounted) {
  EXPECT_FALSE(MustGet(Key(1), kT0).has_value());
  EXPECT_FALSE(MustGet(Key(2), kT0).has_value());
  ASSERT_TRUE(cache_->Put(Key(1), kAnswer, kT0).ok());
  EXPECT_TRUE(MustGet(Key(1), kT0).has_value());
  const CacheStats s = cache_->Stats();
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.hits, 1u);
  EXPECT_NEAR(s.hit_rate, 1.0 / 3, 1e-9);
}

TEST_F(ResponseCacheTest, CountsPersistAcrossReopen) {
  (void)MustGet(Key(1), kT0);
  ASSERT_TRUE(cache_->Put(Key(1), kAnswer, kT0).ok());
  (void)MustGet(Key(1), kT0 + 1);
  cache_->CountCoalesced(3);
  cache_->CountUpstreamSaved(4);
  Reopen();  // the destructor flushes
  const CacheStats s = cache_->Stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.coalesced, 3u);
  EXPECT_EQ(s.upstream_saved, 4u);
  EXPECT_EQ(s.entries, 1u);
}

TEST_F(ResponseCacheTest, ExpiredEntryIsAMissAndIsDeleted) {
  ASSERT_TRUE(cache_->Put(Key(1), kAnswer, kT0).ok());
  EXPECT_TRUE(MustGet(Key(1), kT0 + 59'999).has_value());
  EXPECT_FALSE(MustGet(Key(1), kT0 + 60'000).has_value());
  const CacheStats s = cache_->Stats();
  EXPECT_EQ(s.expirations, 1u);
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.bytes, 0u);
  EXPECT_EQ(s.misses, 1u);
}

TEST_F(ResponseCacheTest, PurgeExpiredDeletesInBatches) {
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(cache_->Put(Key(i), kAnswer, kT0 + i * 1000).ok());
  Result<int> first = cache_->PurgeExpired(kT0 + 65'000, 3);  // entries 0..5 are expired
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, 3);
  Result<int> rest = cache_->PurgeExpired(kT0 + 65'000, 100);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(*rest, 3);
  const CacheStats s = cache_->Stats();
  EXPECT_EQ(s.entries, 4u);
  EXPECT_EQ(s.expirations, 6u);
  EXPECT_TRUE(MustGet(Key(9), kT0 + 65'000).has_value());
}

TEST_F(ResponseCacheTest, EvictsLeastRecentlyUsedAtTheEntryBound) {
  options_.max_entries = 5;
  Reopen();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(cache_->Put(Key(i), kAnswer, kT0 + i * 2000).ok());
  EXPECT_TRUE(MustGet(Key(0), kT0 + 20'000).has_value());  // 0 is now the most recent
  ASSERT_TRUE(cache_->Put(Key(5), kAnswer, kT0 + 22'000).ok());
  ASSERT_TRUE(cache_->Put(Key(6), kAnswer, kT0 + 24'000).ok());
  const int64_t now = kT0 + 25'000;
  EXPECT_TRUE(MustGet(Key(0), now).has_value());
  EXPECT_FALSE(MustGet(Key(1), now).has_value());
  EXPECT_FALSE(MustGet(Key(2), now).has_value());
  for (int i : {3, 4, 5, 6}) EXPECT_TRUE(MustGet(Key(i), now).has_value()) << i;
  const CacheStats s = cache_->Stats();
  EXPECT_EQ(s.entries, 5u);
  EXPECT_EQ(s.evictions, 2u);
}

TEST_F(ResponseCacheTest, EvictsLeastRecentlyUsedAtTheByteBound) {
  const std::string big = R"({"text":")" + std::string(3000, 'x') + R"("})";
  const uint64_t charge = [&] {
    EXPECT_TRUE(cache_->Put(Key(100), big, kT0).ok());
    const uint64_t b = cache_->Stats().bytes;
    EXPECT_TRUE(cache_->Clear().ok());
    return b;
  }();
  options_.max_bytes = charge * 3 + charge / 2;  // room for three
  Reopen();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cache_->Put(Key(i), big, kT0 + i * 2000).ok());
  EXPECT_TRUE(MustGet(Key(0), kT0 + 10'000).has_value());
  ASSERT_TRUE(cache_->Put(Key(3), big, kT0 + 12'000).ok());
  EXPECT_TRUE(MustGet(Key(0), kT0 + 13'000).has_value()) << "read recently: survives";
  EXPECT_FALSE(MustGet(Key(1), kT0 + 13'000).has_value()) << "least recently used: evicted";
  const CacheStats s = cache_->Stats();
  EXPECT_EQ(s.entries, 3u);
  EXPECT_LE(s.bytes, options_.max_bytes);
  EXPECT_EQ(s.evictions, 1u);
}

TEST_F(ResponseCacheTest, ReplacingAnEntryKeepsTheGaugesExact) {
  for (int round = 0; round < 5; ++round) ASSERT_TRUE(cache_->Put(Key(1), kAnswer, kT0 + round).ok());
  const CacheStats s = cache_->Stats();
  EXPECT_EQ(s.entries, 1u);
  ASSERT_TRUE(cache_->Clear().ok());
  EXPECT_EQ(cache_->Stats().bytes, 0u);
}

TEST_F(ResponseCacheTest, VersionsAndHistoryInTheKeySeparateAnswers) {
  CacheKeyParts p = Parts("what is tollgate");
  ASSERT_TRUE(cache_->Put(CacheKey(p), kAnswer, kT0).ok());
  CacheKeyParts reingested = p, new_prompt = p, follow_up = p;
  reingested.kb_version = "kb2";
  new_prompt.prompt_version = "p2";
  const std::vector<ChatMessage> history = {{"user", "who is she?"}, {"assistant", "A developer."}};
  const std::string digest = HistoryDigest(history);
  follow_up.history_digest = digest;
  EXPECT_FALSE(MustGet(CacheKey(reingested), kT0).has_value());
  EXPECT_FALSE(MustGet(CacheKey(new_prompt), kT0).has_value());
  EXPECT_FALSE(MustGet(CacheKey(follow_up), kT0).has_value());
  EXPECT_TRUE(MustGet(CacheKey(p), kT0).has_value());
}

// The payload is opaque here: that degraded answers are never cached is
// the answer pipeline's rule (coalesced_answer_test).
TEST_F(ResponseCacheTest, RefusesMalformedKeysAndOversizedPayloads) {
  EXPECT_EQ(cache_->Put(Key(1), std::string(kMaxCachePayloadBytes + 1, 'x'), kT0).error(), "cache_bad_entry");
  EXPECT_EQ(cache_->Put("", kAnswer, kT0).error(), "cache_bad_entry");
  EXPECT_EQ(cache_->Put(std::string(401, 'k'), kAnswer, kT0).error(), "cache_bad_entry");
  EXPECT_EQ(cache_->Stats().entries, 0u);
}

TEST_F(ResponseCacheTest, TouchIsRateLimited) {
  ASSERT_TRUE(cache_->Put(Key(1), kAnswer, kT0).ok());
  EXPECT_EQ(MustGet(Key(1), kT0 + 500)->last_access_ms, kT0);  // < 1 s: no write
  (void)MustGet(Key(1), kT0 + 1500);                            // ≥ 1 s: touched
  EXPECT_EQ(MustGet(Key(1), kT0 + 1600)->last_access_ms, kT0 + 1500);
}

TEST_F(ResponseCacheTest, CorruptRecordIsDeletedNotServed) {
  ASSERT_TRUE(cache_->Put(Key(1), kAnswer, kT0).ok());
  ASSERT_TRUE(cache_->Put(Key(2), kAnswer, kT0).ok());
  {
    // Damage Key(1)'s record through a second handle on the same environment.
    StoreOptions so;
    so.path = options_.path;
    so.map_size_mb = options_.map_size_mb;
    so.databases = {kCacheEntriesDb, kCacheLruDb, kCacheStatsDb};
    so.commit_sync = CommitSync::kOnRequest;
    cache_.reset();
    Result<std::unique_ptr<Store>> store = Store::Open(so);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    Result<Db> entries = (*store)->Database(kCacheEntriesDb);
    ASSERT_TRUE(entries.ok());
    ASSERT_TRUE((*store)->Put(*entries, Key(1), "\x01garbage-garbage-garbage-garbage-garbage", Durability::kRelaxed).ok());
  }
  Reopen();
  EXPECT_FALSE(MustGet(Key(1), kT0 + 10).has_value());
  EXPECT_TRUE(MustGet(Key(2), kT0 + 10).has_value());
  EXPECT_EQ(cache_->Stats().entries, 1u);
  Result<int> purged = cache_->PurgeExpired(kT0 + 10, 100);  // drops the orphaned LRU key quietly
  ASSERT_TRUE(purged.ok());
  EXPECT_TRUE(cache_->Put(Key(1), kAnswer, kT0 + 20).ok());
  EXPECT_TRUE(MustGet(Key(1), kT0 + 30).has_value());
}

TEST_F(ResponseCacheTest, FullMapEvictsAndKeepsServing) {
  options_.map_size_mb = 1;          // 256 pages
  options_.max_entries = 1'000'000;  // bounds far beyond the map: only the map limits
  options_.max_bytes = 1ull << 40;
  Reopen();
  const std::string big = R"({"text":")" + std::string(20'000, 'y') + R"("})";
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(cache_->Put(Key(i), big, kT0 + i).ok()) << i;
  const CacheStats s = cache_->Stats();
  EXPECT_FALSE(s.disabled);
  EXPECT_GT(s.evictions, 100u);  // a 1 MiB map holds a few dozen 20 KB answers
  EXPECT_EQ(s.entries + s.evictions, 200u);
  EXPECT_TRUE(MustGet(Key(199), kT0 + 300).has_value());
}

TEST_F(ResponseCacheTest, MapFullOfUnevictableDataDisablesTheCache) {
  options_.map_size_mb = 1;
  cache_.reset();
  {
    // Fill the environment through another database, which the cache cannot evict.
    StoreOptions so;
    so.path = options_.path;
    so.map_size_mb = options_.map_size_mb;
    so.databases = {kCacheEntriesDb, kCacheLruDb, kCacheStatsDb, "filler"};
    so.commit_sync = CommitSync::kOnRequest;
    Result<std::unique_ptr<Store>> store = Store::Open(so);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    Result<Db> filler = (*store)->Database("filler");
    ASSERT_TRUE(filler.ok());
    Status s;
    for (int i = 0; s.ok() && i < 1000; ++i) {
      s = (*store)->Put(*filler, "k" + std::to_string(i), std::string(16'000, 'f'), Durability::kRelaxed);
    }
    ASSERT_EQ(s.error(), "store_full");
  }
  Reopen();
  Status put = cache_->Put(Key(1), kAnswer, kT0);
  EXPECT_EQ(put.error(), "cache_disabled") << put.ToString();
  const CacheStats s = cache_->Stats();
  EXPECT_TRUE(s.disabled);
  EXPECT_NE(s.disabled_reason.find("store_full"), std::string::npos) << s.disabled_reason;
  Result<std::optional<CachedAnswer>> got = cache_->Get(Key(1), kT0);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kUnavailable);
  EXPECT_EQ(cache_->Put(Key(2), kAnswer, kT0).error(), "cache_disabled");
  Status cleared = cache_->Clear();  // re-enables; the next full Put disables again
  ASSERT_TRUE(cleared.ok()) << cleared.ToString();
  EXPECT_FALSE(cache_->Stats().disabled);
}

TEST_F(ResponseCacheTest, ADisabledCacheComesBackOnceAnotherProcessMadeRoom) {
  options_.map_size_mb = 1;
  cache_.reset();
  auto open_filler = [&] {
    StoreOptions so;
    so.path = options_.path;
    so.map_size_mb = options_.map_size_mb;
    so.databases = {kCacheEntriesDb, kCacheLruDb, kCacheStatsDb, "filler"};
    so.commit_sync = CommitSync::kOnRequest;
    return Store::Open(so);
  };
  int filled = 0;
  {
    Result<std::unique_ptr<Store>> store = open_filler();
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    Db filler = *(*store)->Database("filler");
    while ((*store)->Put(filler, "k" + std::to_string(filled), std::string(16'000, 'f'), Durability::kRelaxed).ok())
      ++filled;
  }
  Reopen();
  ASSERT_EQ(cache_->Put(Key(1), kAnswer, kT0).error(), "cache_disabled");
  EXPECT_TRUE(cache_->Stats().disabled);
  ASSERT_TRUE(cache_->PurgeExpired(kT0, 10).ok());
  EXPECT_TRUE(cache_->Stats().disabled) << "still no room";
  // Another process deletes what filled the map.
  ASSERT_EQ(RunInChild([&] {
              Result<std::unique_ptr<Store>> store = open_filler();
              if (!store.ok()) return 1;
              Db filler = *(*store)->Database("filler");
              for (int i = 0; i < filled; ++i)
                if (!(*store)->Delete(filler, "k" + std::to_string(i), Durability::kRelaxed).ok()) return 2;
              return 0;
            }),
            0);
  ASSERT_TRUE(cache_->PurgeExpired(kT0, 10).ok());  // the housekeeper's periodic call
  EXPECT_FALSE(cache_->Stats().disabled);
  ASSERT_TRUE(cache_->Put(Key(2), kAnswer, kT0).ok());
  EXPECT_TRUE(MustGet(Key(2), kT0).has_value());
}

TEST_F(ResponseCacheTest, TwoProcessesShareEntriesAndStats) {
  ASSERT_TRUE(cache_->Put(Key(1), kAnswer, kT0).ok());
  ASSERT_TRUE(cache_->Flush().ok());
  // The child opens its own environment: LMDB handles never cross fork().
  ASSERT_EQ(RunInChild([&] {
              int code = 0;
              Result<std::unique_ptr<ResponseCache>> c = ResponseCache::Open(options_);
              if (!c.ok()) return 10;
              Result<std::optional<CachedAnswer>> got = (*c)->Get(Key(1), kT0 + 100);
              if (!got.ok() || !got->has_value() || (**got).payload != kAnswer) code = 11;
              if (!(*c)->Put(Key(2), kAnswer, kT0 + 200).ok()) code = 12;
              (*c)->CountUpstreamSaved(1);
              return code;  // after ~ResponseCache, which flushes the child's counts
            }),
            0);
  EXPECT_TRUE(MustGet(Key(2), kT0 + 300).has_value()) << "the child's entry";
  const CacheStats s = cache_->Stats();
  EXPECT_EQ(s.entries, 2u);
  EXPECT_EQ(s.hits, 2u);  // the child's and ours
  EXPECT_EQ(s.upstream_saved, 1u);
}

TEST_F(ResponseCacheTest, PutLatencyIsReported) {
  options_.max_entries = 1000;
  Reopen();
  std::vector<double> us;
  for (int i = 0; i < 3000; ++i) {  // past the bound: most Puts also evict
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(cache_->Put(Key(i), kAnswer, kT0 + i).ok());
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(us.begin(), us.end());
  const CacheStats s = cache_->Stats();
  std::printf("Put (outside): p50 %.1f us, p99 %.1f us; Stats: p50 %llu us, p99 %llu us, peak %llu us\n",
              us[us.size() / 2], us[us.size() * 99 / 100], static_cast<unsigned long long>(s.put_p50_us),
              static_cast<unsigned long long>(s.put_p99_us), static_cast<unsigned long long>(s.put_peak_us));
  EXPECT_EQ(s.put_count, 3000u);
  EXPECT_EQ(s.entries, 1000u);
  EXPECT_EQ(s.evictions, 2000u);
  EXPECT_GT(s.put_p50_us, 0u);
  EXPECT_LE(s.put_p50_us, s.put_p99_us);
  EXPECT_LE(s.put_p99_us, s.put_peak_us + s.put_peak_us / 8 + 1);
}

}  // namespace
}  // namespace folio
