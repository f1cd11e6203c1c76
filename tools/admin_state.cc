// admin_state.cc: opening an instance's state for folio-admin, only where it
// already exists, with the worker's own options (StateLayoutOf); and the small
// formatting helpers every subcommand shares.
#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <filesystem>

#include "admin.h"

namespace folio::admin {

namespace {

bool IsDirectory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool IsFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// An LMDB environment is a directory holding data.mdb and lock.mdb; opening
// one that lacks either would create it, so that counts as absent.
Status RequireEnvironment(const std::string& dir, const std::string& what, const std::string& code) {
  if (!IsFile(dir + "/data.mdb") || !IsFile(dir + "/lock.mdb")) {
    return NotFound(code, "no " + what + " at " + Shown(dir) + " (no worker has opened it yet)");
  }
  return Status::Ok();
}

}  // namespace

Answer Failure(const folio::Status& s) {
  Answer a;
  a.exit_code = 1;
  a.doc["error"] = ErrorJson(s);
  a.error = s.message();
  return a;
}

Json ErrorJson(const folio::Status& s) { return Json{{"code", s.error()}, {"message", s.message()}}; }

std::string Shown(const std::string& path) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

std::string FormatBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 4) v /= 1024, ++unit;
  char buf[32];
  std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", v, kUnits[unit]);
  return buf;
}

std::string FormatUnix(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

folio::Status RequireDataDir(const StateLayout& layout) {
  if (!IsDirectory(layout.data_dir)) return NotFound("no_data_dir", "no data directory at " + Shown(layout.data_dir));
  return folio::Status::Ok();
}

Result<OpenedSessions> OpenSessions(const StateLayout& layout) {
  if (folio::Status s = RequireDataDir(layout); !s.ok()) return s;
  if (folio::Status s = RequireEnvironment(layout.sessions_store.path, "session store", "no_session_store"); !s.ok())
    return s;
  Result<std::unique_ptr<Store>> store = Store::Open(layout.sessions_store);
  if (!store.ok()) return store.status();
  Result<SessionStore> sessions = SessionStore::Open(store->get(), layout.sessions);
  if (!sessions.ok()) return sessions.status();
  OpenedSessions out;
  out.store = std::move(store.value());
  out.sessions = std::make_unique<SessionStore>(std::move(sessions.value()));
  return out;
}

Result<std::unique_ptr<ResponseCache>> OpenCache(const StateLayout& layout) {
  if (!layout.cache_enabled) return NotFound("cache_disabled", "the response cache is disabled (CACHE_TTL_S=0)");
  if (folio::Status s = RequireDataDir(layout); !s.ok()) return s;
  if (folio::Status s = RequireEnvironment(layout.cache.path, "response cache", "no_cache"); !s.ok()) return s;
  return ResponseCache::Open(layout.cache);
}

Result<std::unique_ptr<Store>> OpenCacheStore(const StateLayout& layout) {
  if (!layout.cache_enabled) return NotFound("cache_disabled", "the response cache is disabled (CACHE_TTL_S=0)");
  if (folio::Status s = RequireDataDir(layout); !s.ok()) return s;
  if (folio::Status s = RequireEnvironment(layout.cache.path, "response cache", "no_cache"); !s.ok()) return s;
  return Store::Open(CacheStoreOptions(layout.cache));
}

Result<std::unique_ptr<Store>> OpenInflight(const StateLayout& layout) {
  if (folio::Status s = RequireDataDir(layout); !s.ok()) return s;
  if (folio::Status s = RequireEnvironment(layout.inflight_store.path, "in-flight table", "no_inflight_table"); !s.ok())
    return s;
  return Store::Open(layout.inflight_store);
}

Result<std::unique_ptr<CircuitBreaker>> OpenBreaker(const StateLayout& layout) {
  if (!IsFile(layout.breaker_path)) {
    return NotFound("no_breaker", "no breaker file at " + Shown(layout.breaker_path) + " (no worker has run)");
  }
  return CircuitBreaker::Open(layout.breaker_path, layout.breaker);
}

Result<std::unique_ptr<ClientLimits>> OpenLimits(const Context& ctx) {
  if (!IsFile(ctx.layout.limits_path)) {
    return NotFound("no_limits", "no limits file at " + Shown(ctx.layout.limits_path) + " (no worker has run)");
  }
  LimitOptions options;
  options.daily_token_budget = ctx.config.settings().llm_daily_token_budget;
  return ClientLimits::Open(ctx.layout.limits_path, options);
}

std::string ShownId(const std::string& id, bool full) {
  constexpr size_t kShownChars = 6;  // 36 bits: enough to tell sessions apart, far from a usable id
  if (full || id.size() <= kShownChars) return id;
  return id.substr(0, kShownChars) + "\xE2\x80\xA6";
}

}  // namespace folio::admin
