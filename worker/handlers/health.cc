// health.cc: GET /api/health — one entry per dependency under "checks", each
// {"status":"ok|warn|critical", ...details}. Overall status: healthy when
// all are ok, degraded when any warns, unhealthy (503) when any is critical.
#include <sys/statvfs.h>

#include <vector>

#include "backup_schedule.h"
#include "handlers.h"
#include "proc_stats.h"

namespace folio {

namespace {

nlohmann::json MemoryCheck(const Settings& settings) {
  const int64_t limit_mb = settings.memory_limit_mb;
  const int64_t warn_mb = limit_mb * settings.memory_warn_percent / 100;
  ProcessMemory self = SelfMemory();
  std::vector<ProcessMemory> pool = PoolMemory();
  int64_t pool_rss_kb = 0, pool_pss_kb = 0;
  for (const auto& p : pool) pool_rss_kb += p.rss_kb, pool_pss_kb += p.pss_kb;
  // In a container with a memory limit, the cgroup's working set is what
  // the platform kills on, and it covers nginx and supervisord too. Without
  // a limit the cgroup is not ours alone (a shared host): use the pool's
  // PSS, which counts shared pages (the mapped index, libraries) once.
  int64_t cgroup_limit = CgroupMemoryLimitBytes();
  int64_t cgroup = cgroup_limit > 0 ? CgroupMemoryBytes() : -1;
  int64_t used_mb = cgroup > 0 ? cgroup / (1024 * 1024) : pool_pss_kb / 1024;
  const char* status = used_mb >= limit_mb ? "critical" : used_mb >= warn_mb ? "warn" : "ok";
  nlohmann::json check = {{"status", status},
                          {"worker_rss_mb", self.rss_kb / 1024.0},
                          {"pool_rss_mb", pool_rss_kb / 1024.0},
                          {"pool_pss_mb", pool_pss_kb / 1024.0},
                          {"pool_processes", pool.size()},
                          {"limit_mb", limit_mb},
                          {"warn_mb", warn_mb}};
  if (cgroup > 0) {
    check["cgroup_working_set_mb"] = cgroup / (1024.0 * 1024.0);
    check["cgroup_limit_mb"] = cgroup_limit / (1024.0 * 1024.0);
  }
  return check;
}

nlohmann::json StartupCheck(App& app) {
  std::string reason;
  if (app.readiness.IsReady(&reason)) return {{"status", "ok"}};
  return {{"status", reason == "starting" ? "warn" : "critical"}, {"reason", reason}};
}

nlohmann::json IndexCheck(const ServingIndex& index) {
  ServingIndex::Current kb = index.Get();
  Status status = index.status();
  nlohmann::json check = {{"status", status.ok() ? "ok" : kb.index ? "warn" : "critical"},
                          {"dir", index.index_dir()}};
  if (!status.ok()) check["reason"] = status.message();
  if (kb.index) {
    const IndexManifest& m = kb.index->manifest();
    check.update({{"documents", m.documents}, {"chunks", m.chunks}, {"embedder", m.embedder},
                  {"vectors", m.vectors}, {"dimension", m.dimension}, {"kb_version", m.kb_version},
                  {"built_at", m.built_at}, {"swaps", index.swaps()}});
  }
  return check;
}

// The LLM never makes folio unhealthy: without it answers are degraded
// (composed from the knowledge base), so every problem here is a warning.
nlohmann::json LlmCheck(App& app) {
  if (!app.llm) return {{"status", "warn"}, {"reason", "not started"}};
  nlohmann::json check = {{"configured", app.llm->configured()}, {"model", app.llm->model()},
                          {"key", app.llm->configured() ? app.key_check.load() : "not_configured"}};
  std::string reason;
  if (app.breaker) {
    BreakerSnapshot b = app.breaker->Snapshot(UnixMs());
    check["breaker"] = BreakerStateName(b.state);
    check["consecutive_failures"] = b.consecutive_failures;
    if (b.state != BreakerState::kClosed) reason = "circuit breaker open: answers are degraded until it closes";
    if (b.key_rejected) reason = "the API key was rejected (401/403)";
  }
  if (app.limits && app.limits->options().daily_token_budget > 0) {
    const int64_t now = UnixMsCoarse();
    check["tokens_today"] = app.limits->TokensSpentToday(now);
    check["daily_token_budget"] = app.limits->options().daily_token_budget;
    if (app.llm->configured() && app.limits->TokenBudgetSpent(now))
      reason = "the day's LLM token budget is spent: answers are composed from the knowledge base until 00:00 UTC";
  }
  if (!app.llm->configured()) reason = "OPENAI_API_KEY is not set: answers are composed from the knowledge base";
  check["status"] = reason.empty() ? "ok" : "warn";
  if (!reason.empty()) check["reason"] = reason;
  return check;
}

// Below this much free space on the data directory's disk, a turn's commit
// (a few pages and an fsync'd meta page) may fail with ENOSPC at any time.
constexpr double kMinDiskFreeMb = 1;

// The state backend: the session store and the response cache. Warns while
// chat turns are not being saved — this process's last commit failed (a
// full map, a full or failing disk, Redis down) and no write has succeeded
// since, the LMDB map is full down to its reserve, or the disk has (almost)
// no space left; each worker sees the last two, whichever answers — while
// Redis is unreachable (answers then use this instance's state only), or
// while the cache has disabled itself. Answers still go out, so storage
// alone never makes folio unhealthy.
nlohmann::json StorageCheck(App& app) {
  // Not open: the start-up check failed, and says why (critical) there.
  if (!app.sessions) return {{"status", "warn"}, {"reason", "the session store is not open"}};
  const StateHealth state = app.state_health();
  nlohmann::json check = {{"backend", state.backend}, {"location", state.location}, {"degraded", state.degraded}};
  std::string reason;
  if (state.degraded) reason = state.reason;
  if (Status last = app.sessions->LastCommitStatus(); !last.ok()) {
    check["last_commit_error"] = last.error();
    if (reason.empty()) reason = "chat turns are not being saved: " + last.message();
  }
  if (app.store) {  // LMDB: the map and the disk under it
    check["path"] = app.store->path();
    if (Result<StoreInfo> info = app.store->EnvInfo(); info.ok()) {
      check["map_used_mb"] = static_cast<double>(info->used_bytes) / (1 << 20);
      check["map_size_mb"] = static_cast<double>(info->map_size_bytes) / (1 << 20);
    }
    Result<bool> room = app.store->HasRoom();
    if (!room.ok() && reason.empty()) {
      reason = "the session store cannot be read: " + room.status().message();
    } else if (room.ok() && !*room && reason.empty()) {
      reason = "the session store is full (LMDB_MAP_MB): new chat turns are not saved until sessions are deleted or expire";
    }
    struct statvfs disk {};
    if (statvfs(app.store->path().c_str(), &disk) == 0) {
      const double free_mb = static_cast<double>(disk.f_bavail) * static_cast<double>(disk.f_frsize) / (1 << 20);
      check["disk_free_mb"] = free_mb;
      if (free_mb < kMinDiskFreeMb && reason.empty())
        reason = "no space left on the disk of " + app.store->path() + ": chat turns cannot be saved";
    }
  }
  if (app.cache) {
    CacheStats cache = app.cache->Stats();
    check["cache"] = cache.disabled ? "disabled" : "enabled";
    if (cache.disabled && reason.empty()) reason = "the response cache is disabled: " + cache.disabled_reason;
  }
  check["status"] = reason.empty() ? "ok" : "warn";
  if (!reason.empty()) check["reason"] = reason;
  return check;
}

// Scheduled backups (BACKUP_KEEP > 0): the newest one's age and size, and
// a warning while they fail or have stopped (backup_schedule.h). Read from
// the backup directory and RUN_DIR: any worker may have made the last one.
nlohmann::json BackupCheck(const Config& config) {
  const BackupSchedule schedule = StateLayoutOf(config).backups;
  const int64_t now_ms = UnixMsCoarse();
  const BackupHealth health = CheckBackupHealth(schedule, now_ms);
  nlohmann::json check = BackupHealthJson(schedule, health, now_ms);
  check["status"] = health.failing ? "warn" : "ok";
  return check;
}

// API keys in force: critical when API_KEYS_FILE is set but cannot be used
// (every API call is then refused until it is fixed).
nlohmann::json AccessCheck(const AccessPolicy& access) {
  const char* mode = access.operator_access == OperatorAccess::kOperator   ? "operator"
                     : access.operator_access == OperatorAccess::kLoopback ? "loopback"
                                                                           : "open";
  nlohmann::json check = {{"status", "ok"}, {"operator_access", mode}, {"cors_origins", access.cors.origins().size()}};
  if (!access.keys) {
    check["api_keys"] = "off";
    return check;
  }
  access.keys->Refresh();
  check["api_keys"] = access.keys->size();
  check["operator_keys"] = access.keys->operator_count();
  Status s = access.keys->status();
  if (!s.ok()) check.update({{"status", "critical"}, {"reason", s.message()}});
  return check;
}

}  // namespace

Response HandleHealth(const Request& request, App& app) {
  nlohmann::json checks = {{"startup", StartupCheck(app)},
                           {"index", IndexCheck(app.index)},
                           {"llm", LlmCheck(app)},
                           {"storage", StorageCheck(app)},
                           {"memory", MemoryCheck(app.settings)},
                           {"backup", BackupCheck(app.config)},
                           {"access", AccessCheck(app.access)}};
  bool warn = false, critical = false;
  for (const auto& [name, check] : checks.items()) {
    warn |= check["status"] == "warn";
    critical |= check["status"] == "critical";
  }
  const char* status = critical ? "unhealthy" : warn ? "degraded" : "healthy";
  // Not an operator (OPERATOR_ACCESS, access.h): the verdict without details.
  if (!request.operator_view) return JsonResponse(critical ? 503 : 200, {{"status", status}, {"timestamp", IsoTimestampNow()}});
  double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - app.started_at).count();
  nlohmann::json body = {{"status", status},     {"timestamp", IsoTimestampNow()},
                         {"version", FOLIO_VERSION}, {"uptime_s", uptime},
                         {"pid", getpid()},       {"checks", checks}};
  return JsonResponse(critical ? 503 : 200, body);
}

}  // namespace folio
