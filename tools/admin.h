// admin.h: what folio-admin's subcommand groups share — the loaded
// configuration and state layout, the Answer every command returns, and
// opening the instance's state exactly as the worker does (same paths, map
// sizes and commit modes, from StateLayoutOf) but only what already exists:
// no command of folio-admin creates a file or directory, except `backup`
// (its destination) and `restore` (the stores it puts in place), so pointing
// it at the wrong place says so instead of leaving an empty instance behind.
// Single-threaded; every opened handle is owned by the command that opened it.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "circuit_breaker.h"
#include "client_limits.h"
#include "config.h"
#include "response_cache.h"
#include "sessions.h"
#include "state_layout.h"
#include "status.h"
#include "store.h"

namespace folio::admin {

using Json = nlohmann::ordered_json;

// REQUIRES: config came from a successful Config::Load.
struct Context {
  Config config;
  StateLayout layout;
};

// What a command returns. main prints `doc` (one JSON document) under --json
// and `text` otherwise, both on stdout; `error`, when set, also goes to stderr.
struct Answer {
  int exit_code = 0;  // 0 ok; 1 a failure or a problem found (bad index, missing data, ...)
  Json doc = Json::object();
  std::string text;
  std::string error;
};

// {"error": {"code": s.error(), "message": s.message()}}, exit 1.
Answer Failure(const Status& s);
// The same object, for a section of a larger document.
Json ErrorJson(const Status& s);

// For messages: the absolute form of a configured (maybe relative) path.
std::string Shown(const std::string& path);
// "12.5 KiB", "256 MiB".
std::string FormatBytes(uint64_t bytes);
// Unix seconds as "2025-11-25T18:00:03Z".
std::string FormatUnix(int64_t unix_seconds);

// NotFound("no_data_dir", "no data directory at /abs/path") unless DATA_DIR exists.
Status RequireDataDir(const StateLayout& layout);

// The sessions environment and its table. `store` outlives `sessions`
// (members are destroyed in reverse order).
struct OpenedSessions {
  std::unique_ptr<Store> store;
  std::unique_ptr<SessionStore> sessions;
};
// NotFound("no_data_dir") or NotFound("no_session_store") when absent.
Result<OpenedSessions> OpenSessions(const StateLayout& layout);
// NotFound("cache_disabled") when CACHE_TTL_S is 0; NotFound("no_cache") when
// no worker has created it yet.
Result<std::unique_ptr<ResponseCache>> OpenCache(const StateLayout& layout);
// The cache environment as a plain Store (to copy it), opened as the
// worker opens it. The same NotFound errors as OpenCache.
Result<std::unique_ptr<Store>> OpenCacheStore(const StateLayout& layout);
// NotFound("no_inflight_table") when absent.
Result<std::unique_ptr<Store>> OpenInflight(const StateLayout& layout);
// NotFound("no_breaker") when absent.
Result<std::unique_ptr<CircuitBreaker>> OpenBreaker(const StateLayout& layout);
// The shared limits file ($RUN_DIR/limits.shm: client budgets, the day's
// token spend). NotFound("no_limits") when absent.
Result<std::unique_ptr<ClientLimits>> OpenLimits(const Context& ctx);

// Every unexpired session, most recently updated first.
Result<std::vector<SessionSummary>> ListAllSessions(const SessionStore& sessions, int64_t now);
// "AbC12x…": how a session id is shown unless the operator asks for it whole
// (ids are bearer secrets of their users).
std::string ShownId(const std::string& id, bool full);

// The subcommands (admin_status.cc, admin_sessions.cc, admin_cache_index.cc).
Answer RunStatus(const Context& ctx);
Answer RunCacheStats(const Context& ctx);
Answer RunCacheClear(const Context& ctx);
Answer RunSessionsList(const Context& ctx, size_t limit, bool full_ids);
Answer RunSessionsShow(const Context& ctx, const std::string& id, bool full_ids);
Answer RunSessionsDelete(const Context& ctx, const std::string& id, bool full_ids);
Answer RunSessionsPurgeExpired(const Context& ctx);
Answer RunIndexInfo(const Context& ctx);
Answer RunIndexVerify(const Context& ctx);
// admin_backup.cc
Answer RunBackup(const Context& ctx, const std::string& dest, bool with_cache);
Answer RunVerifyBackup(const std::string& src);
Answer RunRestore(const Context& ctx, const std::string& src);

}  // namespace folio::admin
