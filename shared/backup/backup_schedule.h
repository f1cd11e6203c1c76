// backup_schedule.h: scheduled backups of the session store, made by the
// workers' housekeeping without other machinery (BACKUP_DIR, BACKUP_EVERY_S,
// BACKUP_KEEP): when one is due, whichever worker first takes the lock file
// makes it, keeps the newest BACKUP_KEEP and records the outcome in a small
// state file that /api/health and folio-admin status read. Every function is
// safe from any thread of any process: processes coordinate through the
// lock file and the directory, never through memory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backup.h"
#include "state_layout.h"
#include "status.h"
#include "store.h"

namespace folio {

// "folio-backup-20261205T100000Z": names sort in the order they were made.
inline constexpr char kScheduledBackupPrefix[] = "folio-backup-";
std::string ScheduledBackupName(int64_t unix_ms);

struct ScheduledBackup {
  std::string path;
  int64_t created_ms = 0;  // from its name: second precision
};
// The complete scheduled backups in `dir` (named as above, holding a
// manifest, which is written last), oldest first; empty when `dir` does not
// exist. Manifests are not read: listing stays cheap for /api/health.
// Anything else in `dir` is never listed, so never pruned.
std::vector<ScheduledBackup> ListScheduledBackups(const std::string& dir);
// Deletes all but the newest `keep` (≥ 1) of them; returns their paths.
std::vector<std::string> PruneScheduledBackups(const std::string& dir, int keep);

// The last scheduled attempt, as the state file records it.
struct BackupAttempt {
  int64_t at_ms = 0;
  bool ok = false;
  std::string error;    // why it failed
  std::string path;     // the backup made
  uint64_t bytes = 0;
  double seconds = 0;
  uint64_t sessions = 0;
};
Status WriteBackupAttempt(const std::string& path, const BackupAttempt& attempt);
// NotFound when no attempt was recorded yet.
Result<BackupAttempt> ReadBackupAttempt(const std::string& path);

// A failed attempt is tried again after this long (or BACKUP_EVERY_S, if
// shorter), by whichever worker gets there first.
inline constexpr int64_t kBackupRetryMs = 5 * 60 * 1000;

// When the next scheduled backup is due: BACKUP_EVERY_S after the newest
// backup (now when there is none), but not before the retry delay after a
// failed attempt.
int64_t NextBackupDueMs(const BackupSchedule& schedule, const std::vector<ScheduledBackup>& backups,
                        const std::optional<BackupAttempt>& last, int64_t now_ms);

// One turn of the schedule, from a worker's housekeeping: unless another
// process holds the lock, and if a backup is due, removes leftovers of
// killed backups, backs `sessions` up into a new directory of
// schedule.dir, prunes to schedule.keep, records the attempt and logs it
// ("backup_done" with size and duration, or "backup_failed").
// Returns when to look again (unix ms).
int64_t RunScheduledBackup(const BackupSchedule& schedule, const Store& sessions, int64_t now_ms);

// What /api/health and folio-admin status report.
struct BackupHealth {
  bool enabled = false;
  bool failing = false;   // the last attempt failed, or no backup for two intervals
  std::string reason;     // why it is failing
  std::optional<ScheduledBackup> newest;
  uint64_t newest_bytes = 0;     // from its manifest
  uint64_t newest_sessions = 0;
  size_t count = 0;
  std::optional<BackupAttempt> last_attempt;
};
BackupHealth CheckBackupHealth(const BackupSchedule& schedule, int64_t now_ms);
// The same as one JSON object, for both: {"enabled", "dir", "every_s",
// "keep", "backups", "last_backup_at" (null before the first),
// "last_backup_age_s", "last_backup_bytes", "last_backup_sessions",
// "failing", "reason", "last_error", "last_failure_at"}; {"enabled": false}
// when scheduled backups are off.
nlohmann::json BackupHealthJson(const BackupSchedule& schedule, const BackupHealth& health, int64_t now_ms);

}  // namespace folio
