// backup.cc: making, verifying and restoring backups.
//
// A backup must be consistent, must not stall the chats of the instance it
// copies, and must never be mistaken for a complete one when it is not.
//  - Consistent and non-blocking: LMDB's compacting copy (Store::CopyTo)
//    writes one read transaction's snapshot; writers carry on (the pages
//    they free wait for the copy to end before they are reused, so the
//    store's file may grow by what was written meanwhile).
//  - Checked before it counts: each copy is opened read-only and every
//    record read back (store_check.h) before its checksum goes into the
//    manifest: a backup that was unsound when made is never written down as
//    good.
//  - Whole or absent: files go to ".<name>.tmp-<pid>" beside the
//    destination, are fsynced with their directories, the manifest is
//    written last, and the directory is renamed into place
//    (RENAME_NOREPLACE: never over another backup) and its parent fsynced.
//    A process killed half-way leaves a temp directory that no reader takes
//    for a backup and that RemoveStaleBackupTemps removes.
//
// Restore trusts nothing it has not checked: VerifyBackup reads the whole
// backup first, and the copy into place checksums the bytes again as it
// writes them, so a file changed between the two is refused rather than
// installed. Each environment is swapped in whole (ReplaceDirectory) and
// the store it replaces is kept beside it, which makes a restore undoable.
#include "backup.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "clock.h"
#include "file_util.h"
#include "process.h"
#include "response_cache.h"
#include "session_record.h"

namespace folio {
namespace {

namespace fs = std::filesystem;

constexpr char kDataFile[] = "data.mdb";
constexpr char kTempMark[] = ".tmp-";
// Room a backup leaves free on its disk, beyond its own size: the backup
// directory is often on the store's disk, and a session store that cannot
// commit loses turns, which a backup must never cause.
constexpr uint64_t kMinFreeAfterBackup = 64ull << 20;

// A backup is at most the pages its stores use (compaction leaves out the
// free ones); refuse one that could leave the disk of `dir` too full.
Status CheckRoom(const std::vector<BackupSource>& sources, const std::string& dir) {
  uint64_t need = kMinFreeAfterBackup;
  for (const BackupSource& source : sources) {
    Result<StoreInfo> info = source.store->EnvInfo();
    if (!info.ok()) return info.status();
    need += info->used_bytes;
  }
  struct statvfs disk {};
  if (statvfs(dir.c_str(), &disk) != 0) return Status::Ok();  // unknown: let the writes say
  const uint64_t free = static_cast<uint64_t>(disk.f_bavail) * disk.f_frsize;
  if (free >= need) return Status::Ok();
  return ResourceExhausted("backup_no_space", "not enough free space in " + dir + ": " + std::to_string(free >> 20) +
                                                  " MiB free, a backup of these stores needs up to " +
                                                  std::to_string(need >> 20) + " MiB with the margin kept free");
}

Result<StoreCheck> CheckEnvironment(const std::string& env, const std::string& dir) {
  return env == kSessionsEnv ? CheckSessionEnvironment(dir) : CheckCacheEnvironment(dir);
}

std::string FirstProblems(const StoreCheck& check) {
  std::string out = check.problems.empty() ? "" : check.problems.front();
  if (check.problem_count > 1) out += " (and " + std::to_string(check.problem_count - 1) + " more)";
  return out;
}

// Copies one environment of the backup into `tmp`/data.mdb, checksumming as
// it goes; refuses bytes that differ from the manifest's.
Status CopyChecked(const std::string& from, const std::string& tmp, const BackupEnvironment& expected) {
  const int fd = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Unavailable("restore_failed", "cannot open " + from + ": " + std::strerror(errno));
  FileWriter out;
  Status s = out.Open(tmp + "/" + kDataFile);
  std::string buffer(1 << 20, '\0');
  while (s.ok()) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) s = Unavailable("restore_failed", "cannot read " + from + ": " + std::strerror(errno));
    if (n <= 0) break;
    out.Append(buffer.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  if (!s.ok()) return s;
  if (Status closed = out.Close(); !closed.ok()) return Unavailable("restore_failed", closed.message());
  if (out.bytes_written() != expected.bytes || out.xxh3_hex() != expected.xxh3) {
    return Internal("backup_changed", from + " changed after it was verified: nothing was restored");
  }
  return SyncDirectory(tmp);
}

}  // namespace

std::string BackupTempPath(const std::string& dest) {
  const fs::path path(dest);
  std::string name = path.filename().string();
  if (name.empty()) name = path.parent_path().filename().string();  // "dir/"
  return (path.parent_path() / ("." + name + kTempMark + std::to_string(getpid()))).string();
}

int RemoveStaleBackupTemps(const std::string& dir) {
  int removed = 0;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const size_t mark = name.rfind(kTempMark);
    if (name[0] != '.' || mark == std::string::npos || !e.is_directory(ec)) continue;
    const int pid = std::atoi(name.c_str() + mark + std::strlen(kTempMark));
    if (pid <= 0 || IsAlive(ProcessId{pid, 0})) continue;  // not ours, or its writer still runs
    fs::remove_all(e.path(), ec);
    removed += ec ? 0 : 1;
  }
  return removed;
}

void LowerBackupPriority() {
  const auto tid = static_cast<id_t>(::gettid());
  (void)::setpriority(PRIO_PROCESS, tid, 10);
  // ioprio_set(IOPRIO_WHO_PROCESS, tid, class best-effort (2) << 13 | level 7):
  // no glibc wrapper. Not the idle class, which a disk that is never idle
  // would starve for good.
  constexpr int kWhoProcess = 1, kClassBestEffort = 2, kClassShift = 13, kLowest = 7;
  (void)::syscall(SYS_ioprio_set, kWhoProcess, static_cast<int>(tid), (kClassBestEffort << kClassShift) | kLowest);
}

Result<BackupResult> CreateBackup(const std::vector<BackupSource>& sources, const std::string& dest) {
  const auto started = std::chrono::steady_clock::now();
  std::error_code ec;
  if (dest.empty()) return InvalidArgument("backup_bad_dest", "no destination directory given");
  if (fs::exists(dest, ec)) return InvalidArgument("backup_exists", dest + " exists: a backup goes to a new directory");
  const fs::path parent = fs::absolute(dest, ec).parent_path();
  fs::create_directories(parent, ec);
  const std::string tmp = BackupTempPath(dest);
  fs::remove_all(tmp, ec);
  if (!fs::create_directory(tmp, ec)) {
    return Unavailable("backup_unwritable", "cannot create " + tmp + ": " + (ec ? ec.message() : "it exists"));
  }
  TempDirGuard guard(tmp);
  for (const BackupSource& source : sources) {
    if ((source.env != kSessionsEnv && source.env != kCacheEnv) || source.store == nullptr) {
      return InvalidArgument("backup_bad_sources", "sources are the session store and, optionally, the cache");
    }
  }
  if (Status s = CheckRoom(sources, tmp); !s.ok()) return s;

  BackupResult out;
  BackupManifest& m = out.manifest;
  const auto now = std::chrono::system_clock::now();
  m.created_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  m.created_at = IsoTimestamp(now);
  m.folio_version = FOLIO_VERSION;
  for (const BackupSource& source : sources) {
    if (m.environments.count(source.env)) return InvalidArgument("backup_bad_sources", "a store named twice");
    const std::string dir_name = EnvDirName(source.env);
    const std::string dir = tmp + "/" + dir_name;
    if (!fs::create_directory(dir, ec)) return Unavailable("backup_unwritable", "cannot create " + dir);
    if (Status s = source.store->CopyTo(dir); !s.ok()) return s;
    if (Status s = SyncFile(dir + "/" + kDataFile); !s.ok()) return s;
    Result<StoreCheck> check = CheckEnvironment(source.env, dir);
    if (!check.ok()) return check.status();
    if (!check->ok()) return Internal("backup_unsound", "the copy of the " + source.env + " store does not check: " + FirstProblems(*check));
    BackupEnvironment env;
    env.file = dir_name + "/" + kDataFile;
    Result<std::string> sum = FileXxh3Hex(tmp + "/" + env.file, &env.bytes);
    if (!sum.ok()) return sum.status();
    env.xxh3 = *sum;
    env.store_format = check->format.format;
    env.min_reader = check->format.min_reader;
    env.records = check->records;
    if (Status s = SyncDirectory(dir); !s.ok()) return s;
    m.environments[source.env] = env;
    m.record_formats[source.env == kSessionsEnv ? "session" : "cache"] =
        source.env == kSessionsEnv ? kSessionRecordFormat : kCacheRecordFormat;
    if (source.env == kSessionsEnv) m.sessions = check->records;
    out.bytes += env.bytes;
  }
  if (!m.environments.count(kSessionsEnv)) return InvalidArgument("backup_bad_sources", "a backup holds the session store");
  if (Status s = WriteBackupManifest(tmp, m); !s.ok()) return s;
  if (Status s = SyncDirectory(tmp); !s.ok()) return s;
  int renamed = renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dest.c_str(), RENAME_NOREPLACE);
  if (renamed != 0 && errno == EINVAL && !fs::exists(dest, ec)) renamed = std::rename(tmp.c_str(), dest.c_str());
  if (renamed != 0) {
    return Unavailable("backup_unwritable", "cannot rename " + tmp + " to " + dest + ": " + std::strerror(errno));
  }
  guard.Commit();
  if (Status s = SyncDirectory(parent.string()); !s.ok()) return s;
  out.path = dest;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return out;
}

Result<BackupVerification> VerifyBackup(const std::string& src) {
  Result<BackupManifest> manifest = ReadBackupManifest(src);
  if (!manifest.ok()) return manifest.status();
  BackupVerification v;
  v.manifest = *manifest;
  for (const auto& [type, format] : v.manifest.record_formats) {
    const int ours = type == "session" ? kSessionRecordFormat : type == "cache" ? kCacheRecordFormat : 0;
    if (format > ours) {
      v.problems.push_back("it holds " + type + " records of format " + std::to_string(format) + ", made by folio " +
                           v.manifest.folio_version + "; this folio reads up to format " + std::to_string(ours));
    }
  }
  for (const auto& [env, expected] : v.manifest.environments) {
    const std::string path = src + "/" + expected.file;
    uint64_t bytes = 0;
    Result<std::string> sum = FileXxh3Hex(path, &bytes);
    if (!sum.ok()) {
      v.problems.push_back(sum.status().message());
      continue;
    }
    // A damaged file is never opened: LMDB trusts its pages.
    if (bytes != expected.bytes) {
      v.problems.push_back(expected.file + " holds " + std::to_string(bytes) + " bytes, the manifest says " +
                           std::to_string(expected.bytes) + " (truncated or changed)");
      continue;
    }
    if (*sum != expected.xxh3) {
      v.problems.push_back(expected.file + " does not match its checksum (changed or damaged since the backup)");
      continue;
    }
    Result<StoreCheck> check = CheckEnvironment(env, src + "/" + EnvDirName(env));
    if (!check.ok()) {
      v.problems.push_back(expected.file + ": " + check.status().message());
      continue;
    }
    for (const std::string& p : check->problems) v.problems.push_back(p);
    if (check->problem_count > check->problems.size()) {
      v.problems.push_back("... and " + std::to_string(check->problem_count - check->problems.size()) + " more");
    }
    if (check->records != expected.records || check->format.format != expected.store_format) {
      v.problems.push_back(expected.file + " holds " + std::to_string(check->records) + " records of store format " +
                           std::to_string(check->format.format) + ", the manifest says " +
                           std::to_string(expected.records) + " of format " + std::to_string(expected.store_format));
    }
    v.checks[env] = *check;
  }
  return v;
}

Result<RestoreResult> RestoreBackup(const std::string& src, const BackupManifest& manifest,
                                    const std::map<std::string, std::string>& targets) {
  std::error_code ec;
  if (!manifest.environments.count(kSessionsEnv)) return InvalidArgument("restore_bad_target", "no session store in the backup");
  // Copies first, all of them: a failure here leaves every target as it was.
  std::vector<std::pair<std::string, std::string>> staged;  // temp dir, target
  std::vector<std::unique_ptr<TempDirGuard>> guards;
  RestoreResult out;
  for (const auto& [env, expected] : manifest.environments) {
    auto target = targets.find(env);
    if (target == targets.end()) return InvalidArgument("restore_bad_target", "no target for the " + env + " store");
    fs::create_directories(fs::absolute(target->second, ec).parent_path(), ec);
    const std::string tmp = BackupTempPath(target->second);
    fs::remove_all(tmp, ec);
    if (!fs::create_directory(tmp, ec)) return Unavailable("restore_failed", "cannot create " + tmp);
    guards.push_back(std::make_unique<TempDirGuard>(tmp));
    if (Status s = CopyChecked(src + "/" + expected.file, tmp, expected); !s.ok()) return s;
    staged.emplace_back(tmp, target->second);
    out.bytes += expected.bytes;
  }
  // The session store last: should the cache's swap fail, the sessions in
  // place are still the ones the operator had.
  const std::string& sessions = targets.find(kSessionsEnv)->second;  // the manifest always has one
  std::stable_partition(staged.begin(), staged.end(), [&](const auto& s) { return s.second != sessions; });
  for (const auto& [tmp, target] : staged) {
    const std::string kept = target + ".replaced";
    const bool had_one = fs::exists(target, ec);
    if (Status s = ReplaceDirectory(tmp, target, kept); !s.ok()) return s;
    out.restored.push_back(target);
    if (had_one) out.kept.push_back(kept);
  }
  return out;  // the guards find their temp directories renamed away
}

}  // namespace folio
