// admin_backup.cc: `folio-admin backup DEST [--with-cache]`, `verify-backup
// SRC` and `restore SRC` — the operator's side of backup.h. Backups are
// made from a live instance (a read transaction: chats go on); a restore
// replaces the stores of a stopped one and refuses a running one.
//
// How a running instance is recognised, and why two ways:
//  - Store::OpenedBy on each environment (lmdb, cache, inflight): LMDB
//    keeps a shared fcntl lock on lock.mdb for as long as any process has
//    the environment open, and the kernel drops it when that process exits
//    or is killed, so it can neither go stale nor be fooled by a reused pid.
//    It catches every worker, a folio-admin command in progress and a
//    worker started by hand under another RUN_DIR.
//  - supervisord's pid file in RUN_DIR, when that pid is a live supervisord:
//    between two worker restarts no process may have the store open, yet
//    supervisord is about to start one, which would open the store while it
//    is being swapped.
// A worker started by hand in the instant between these checks and the swap
// is not caught; restoring is for an instance its operator has stopped.
#include <cstdio>

#include "admin.h"
#include "backup.h"
#include "file_util.h"
#include "metrics.h"
#include "process.h"

namespace folio::admin {
namespace {

// Why the instance counts as running, or OK.
folio::Status RunningInstance(const StateLayout& layout) {
  for (const std::string& dir : {layout.sessions_store.path, layout.cache.path, layout.inflight_store.path}) {
    Result<pid_t> holder = Store::OpenedBy(dir);
    if (!holder.ok()) return holder.status();
    if (*holder > 0) {
      return Unavailable("instance_running", "the instance is running: process " + std::to_string(*holder) +
                                                 " has " + Shown(dir) + " open; stop the instance first");
    }
  }
  const std::string pid_file = layout.run_dir + "/supervisord.pid";
  Result<std::string> pid_text = ReadSmallFile(pid_file, 64);
  const int pid = pid_text.ok() ? std::atoi(pid_text->c_str()) : 0;
  if (pid > 0 && IsAlive(ProcessId{pid, 0})) {
    Result<std::string> cmdline = ReadSmallFile("/proc/" + std::to_string(pid) + "/cmdline", 4096);
    if (cmdline.ok() && cmdline->find("supervisord") != std::string::npos) {
      return Unavailable("instance_running", "the instance is running: supervisord (pid " + std::to_string(pid) +
                                                 ", " + Shown(pid_file) +
                                                 ") would start workers on the store; stop the instance first");
    }
  }
  return folio::Status::Ok();
}

Json ManifestJson(const BackupManifest& m) {
  Json envs = Json::object();
  for (const auto& [name, e] : m.environments) {
    envs[name] = {{"file", e.file}, {"bytes", e.bytes}, {"xxh3", e.xxh3}, {"records", e.records},
                  {"store_format", e.store_format}};
  }
  return Json{{"created_at", m.created_at}, {"folio_version", m.folio_version}, {"sessions", m.sessions},
              {"record_formats", m.record_formats}, {"environments", envs}};
}

uint64_t Records(const BackupManifest& m, const char* env) {
  auto it = m.environments.find(env);
  return it == m.environments.end() ? 0 : it->second.records;
}

// A verification that found problems: exit 1, every problem listed.
Answer Unusable(const std::string& src, const BackupVerification& v, const std::string& verdict) {
  Answer a;
  a.exit_code = 1;
  a.doc = Json{{"ok", false}, {"path", Shown(src)}, {"problems", v.problems}};
  a.text = "backup at " + Shown(src) + ": " + std::to_string(v.problems.size()) + " problem(s):\n";
  for (const std::string& p : v.problems) a.text += "  " + p + "\n";
  a.error = verdict + ": " + v.problems.front();
  a.doc["error"] = ErrorJson(InvalidArgument("backup_unusable", a.error));
  return a;
}

}  // namespace

Answer RunBackup(const Context& ctx, const std::string& dest, bool with_cache) {
  Result<OpenedSessions> sessions = OpenSessions(ctx.layout);
  if (!sessions.ok()) return Failure(sessions.status());
  std::vector<BackupSource> sources = {{kSessionsEnv, sessions->store.get()}};
  std::unique_ptr<Store> cache;
  if (with_cache) {
    Result<std::unique_ptr<Store>> opened = OpenCacheStore(ctx.layout);
    if (!opened.ok()) return Failure(opened.status());
    cache = std::move(opened.value());
    sources.push_back({kCacheEnv, cache.get()});
  }
  LowerBackupPriority();  // run on the serving machine: chats come first
  Result<BackupResult> made = CreateBackup(sources, dest);
  if (!made.ok()) return Failure(made.status());
  Answer a;
  a.doc = Json{{"ok", true}, {"path", Shown(made->path)}, {"bytes", made->bytes}, {"seconds", made->seconds},
               {"manifest", ManifestJson(made->manifest)}};
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.2f s", made->seconds);
  a.text = "backup of " + std::to_string(made->manifest.sessions) + " sessions" +
           (with_cache ? " and " + std::to_string(Records(made->manifest, kCacheEnv)) + " cached answers" : "") +
           " (" + FormatBytes(made->bytes) + ") written to " + Shown(made->path) + " in " + seconds + "\n";
  return a;
}

Answer RunVerifyBackup(const std::string& src) {
  Result<BackupVerification> v = VerifyBackup(src);
  if (!v.ok()) return Failure(v.status());
  if (!v->ok()) return Unusable(src, *v, "the backup at " + Shown(src) + " cannot be restored");
  Answer a;
  a.doc = Json{{"ok", true}, {"path", Shown(src)}, {"manifest", ManifestJson(v->manifest)}};
  a.text = "backup at " + Shown(src) + " is sound: " + std::to_string(v->manifest.sessions) + " sessions" +
           (v->manifest.environments.count(kCacheEnv)
                ? ", " + std::to_string(Records(v->manifest, kCacheEnv)) + " cached answers"
                : "") +
           ", made " + v->manifest.created_at + " by folio " + v->manifest.folio_version +
           "; every file matches its checksum and every record decodes\n";
  return a;
}

Answer RunRestore(const Context& ctx, const std::string& src) {
  // The backup first, all of it: a bad one is refused before anything is
  // looked at, let alone touched, in DATA_DIR.
  Result<BackupVerification> v = VerifyBackup(src);
  if (!v.ok()) return Failure(v.status());
  if (!v->ok()) return Unusable(src, *v, "refusing to restore the backup at " + Shown(src));
  if (folio::Status live = RunningInstance(ctx.layout); !live.ok()) return Failure(live);
  const std::map<std::string, std::string> targets = {{kSessionsEnv, ctx.layout.sessions_store.path},
                                                      {kCacheEnv, ctx.layout.cache.path}};
  Result<RestoreResult> restored = RestoreBackup(src, v->manifest, targets);
  if (!restored.ok()) return Failure(restored.status());
  Answer a;
  std::vector<std::string> shown_restored, shown_kept;
  for (const std::string& r : restored->restored) shown_restored.push_back(Shown(r));
  for (const std::string& k : restored->kept) shown_kept.push_back(Shown(k));
  a.doc = Json{{"ok", true}, {"from", Shown(src)}, {"manifest", ManifestJson(v->manifest)},
               {"restored", shown_restored}, {"kept", shown_kept}, {"bytes", restored->bytes}};
  a.text = "restored " + std::to_string(v->manifest.sessions) + " sessions (" + FormatBytes(restored->bytes) +
           ", backup of " + v->manifest.created_at + ") into " + Shown(ctx.layout.data_dir) + "\n";
  for (const std::string& k : shown_kept) {
    a.text += "  the store it replaced is kept at " + k + ": delete it once the instance serves as it should\n";
  }
  return a;
}

}  // namespace folio::admin
