// backup.h: backups of an instance's LMDB environments (the session store,
// and optionally the response cache), their verification, and restoring
// one. The layout of a backup directory and its manifest: backup_manifest.h.
// Design and guarantees: the top of backup.cc. Each call is independent and
// safe from any thread; the Stores passed in are borrowed.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "backup_manifest.h"
#include "status.h"
#include "store.h"
#include "store_check.h"

namespace folio {

// One environment to back up: kSessionsEnv (always) or kCacheEnv, opened
// by this process, which may be serving meanwhile.
struct BackupSource {
  std::string env;
  const Store* store = nullptr;
};

struct BackupResult {
  BackupManifest manifest;
  std::string path;    // where the backup now is
  uint64_t bytes = 0;  // of its files
  double seconds = 0;  // from the first copy to the rename
};

// Makes a backup of `sources` at `dest`, which must not exist
// (InvalidArgument("backup_exists") otherwise); its parent is created if
// needed. Everything is written in a temp directory beside `dest` (see
// BackupTempPrefix) and renamed to `dest` only once complete, checked and
// synced, so `dest` is a whole backup or nothing. Never blocks writers:
// each copy is one read transaction (Store::CopyTo). Internal
// ("backup_unsound") when a copy does not check (store_check.h); the Status
// of the failing step otherwise; nothing is left behind either way, unless
// the process is killed (then RemoveStaleBackupTemps cleans up).
Result<BackupResult> CreateBackup(const std::vector<BackupSource>& sources, const std::string& dest);

// Lowers the calling thread's CPU priority (nice 10) and I/O priority (the
// lowest of the best-effort class), so that a backup made on the machine
// that serves takes longer rather than delaying chats: a 100k-session copy
// is about 600 MB read, checksummed and written while turns are fsynced
// (README, Backups). Linux applies both to the thread alone. Best effort:
// failures are ignored.
void LowerBackupPriority();

// The temp directory names CreateBackup uses beside a destination:
// ".<name>.tmp-<pid>". The pid lets a cleaner tell a dead writer's leftovers
// from a live one's.
std::string BackupTempPath(const std::string& dest);
// Removes, in `dir`, temp directories of backups and restores whose writer
// process is gone. Returns how many.
int RemoveStaleBackupTemps(const std::string& dir);

struct BackupVerification {
  BackupManifest manifest;
  std::map<std::string, StoreCheck> checks;  // by environment, for those whose file was sound
  std::vector<std::string> problems;         // empty: the backup can be restored
  bool ok() const { return problems.empty(); }
};

// Everything a restore relies on, without changing a byte of `src` (the
// environments are opened read-only, without a lock): the manifest, each
// file's size and XXH3 against it, then every record of every environment
// (store_check.h), the counts and formats against the manifest, and that
// this folio can use every store and record format in it. A Status only when
// there is no manifest to go by; every other finding is a problem.
Result<BackupVerification> VerifyBackup(const std::string& src);

struct RestoreResult {
  std::vector<std::string> restored;  // target directories now holding the backup
  std::vector<std::string> kept;      // where each replaced store was moved ("<target>.replaced")
  uint64_t bytes = 0;
};

// Puts each environment of the backup at `src` in the place of its target
// (`targets`: environment → directory, e.g. kSessionsEnv → $DATA_DIR/lmdb).
// Each file is copied beside its target and checksummed as it is copied (a
// backup changed since it was verified is refused), synced, and then
// swapped in (ReplaceDirectory: atomic where the filesystem allows); the
// store it replaces is kept at "<target>.replaced", replacing an older one.
// REQUIRES: VerifyBackup(src) found no problem, and no process has a target
// open (Store::OpenedBy). A failure before the swaps leaves every target as
// it was; the session store is swapped last.
Result<RestoreResult> RestoreBackup(const std::string& src, const BackupManifest& manifest,
                                    const std::map<std::string, std::string>& targets);

}  // namespace folio
