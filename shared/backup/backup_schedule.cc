// backup_schedule.cc: when a scheduled backup is due, who makes it, what is
// kept, and what is reported.
//
// Every worker's housekeeping asks; the lock file ($RUN_DIR/backup.lock,
// flock: released by the kernel when its holder dies, however) lets one at a
// time in, and the one let in decides from the directory itself (the newest
// complete backup) and the state file (a recent failure), not from its own
// memory: workers restart, and any of them may have made the last backup.
// The state file lives in RUN_DIR, not beside the backups, because a failing
// BACKUP_DIR (missing, read-only, full) is exactly what it must report.
#include "backup_schedule.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "clock.h"
#include "file_util.h"
#include "json_fields.h"
#include "log.h"

namespace folio {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kLockBusyRecheckMs = 5000;
constexpr int64_t kLockBrokenRecheckMs = 60000;

// "20261205T100000Z" → unix ms; -1 when malformed.
int64_t ParseStamp(const std::string& stamp) {
  std::tm tm{};
  if (stamp.size() != 16 || std::sscanf(stamp.c_str(), "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                                        &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    return -1;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

int64_t RetryDelayMs(const BackupSchedule& schedule) { return std::min(kBackupRetryMs, schedule.every_s * 1000); }

}  // namespace

std::string ScheduledBackupName(int64_t unix_ms) {
  const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  return kScheduledBackupPrefix + std::string(stamp);
}

std::vector<ScheduledBackup> ListScheduledBackups(const std::string& dir) {
  std::vector<ScheduledBackup> out;
  std::error_code ec;
  const std::string prefix = kScheduledBackupPrefix;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const int64_t created_ms = ParseStamp(name.substr(prefix.size()));
    if (created_ms < 0 || !fs::is_regular_file(e.path() / kBackupManifestFile, ec)) continue;
    out.push_back({e.path().string(), created_ms});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return out;
}

std::vector<std::string> PruneScheduledBackups(const std::string& dir, int keep) {
  std::vector<std::string> pruned;
  std::vector<ScheduledBackup> backups = ListScheduledBackups(dir);
  const size_t kept = static_cast<size_t>(std::max(keep, 1));
  for (size_t i = 0; i + kept < backups.size(); ++i) {
    std::error_code ec;
    // The manifest first: a deletion cut short leaves no "complete" backup.
    fs::remove(fs::path(backups[i].path) / kBackupManifestFile, ec);
    fs::remove_all(backups[i].path, ec);
    if (!ec) pruned.push_back(backups[i].path);
  }
  return pruned;
}

Status WriteBackupAttempt(const std::string& path, const BackupAttempt& a) {
  const nlohmann::json j = {{"at_unix_ms", a.at_ms}, {"ok", a.ok},           {"error", a.error},
                            {"path", a.path},        {"bytes", a.bytes},     {"seconds", a.seconds},
                            {"sessions", a.sessions}};
  // Written beside and renamed over: a reader never sees half a file.
  const std::string tmp = path + ".tmp-" + std::to_string(getpid());
  if (Status s = WriteFileDurably(tmp, j.dump() + "\n"); !s.ok()) return s;
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::error_code ec;
    fs::remove(tmp, ec);
    return Unavailable("backup_state_unwritable", "cannot rename " + tmp + " to " + path);
  }
  return Status::Ok();
}

Result<BackupAttempt> ReadBackupAttempt(const std::string& path) {
  Result<std::string> text = ReadSmallFile(path, 64 << 10);
  if (!text.ok()) return text.status();
  const nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  BackupAttempt a;
  if (j.is_discarded() || !j.is_object() || !GetUnsigned(j, "at_unix_ms", &a.at_ms) || !GetBool(j, "ok", &a.ok) ||
      !GetString(j, "error", &a.error) || !GetString(j, "path", &a.path) || !GetUnsigned(j, "bytes", &a.bytes) ||
      !GetDouble(j, "seconds", &a.seconds) || !GetUnsigned(j, "sessions", &a.sessions)) {
    return InvalidArgument("backup_state_corrupt", path + " is not a backup state file");
  }
  return a;
}

int64_t NextBackupDueMs(const BackupSchedule& schedule, const std::vector<ScheduledBackup>& backups,
                        const std::optional<BackupAttempt>& last, int64_t now_ms) {
  int64_t due = backups.empty() ? now_ms : backups.back().created_ms + schedule.every_s * 1000;
  if (last && !last->ok) due = std::max(due, last->at_ms + RetryDelayMs(schedule));
  return due;
}

int64_t RunScheduledBackup(const BackupSchedule& schedule, const Store& sessions, int64_t now_ms) {
  Result<FileLock> lock = FileLock::TryAcquire(schedule.lock_path);
  if (!lock.ok() && lock.status().code() == Code::kResourceExhausted) return now_ms + kLockBusyRecheckMs;
  if (!lock.ok()) {
    LogWarn("backup_lock_unavailable", {{"reason", lock.status().message()}});
    return now_ms + kLockBrokenRecheckMs;
  }
  const std::vector<ScheduledBackup> backups = ListScheduledBackups(schedule.dir);
  Result<BackupAttempt> last = ReadBackupAttempt(schedule.state_path);
  const int64_t due = NextBackupDueMs(schedule, backups, last.ok() ? std::optional(*last) : std::nullopt, now_ms);
  if (due > now_ms) return due;

  std::error_code ec;
  fs::create_directories(schedule.dir, ec);
  const int stale = RemoveStaleBackupTemps(schedule.dir);
  if (stale > 0) LogInfo("backup_leftovers_removed", {{"dir", schedule.dir}, {"count", stale}});
  BackupAttempt attempt;
  attempt.at_ms = now_ms;
  Result<BackupResult> made =
      CreateBackup({{kSessionsEnv, &sessions}}, schedule.dir + "/" + ScheduledBackupName(now_ms));
  if (made.ok()) {
    attempt.ok = true;
    attempt.path = made->path;
    attempt.bytes = made->bytes;
    attempt.seconds = made->seconds;
    attempt.sessions = made->manifest.sessions;
    const std::vector<std::string> pruned = PruneScheduledBackups(schedule.dir, schedule.keep);
    LogInfo("backup_done", {{"path", made->path},
                            {"bytes", made->bytes},
                            {"duration_ms", static_cast<int64_t>(made->seconds * 1000)},
                            {"sessions", made->manifest.sessions},
                            {"pruned", pruned.size()}});
  } else {
    attempt.error = made.status().message();
    LogError("backup_failed", {{"dir", schedule.dir}, {"reason", attempt.error}});
  }
  if (Status s = WriteBackupAttempt(schedule.state_path, attempt); !s.ok()) {
    LogWarn("backup_state_unwritable", {{"reason", s.message()}});
  }
  return made.ok() ? now_ms + schedule.every_s * 1000 : now_ms + RetryDelayMs(schedule);
}

BackupHealth CheckBackupHealth(const BackupSchedule& schedule, int64_t now_ms) {
  BackupHealth h;
  h.enabled = schedule.enabled();
  if (!h.enabled) return h;
  const std::vector<ScheduledBackup> backups = ListScheduledBackups(schedule.dir);
  h.count = backups.size();
  if (!backups.empty()) {
    h.newest = backups.back();
    if (Result<BackupManifest> m = ReadBackupManifest(h.newest->path); m.ok()) {
      h.newest_sessions = m->sessions;
      for (const auto& [name, env] : m->environments) h.newest_bytes += env.bytes;
    }
  }
  if (Result<BackupAttempt> last = ReadBackupAttempt(schedule.state_path); last.ok()) h.last_attempt = *last;
  if (h.last_attempt && !h.last_attempt->ok) {
    h.failing = true;
    h.reason = "the last scheduled backup failed: " + h.last_attempt->error;
  } else if (h.newest && now_ms - h.newest->created_ms > 2 * schedule.every_s * 1000 + 60000) {
    // Two intervals missed: the schedule is not running (no worker up, or
    // the lock never free), whatever the last attempt said.
    h.failing = true;
    h.reason = "no scheduled backup for " + std::to_string((now_ms - h.newest->created_ms) / 1000) +
               " s (BACKUP_EVERY_S is " + std::to_string(schedule.every_s) + ")";
  }
  return h;
}

nlohmann::json BackupHealthJson(const BackupSchedule& schedule, const BackupHealth& h, int64_t now_ms) {
  if (!h.enabled) return {{"enabled", false}};
  auto iso = [](int64_t ms) { return IsoTimestamp(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms))); };
  nlohmann::json j = {{"enabled", true},      {"dir", schedule.dir}, {"every_s", schedule.every_s},
                      {"keep", schedule.keep}, {"backups", h.count}, {"last_backup_at", nullptr},
                      {"failing", h.failing}};
  if (h.newest) {
    j["last_backup_at"] = iso(h.newest->created_ms);
    j["last_backup_age_s"] = std::max<int64_t>(0, (now_ms - h.newest->created_ms) / 1000);
    j["last_backup_bytes"] = h.newest_bytes;
    j["last_backup_sessions"] = h.newest_sessions;
  }
  if (h.failing) j["reason"] = h.reason;
  if (h.last_attempt && !h.last_attempt->ok) {
    j["last_error"] = h.last_attempt->error;
    j["last_failure_at"] = iso(h.last_attempt->at_ms);
  }
  return j;
}

}  // namespace folio
