// backup_manifest.cc: manifest.json <-> BackupManifest, nlohmann::json in its
// non-throwing style (json_fields.h).
#include "backup_manifest.h"

#include <nlohmann/json.hpp>

#include "file_util.h"
#include "json_fields.h"

namespace folio {
namespace {

using nlohmann::json;

constexpr size_t kMaxManifestBytes = 64 << 10;

Status Corrupt(const std::string& path, const std::string& why) {
  return InvalidArgument("backup_corrupt", path + ": " + why);
}

}  // namespace

std::string EnvDirName(const std::string& env) { return env == kSessionsEnv ? "lmdb" : env; }

Result<BackupManifest> ReadBackupManifest(const std::string& dir) {
  const std::string path = dir + "/" + kBackupManifestFile;
  Result<std::string> text = ReadSmallFile(path, kMaxManifestBytes);
  if (!text.ok() && text.status().code() == Code::kNotFound) {
    return NotFound("backup_not_found", "no " + std::string(kBackupManifestFile) + " in " + dir +
                                            ": not a backup, or one that was never completed");
  }
  if (!text.ok()) return Corrupt(path, text.status().message());
  const json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Corrupt(path, "not a JSON object");

  BackupManifest m;
  if (!GetUnsigned(j, "format", &m.format)) return Corrupt(path, "format missing");
  if (m.format != kBackupFormat) {
    return Unprocessable("backup_format_unsupported",
                         path + ": backup format " + std::to_string(m.format) + ", this folio reads format " +
                             std::to_string(kBackupFormat) + " (a backup made by a newer folio)");
  }
  const json* records = GetObject(j, "record_formats");
  const json* envs = GetObject(j, "environments");
  if (!GetString(j, "created_at", &m.created_at) || !GetUnsigned(j, "created_unix_ms", &m.created_ms) ||
      !GetString(j, "folio_version", &m.folio_version) || !GetUnsigned(j, "sessions", &m.sessions) || !records ||
      !envs) {
    return Corrupt(path, "a field is missing or has the wrong type");
  }
  for (const auto& [type, version] : records->items()) {
    if (!version.is_number_unsigned() || version.get<uint64_t>() > 255) {
      return Corrupt(path, "record_formats." + type + " is not a format version");
    }
    m.record_formats[type] = version.get<int>();
  }
  for (const auto& [name, e] : envs->items()) {
    if (name != kSessionsEnv && name != kCacheEnv) return Corrupt(path, "unknown environment " + name);
    BackupEnvironment env;
    if (!e.is_object() || !GetString(e, "file", &env.file) || !GetUnsigned(e, "bytes", &env.bytes) ||
        !GetString(e, "xxh3", &env.xxh3) || !GetUnsigned(e, "store_format", &env.store_format) ||
        !GetUnsigned(e, "min_reader", &env.min_reader) || !GetUnsigned(e, "records", &env.records)) {
      return Corrupt(path, "environments." + name + " is incomplete");
    }
    // The file is exactly where this folio puts it: nothing outside the
    // backup can be named.
    if (env.file != EnvDirName(name) + "/data.mdb") return Corrupt(path, "environments." + name + " names " + env.file);
    m.environments[name] = env;
  }
  if (!m.environments.count(kSessionsEnv)) return Corrupt(path, "no session store in the backup");
  return m;
}

Status WriteBackupManifest(const std::string& dir, const BackupManifest& m) {
  json envs = json::object();
  for (const auto& [name, e] : m.environments) {
    envs[name] = {{"file", e.file},
                  {"bytes", e.bytes},
                  {"xxh3", e.xxh3},
                  {"store_format", e.store_format},
                  {"min_reader", e.min_reader},
                  {"records", e.records}};
  }
  const json j = {{"format", m.format},
                  {"created_at", m.created_at},
                  {"created_unix_ms", m.created_ms},
                  {"folio_version", m.folio_version},
                  {"record_formats", m.record_formats},
                  {"sessions", m.sessions},
                  {"environments", envs}};
  return WriteFileDurably(dir + "/" + kBackupManifestFile, j.dump(2) + "\n");
}

}  // namespace folio
