// backup_test.cc: backups made, verified and restored on real LMDB
// environments in a temp dir — what a backup holds and its manifest says,
// that a destination is whole or absent, that every kind of damage is found
// (a truncated file, a flipped byte, a record that no longer decodes behind
// a checksum made to match, a missing index entry, a missing or mistyped
// manifest, a newer folio's formats), and that a restore puts exactly the
// backup in place and keeps what it replaced.
#include "backup.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>

#include "clock.h"
#include "file_util.h"
#include "response_cache.h"
#include "child.h"
#include "temp_dir.h"
#include "sessions.h"

namespace folio {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

constexpr int64_t kNow = 1796083200;  // 2026-12-01T00:00:00Z

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}
void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions o;
    o.path = dir_.path() + "/data/lmdb";
    o.map_size_mb = 64;
    o.databases = SessionDatabases();
    store_ = std::move(Store::Open(o).value());
    sessions_ = std::make_unique<SessionStore>(std::move(SessionStore::Open(store_.get(), {}).value()));
    // Queued together, the 40 first turns share one synced commit.
    std::mutex mu;
    std::condition_variable cv;
    int done = 0, failed = 0;
    for (int i = 0; i < 40; ++i) {
      ids_.push_back(*NewSessionId());
      sessions_->StartWithTurnAsync(ids_.back(), "question " + std::to_string(i), "answer " + std::to_string(i), kNow,
                                    [&](const Status& s) {
                                      std::lock_guard<std::mutex> lock(mu);
                                      failed += s.ok() ? 0 : 1;
                                      ++done;
                                      cv.notify_all();
                                    });
    }
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return done == 40; }));
    ASSERT_EQ(failed, 0);
    CacheOptions c;
    c.path = dir_.path() + "/data/cache";
    cache_ = std::move(ResponseCache::Open(c).value());
    ASSERT_TRUE(cache_->Put("c1:aaaa", R"({"response":"cached"})", kNow * 1000).ok());
    cache_store_ = std::move(Store::Open(CacheStoreOptions(c)).value());
  }

  Result<BackupResult> Backup(const std::string& name, bool with_cache = false) {
    std::vector<BackupSource> sources = {{kSessionsEnv, store_.get()}};
    if (with_cache) sources.push_back({kCacheEnv, cache_store_.get()});
    return CreateBackup(sources, dir_.path() + "/" + name);
  }
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<SessionStore> sessions_;
  std::unique_ptr<ResponseCache> cache_;
  std::unique_ptr<Store> cache_store_;
  std::vector<std::string> ids_;
};

TEST_F(BackupTest, ABackupHoldsEveryStoreAndAManifestThatDescribesIt) {
  Result<BackupResult> made = Backup("b1", /*with_cache=*/true);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  const BackupManifest& m = made->manifest;
  EXPECT_EQ(m.sessions, 40u);
  EXPECT_EQ(m.folio_version, FOLIO_VERSION);
  EXPECT_EQ(m.record_formats.at("session"), kSessionRecordFormat);
  EXPECT_EQ(m.record_formats.at("cache"), kCacheRecordFormat);
  ASSERT_EQ(m.environments.size(), 2u);
  EXPECT_EQ(m.environments.at(kCacheEnv).records, 1u);
  EXPECT_EQ(m.environments.at(kSessionsEnv).store_format, kSessionStoreFormat);
  uint64_t bytes = 0;
  EXPECT_EQ(*FileXxh3Hex(Path("b1/lmdb/data.mdb"), &bytes), m.environments.at(kSessionsEnv).xxh3);
  EXPECT_EQ(bytes, m.environments.at(kSessionsEnv).bytes);
  Result<BackupManifest> read = ReadBackupManifest(Path("b1"));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->created_at, m.created_at);
  EXPECT_EQ(read->environments.at(kCacheEnv).xxh3, m.environments.at(kCacheEnv).xxh3);
  // Nothing but the backup: no temp directory, no lock file.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_.path()), fs::directory_iterator()), 2);  // data, b1
  EXPECT_FALSE(fs::exists(Path("b1/lmdb/lock.mdb")));
}

TEST_F(BackupTest, AnExistingDestinationIsRefusedAndLeftAlone) {
  fs::create_directory(Path("taken"));
  WriteAll(Path("taken/mine"), "keep me");
  Result<BackupResult> made = Backup("taken");
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().error(), "backup_exists");
  EXPECT_EQ(ReadAll(Path("taken/mine")), "keep me");
}

TEST_F(BackupTest, ASoundBackupVerifies) {
  ASSERT_TRUE(Backup("b", true).ok());
  Result<BackupVerification> v = VerifyBackup(Path("b"));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->ok()) << v->problems.front();
  EXPECT_EQ(v->checks.at(kSessionsEnv).records, 40u);
  EXPECT_EQ(v->checks.at(kSessionsEnv).index_entries, 40u);
}

// Each way a backup file can be damaged, and the problem that names it.
TEST_F(BackupTest, DamagedFilesAreFoundWithoutBeingOpened) {
  ASSERT_TRUE(Backup("b").ok());
  const std::string file = Path("b/lmdb/data.mdb");
  const std::string good = ReadAll(file);
  struct Case {
    const char* name;
    std::string bytes;
    const char* problem;
  };
  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x40;
  for (const Case& c : {Case{"truncated", good.substr(0, good.size() / 2), "truncated"},
                        Case{"one byte longer", good + "x", "truncated or changed"},
                        Case{"a flipped byte", flipped, "does not match its checksum"},
                        Case{"empty", "", "truncated"}}) {
    WriteAll(file, c.bytes);
    Result<BackupVerification> v = VerifyBackup(Path("b"));
    ASSERT_TRUE(v.ok()) << c.name;
    ASSERT_FALSE(v->ok()) << c.name << " passed";
    EXPECT_NE(v->problems.front().find(c.problem), std::string::npos) << c.name << ": " << v->problems.front();
    EXPECT_FALSE(fs::exists(Path("b/lmdb/lock.mdb"))) << c.name;
  }
  fs::remove(file);
  Result<BackupVerification> missing = VerifyBackup(Path("b"));
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->ok());
}

// Damage behind a checksum that was made to match (a tool that rewrote the
// manifest, a backup damaged before it was summed): every record is read.
TEST_F(BackupTest, ARecordThatNoLongerDecodesIsFoundBehindAMatchingChecksum) {
  ASSERT_TRUE(Backup("b").ok());
  const std::string file = Path("b/lmdb/data.mdb");
  std::string bytes = ReadAll(file);
  // The first message of "question 7": its record's version byte is 1 + 8 +
  // 8 + 8 + 4 + 1 + 8 + 4 bytes before the text.
  const size_t text = bytes.find("question 7");
  ASSERT_NE(text, std::string::npos);
  bytes[text - 42] = 9;  // an unknown record version
  WriteAll(file, bytes);
  std::string manifest = ReadAll(Path("b/manifest.json"));
  const BackupManifest m = *ReadBackupManifest(Path("b"));
  manifest.replace(manifest.find(m.environments.at(kSessionsEnv).xxh3), 16, *FileXxh3Hex(file, nullptr));
  WriteAll(Path("b/manifest.json"), manifest);

  Result<BackupVerification> v = VerifyBackup(Path("b"));
  ASSERT_TRUE(v.ok());
  ASSERT_FALSE(v->ok());
  EXPECT_NE(v->problems.front().find("unknown version"), std::string::npos) << v->problems.front();
}

TEST_F(BackupTest, ASessionMissingFromTheRecencyIndexIsFound) {
  ASSERT_TRUE(store_->Write(
                        [&](WriteTxn& txn) -> Status {
                          const Session s = *sessions_->Get(ids_[3], kNow);
                          return txn.Delete(*store_->Database(kSessionsLruDb), SessionIndexKey(s.updated_ms, SessionKey(ids_[3])))
                              .status();
                        },
                        Durability::kSynced)
                  .ok());
  Result<BackupResult> made = Backup("b");
  ASSERT_FALSE(made.ok()) << "an unsound store was backed up as good";
  EXPECT_EQ(made.status().error(), "backup_unsound");
  EXPECT_NE(made.status().message().find("missing from the recency index"), std::string::npos);
  EXPECT_FALSE(fs::exists(Path("b")));
}

TEST_F(BackupTest, AManifestThatIsMissingOrWrongIsRefused) {
  ASSERT_TRUE(Backup("b").ok());
  const std::string good = ReadAll(Path("b/manifest.json"));
  auto with = [&](const std::string& from, const std::string& to) {
    std::string m = good;
    m.replace(m.find(from), from.size(), to);
    return m;
  };
  struct Case {
    const char* name;
    std::string manifest;
    const char* error;
  };
  for (const Case& c : {Case{"not JSON", "{", "backup_corrupt"},
                        Case{"sessions as text", with("\"sessions\": 40", "\"sessions\": \"40\""), "backup_corrupt"},
                        Case{"a file outside", with("\"lmdb/data.mdb\"", "\"../../etc/passwd\""), "backup_corrupt"},
                        Case{"an unknown environment", with("\"sessions\": {", "\"other\": {"), "backup_corrupt"},
                        Case{"a newer backup format", with("\"format\": 1", "\"format\": 7"), "backup_format_unsupported"}}) {
    WriteAll(Path("b/manifest.json"), c.manifest);
    Result<BackupVerification> v = VerifyBackup(Path("b"));
    ASSERT_FALSE(v.ok()) << c.name;
    EXPECT_EQ(v.status().error(), c.error) << c.name << ": " << v.status().ToString();
  }
  fs::remove(Path("b/manifest.json"));
  EXPECT_EQ(VerifyBackup(Path("b")).status().error(), "backup_not_found");
}

TEST_F(BackupTest, RecordsOfANewerFolioAreAProblem) {
  ASSERT_TRUE(Backup("b").ok());
  std::string manifest = ReadAll(Path("b/manifest.json"));
  const std::string from = "\"session\": " + std::to_string(kSessionRecordFormat);
  manifest.replace(manifest.find(from), from.size(), "\"session\": 200");
  WriteAll(Path("b/manifest.json"), manifest);
  Result<BackupVerification> v = VerifyBackup(Path("b"));
  ASSERT_TRUE(v.ok());
  ASSERT_FALSE(v->ok());
  EXPECT_NE(v->problems.front().find("session records of format 200"), std::string::npos) << v->problems.front();
}

TEST_F(BackupTest, RestorePutsTheBackupInPlaceAndKeepsTheStoreItReplaced) {
  ASSERT_TRUE(Backup("b", true).ok());
  const std::string later = *NewSessionId();  // after the backup: not in it
  ASSERT_TRUE(sessions_->StartWithTurn(later, "later", "later", kNow).ok());
  sessions_.reset();
  store_.reset();
  cache_.reset();
  cache_store_.reset();

  Result<BackupVerification> v = VerifyBackup(Path("b"));
  ASSERT_TRUE(v.ok() && v->ok());
  const std::string lmdb = Path("data/lmdb"), cache = Path("data/cache");
  Result<RestoreResult> r = RestoreBackup(Path("b"), v->manifest, {{kSessionsEnv, lmdb}, {kCacheEnv, cache}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->restored.back(), lmdb) << "the session store must be swapped last";
  EXPECT_EQ(r->kept.size(), 2u);
  EXPECT_TRUE(fs::exists(lmdb + ".replaced/data.mdb"));

  StoreOptions o;
  o.path = lmdb;
  o.databases = SessionDatabases();
  std::unique_ptr<Store> restored = std::move(Store::Open(o).value());
  SessionStore sessions = std::move(SessionStore::Open(restored.get(), {}).value());
  for (size_t i = 0; i < ids_.size(); ++i) {
    Result<Session> s = sessions.Get(ids_[i], kNow);
    ASSERT_TRUE(s.ok()) << i;
    EXPECT_EQ(s->messages.front().content, "question " + std::to_string(i));
  }
  EXPECT_EQ(sessions.Get(later, kNow).status().error(), "session_not_found");
  // Nothing but the stores and what they replaced in the data directory.
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(Path("data"))) names.insert(e.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"lmdb", "lmdb.replaced", "cache", "cache.replaced"}));
}

TEST_F(BackupTest, RestoreRefusesABackupChangedAfterItWasVerifiedAndLeavesTheStore) {
  ASSERT_TRUE(Backup("b").ok());
  Result<BackupVerification> v = VerifyBackup(Path("b"));
  ASSERT_TRUE(v.ok() && v->ok());
  std::string bytes = ReadAll(Path("b/lmdb/data.mdb"));
  bytes[bytes.size() / 3] ^= 1;
  WriteAll(Path("b/lmdb/data.mdb"), bytes);
  const std::string before = ReadAll(Path("data/lmdb/data.mdb"));
  Result<RestoreResult> r = RestoreBackup(Path("b"), v->manifest, {{kSessionsEnv, Path("data/lmdb")}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().error(), "backup_changed");
  EXPECT_EQ(ReadAll(Path("data/lmdb/data.mdb")), before);
  EXPECT_FALSE(fs::exists(Path("data/lmdb.replaced")));
  for (const auto& e : fs::directory_iterator(Path("data")))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

TEST_F(BackupTest, LeftoversOfKilledBackupsAreRemovedAndLiveOnesKept) {
  const std::string dead = Path(".b.tmp-999999999"), live = BackupTempPath(Path("b"));
  fs::create_directory(dead);
  fs::create_directory(live);
  EXPECT_EQ(RemoveStaleBackupTemps(dir_.path()), 1);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live));
}

}  // namespace
}  // namespace folio
