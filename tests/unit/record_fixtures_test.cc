// record_fixtures_test.cc: the checked-in fixtures of tests/fixtures/, made
// once by an earlier folio (make-fixtures), read by this one. Every record
// format ever written must decode to what it held, the formats written today
// must still be written byte for byte as they were (a change of format needs
// a new version), and a backup made then must verify and restore now.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "backup.h"
#include "fixture_content.h"
#include "response_cache.h"
#include "child.h"
#include "temp_dir.h"
#include "sessions.h"

namespace folio {
namespace {

namespace fs = std::filesystem;
const std::string kFixtures = FOLIO_SOURCE_DIR "/tests/fixtures";

std::string Fixture(const std::string& name) {
  std::ifstream f(kFixtures + "/" + name, std::ios::binary);
  EXPECT_TRUE(f.good()) << name << " is missing";
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void ExpectSameSession(const Session& got, const Session& want) {
  EXPECT_EQ(got.created, want.created);
  EXPECT_EQ(got.updated, want.updated);
  EXPECT_EQ(got.updated_ms, want.updated_ms);
  ASSERT_EQ(got.messages.size(), want.messages.size());
  for (size_t i = 0; i < want.messages.size(); ++i) {
    EXPECT_EQ(got.messages[i].role, want.messages[i].role) << i;
    EXPECT_EQ(got.messages[i].content, want.messages[i].content) << i;
    EXPECT_EQ(got.messages[i].ts, want.messages[i].ts) << i;
  }
}

TEST(RecordFixturesTest, EverySessionFormatEverWrittenDecodes) {
  Result<Session> v1 = DecodeSession(Fixture("records/session_v1.bin"));
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  ExpectSameSession(*v1, fixtures::SessionV1());
  Result<Session> v2 = DecodeSession(Fixture("records/session_v2.bin"));
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  ExpectSameSession(*v2, fixtures::SessionV2());
}

TEST(RecordFixturesTest, TodaysFormatsAreStillWrittenByteForByte) {
  ASSERT_EQ(kSessionRecordFormat, 2) << "a new session format: add its fixture, keep reading format 2";
  EXPECT_EQ(EncodeSession(fixtures::SessionV2()), Fixture("records/session_v2.bin"));
  ASSERT_EQ(kCacheRecordFormat, 1) << "a new cache format: add its fixture";
  EXPECT_EQ(EncodeCacheRecord(fixtures::CacheEntry()), Fixture("records/cache_v1.bin"));
  EXPECT_EQ(EncodeStoreFormat(fixtures::StoreFormatV1()), Fixture("records/store_format_v1.bin"));
}

TEST(RecordFixturesTest, TheCacheRecordAndTheStoreMarkerDecode) {
  Result<CachedAnswer> a = DecodeCacheRecord(Fixture("records/cache_v1.bin"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  const CachedAnswer want = fixtures::CacheEntry();
  EXPECT_EQ(a->payload, want.payload);
  EXPECT_EQ(a->created_ms, want.created_ms);
  EXPECT_EQ(a->expires_ms, want.expires_ms);
  EXPECT_EQ(a->last_access_ms, want.last_access_ms);
  Result<StoreFormat> f = DecodeStoreFormat(Fixture("records/store_format_v1.bin"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->format, 1u);
  EXPECT_EQ(f->written_by, "0.1.0");
}

TEST(RecordFixturesTest, ABackupMadeThenVerifiesAndRestoresNow) {
  const std::string backup = kFixtures + "/backup_v1";
  Result<BackupVerification> v = VerifyBackup(backup);  // read-only: the source tree stays as it is
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_TRUE(v->ok()) << v->problems.front();
  EXPECT_EQ(v->manifest.sessions, 2u);
  EXPECT_FALSE(fs::exists(backup + "/lmdb/lock.mdb"));

  test::TempDir dir;
  const std::string lmdb = dir.path() + "/lmdb", cache = dir.path() + "/cache";
  ASSERT_TRUE(RestoreBackup(backup, v->manifest, {{kSessionsEnv, lmdb}, {kCacheEnv, cache}}).ok());
  StoreOptions so;
  so.path = lmdb;
  so.databases = SessionDatabases();
  std::unique_ptr<Store> store = std::move(Store::Open(so).value());
  Result<SessionStore> sessions = SessionStore::Open(store.get(), {});
  ASSERT_TRUE(sessions.ok()) << sessions.status().ToString();
  const int64_t then = fixtures::kUpdated + 60;  // while both sessions were live
  Result<Session> v1 = sessions->Get(fixtures::kSessionV1Id, then);
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  ExpectSameSession(*v1, fixtures::SessionV1());
  Result<Session> v2 = sessions->Get(fixtures::kSessionV2Id, then);
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  ExpectSameSession(*v2, fixtures::SessionV2());
  // The format-1 record takes a turn like any other, and is then rewritten in today's format.
  ASSERT_TRUE(sessions->AppendTurn(fixtures::kSessionV1Id, "Still there?", "Yes.", then).ok());
  EXPECT_EQ(sessions->Get(fixtures::kSessionV1Id, then)->messages.size(), 4u);

  CacheOptions co;
  co.path = cache;
  co.ttl_s = 1800;
  Result<std::unique_ptr<ResponseCache>> opened = ResponseCache::Open(co);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Result<std::optional<CachedAnswer>> hit = (*opened)->Get(fixtures::kCacheKey, fixtures::kCreated * 1000 + 1000);
  ASSERT_TRUE(hit.ok() && hit->has_value());
  EXPECT_EQ((*hit)->payload, fixtures::CacheEntry().payload);
}

}  // namespace
}  // namespace folio
