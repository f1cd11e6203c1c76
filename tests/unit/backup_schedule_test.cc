// backup_schedule_test.cc: scheduled backups with an injected clock on a
// real session store — when one is due, that the lock lets one process in,
// that only the newest BACKUP_KEEP complete backups stay and nothing else in
// the directory is touched, and what health says about a schedule that
// works, fails or has stopped.
#include "backup_schedule.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "file_util.h"
#include "child.h"
#include "temp_dir.h"
#include "sessions.h"

namespace folio {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

constexpr int64_t kT0 = 1796083200000;  // 2026-12-01T00:00:00Z, unix ms
constexpr int64_t kHour = 3600 * 1000;

// A directory that looks like a complete scheduled backup made at `ms`.
void FakeBackup(const std::string& dir, int64_t ms) {
  const std::string path = dir + "/" + ScheduledBackupName(ms);
  fs::create_directories(path);
  std::ofstream(path + "/" + kBackupManifestFile) << "{}";
}

class BackupScheduleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    schedule_.dir = dir_.path() + "/backups";
    schedule_.every_s = 3600;
    schedule_.keep = 2;
    schedule_.lock_path = dir_.path() + "/backup.lock";
    schedule_.state_path = dir_.path() + "/backup-state.json";
    StoreOptions o;
    o.path = dir_.path() + "/lmdb";
    o.map_size_mb = 16;
    o.databases = SessionDatabases();
    store_ = std::move(Store::Open(o).value());
    SessionStore sessions = std::move(SessionStore::Open(store_.get(), {}).value());
    ASSERT_TRUE(sessions.StartWithTurn(*NewSessionId(), "hello", "hi", kT0 / 1000).ok());
  }
  size_t Count() { return ListScheduledBackups(schedule_.dir).size(); }

  TempDir dir_;
  BackupSchedule schedule_;
  std::unique_ptr<Store> store_;
};

TEST_F(BackupScheduleTest, NamesSortInTimeOrderAndGiveTheirTimeBack) {
  EXPECT_EQ(ScheduledBackupName(kT0 + 1234), "folio-backup-20261201T000001Z");
  FakeBackup(schedule_.dir, kT0 + 10 * kHour);
  FakeBackup(schedule_.dir, kT0 + 9 * kHour);
  FakeBackup(schedule_.dir, kT0 + 11 * kHour);
  std::vector<ScheduledBackup> listed = ListScheduledBackups(schedule_.dir);
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0].created_ms, kT0 + 9 * kHour);
  EXPECT_EQ(listed[2].created_ms, kT0 + 11 * kHour);
}

TEST_F(BackupScheduleTest, OnlyCompleteScheduledBackupsAreListedOrPruned) {
  FakeBackup(schedule_.dir, kT0);
  fs::create_directories(schedule_.dir + "/" + ScheduledBackupName(kT0 + kHour));  // no manifest: unfinished
  fs::create_directories(schedule_.dir + "/folio-backup-yesterday");
  std::ofstream(schedule_.dir + "/folio-backup-yesterday/manifest.json") << "{}";
  fs::create_directories(schedule_.dir + "/my-own-backup");
  std::ofstream(schedule_.dir + "/my-own-backup/manifest.json") << "{}";
  fs::create_directories(schedule_.dir + "/.folio-backup-x.tmp-1");
  EXPECT_EQ(Count(), 1u);
  EXPECT_TRUE(PruneScheduledBackups(schedule_.dir, 1).empty());
  EXPECT_EQ(std::distance(fs::directory_iterator(schedule_.dir), fs::directory_iterator()), 5);
  EXPECT_TRUE(ListScheduledBackups(dir_.path() + "/nowhere").empty());
}

TEST_F(BackupScheduleTest, PruningKeepsTheNewest) {
  for (int h = 0; h < 5; ++h) FakeBackup(schedule_.dir, kT0 + h * kHour);
  std::vector<std::string> pruned = PruneScheduledBackups(schedule_.dir, 2);
  EXPECT_EQ(pruned.size(), 3u);
  std::vector<ScheduledBackup> left = ListScheduledBackups(schedule_.dir);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].created_ms, kT0 + 3 * kHour);
  EXPECT_EQ(left[1].created_ms, kT0 + 4 * kHour);
}

TEST_F(BackupScheduleTest, ABackupIsDueAnIntervalAfterTheNewestAndAFailureWaitsBeforeTheNextTry) {
  const std::vector<ScheduledBackup> none, one = {{"x", kT0}};
  BackupAttempt failed, worked;
  failed.at_ms = kT0 + 2 * kHour;
  failed.error = "disk full";
  worked.at_ms = kT0;
  worked.ok = true;
  EXPECT_EQ(NextBackupDueMs(schedule_, none, std::nullopt, kT0 + 5), kT0 + 5);
  EXPECT_EQ(NextBackupDueMs(schedule_, one, worked, kT0 + 5), kT0 + kHour);
  EXPECT_EQ(NextBackupDueMs(schedule_, one, failed, kT0 + 2 * kHour), kT0 + 2 * kHour + kBackupRetryMs);
  schedule_.every_s = 60;  // retries never wait longer than the interval
  EXPECT_EQ(NextBackupDueMs(schedule_, one, failed, kT0 + 2 * kHour), kT0 + 2 * kHour + 60000);
}

TEST_F(BackupScheduleTest, TheScheduleBacksUpWhenDueKeepsTheNewestAndRecordsEachAttempt) {
  EXPECT_EQ(RunScheduledBackup(schedule_, *store_, kT0), kT0 + kHour);
  ASSERT_EQ(Count(), 1u);
  Result<BackupAttempt> first = ReadBackupAttempt(schedule_.state_path);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->ok);
  EXPECT_EQ(first->sessions, 1u);
  EXPECT_GT(first->bytes, 0u);
  EXPECT_TRUE(VerifyBackup(first->path)->ok());

  EXPECT_EQ(RunScheduledBackup(schedule_, *store_, kT0 + 1000), kT0 + kHour) << "not due yet";
  EXPECT_EQ(Count(), 1u);
  for (int h = 1; h <= 3; ++h) RunScheduledBackup(schedule_, *store_, kT0 + h * kHour);
  std::vector<ScheduledBackup> kept = ListScheduledBackups(schedule_.dir);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept.back().created_ms, kT0 + 3 * kHour);

  const BackupHealth health = CheckBackupHealth(schedule_, kT0 + 3 * kHour + 5000);
  EXPECT_TRUE(health.enabled);
  EXPECT_FALSE(health.failing) << health.reason;
  EXPECT_EQ(health.count, 2u);
  EXPECT_EQ(health.newest_sessions, 1u);
  const nlohmann::json j = BackupHealthJson(schedule_, health, kT0 + 3 * kHour + 5000);
  EXPECT_EQ(j["last_backup_age_s"], 5);
  EXPECT_EQ(j["last_backup_at"], "2026-12-01T03:00:00.000Z");
}

TEST_F(BackupScheduleTest, AnotherHolderOfTheLockMeansNoBackupNow) {
  Result<FileLock> held = FileLock::TryAcquire(schedule_.lock_path);
  ASSERT_TRUE(held.ok());
  const int64_t next = RunScheduledBackup(schedule_, *store_, kT0);
  EXPECT_GT(next, kT0);
  EXPECT_LT(next, kT0 + 60000) << "a busy lock is asked again soon";
  EXPECT_EQ(Count(), 0u);
  EXPECT_FALSE(fs::exists(schedule_.state_path));
}

TEST_F(BackupScheduleTest, AFailingDirectoryIsReportedUntilABackupWorksAgain) {
  std::ofstream(dir_.path() + "/not-a-dir") << "x";
  const std::string good_dir = schedule_.dir;
  schedule_.dir = dir_.path() + "/not-a-dir/backups";
  EXPECT_EQ(RunScheduledBackup(schedule_, *store_, kT0), kT0 + kBackupRetryMs);
  BackupHealth health = CheckBackupHealth(schedule_, kT0 + 1000);
  EXPECT_TRUE(health.failing);
  EXPECT_NE(health.reason.find("the last scheduled backup failed"), std::string::npos) << health.reason;
  EXPECT_TRUE(BackupHealthJson(schedule_, health, kT0 + 1000).contains("last_error"));
  EXPECT_EQ(RunScheduledBackup(schedule_, *store_, kT0 + 1000), kT0 + kBackupRetryMs) << "retried too soon";

  schedule_.dir = good_dir;
  EXPECT_EQ(RunScheduledBackup(schedule_, *store_, kT0 + kBackupRetryMs), kT0 + kBackupRetryMs + kHour);
  EXPECT_FALSE(CheckBackupHealth(schedule_, kT0 + kBackupRetryMs + 1000).failing);
}

TEST_F(BackupScheduleTest, AScheduleThatStoppedIsReportedAfterTwoIntervals) {
  FakeBackup(schedule_.dir, kT0);
  EXPECT_FALSE(CheckBackupHealth(schedule_, kT0 + 2 * kHour).failing);
  const BackupHealth late = CheckBackupHealth(schedule_, kT0 + 2 * kHour + 61000);
  EXPECT_TRUE(late.failing);
  EXPECT_NE(late.reason.find("no scheduled backup for 7261 s"), std::string::npos) << late.reason;
}

TEST_F(BackupScheduleTest, OffMeansNothingToReport) {
  schedule_.keep = 0;
  const BackupHealth health = CheckBackupHealth(schedule_, kT0);
  EXPECT_FALSE(health.enabled);
  EXPECT_FALSE(health.failing);
  EXPECT_EQ(BackupHealthJson(schedule_, health, kT0), nlohmann::json({{"enabled", false}}));
}

}  // namespace
}  // namespace folio
