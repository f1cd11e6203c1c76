// backup_manifest.h: manifest.json, the table of contents of a backup
// directory: when and by which folio it was made, the format of every store
// and record type in it, how many sessions it holds, and each environment's
// file with its size and XXH3-64. Written last (a directory without it is
// not a backup); read first by verification and restore.
// Plain values; functions are stateless and never throw.
//
// A backup directory:
//   manifest.json
//   lmdb/data.mdb    the session store ($DATA_DIR/lmdb), compacted
//   cache/data.mdb   the response cache ($DATA_DIR/cache), with --with-cache
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "status.h"

namespace folio {

// 1: the layout above.
inline constexpr int kBackupFormat = 1;
inline constexpr char kBackupManifestFile[] = "manifest.json";
// The environments a backup may hold, by name, and their directories both
// in the backup and under DATA_DIR.
inline constexpr char kSessionsEnv[] = "sessions";
inline constexpr char kCacheEnv[] = "cache";
std::string EnvDirName(const std::string& env);  // "lmdb" for sessions, "cache" for the cache

struct BackupEnvironment {
  std::string file;          // relative to the backup: "lmdb/data.mdb"
  uint64_t bytes = 0;
  std::string xxh3;          // 16 hex digits, of the whole file
  uint32_t store_format = 0; // the environment's format marker (store_format.h)
  uint32_t min_reader = 0;
  uint64_t records = 0;      // sessions, or cache entries
};

struct BackupManifest {
  int format = kBackupFormat;
  std::string created_at;    // ISO 8601 UTC, "2026-12-05T10:00:00Z"
  int64_t created_ms = 0;    // the same, unix milliseconds
  std::string folio_version; // of the folio that made it
  // Record type ("session", "cache") → the format that folio writes; the
  // backup may also hold records of earlier formats, which it reads.
  std::map<std::string, int> record_formats;
  uint64_t sessions = 0;
  std::map<std::string, BackupEnvironment> environments;  // kSessionsEnv, kCacheEnv
};

// Reads and type-checks `dir`/manifest.json. NotFound("backup_not_found")
// when absent; InvalidArgument("backup_corrupt") on bad JSON, a missing or
// mistyped field, an unknown environment or an unsafe file name;
// Unprocessable("backup_format_unsupported") for a manifest format this
// folio does not know.
Result<BackupManifest> ReadBackupManifest(const std::string& dir);

// Writes `dir`/manifest.json durably (write, fsync, close).
Status WriteBackupManifest(const std::string& dir, const BackupManifest& manifest);

}  // namespace folio
