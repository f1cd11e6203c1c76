// app.h: the state one worker process shares among its threads and hands to
// every handler: settings, start time, readiness, the index in service, the
// shared state and the LLM client. Everything in App is safe to use from
// any thread of the process; nothing in it survives fork() or is shared
// with other processes (that is LMDB's job).
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>

#include "access.h"
#include "clock.h"
#include "config.h"
#include "circuit_breaker.h"
#include "client_limits.h"
#include "inflight.h"
#include "intent.h"
#include "response_cache.h"
#include "serving_index.h"
#include "llm_client.h"
#include "metrics.h"
#include "sessions.h"
#include "state_backend.h"
#include "state_layout.h"
#include "store.h"

namespace folio {

// Whether start-up checks have passed. Starts "not ready: starting".
class Readiness {
 public:
  void SetReady() {
    std::lock_guard<std::mutex> lock(mu_);
    ready_ = true;
    reason_.clear();
  }
  void SetNotReady(std::string reason) {
    std::lock_guard<std::mutex> lock(mu_);
    ready_ = false;
    reason_ = std::move(reason);
  }
  // Returns true when ready; otherwise fills *reason.
  bool IsReady(std::string* reason) const {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ready_ && reason) *reason = reason_;
    return ready_;
  }

 private:
  mutable std::mutex mu_;
  bool ready_ = false;
  std::string reason_ = "starting";
};

struct App {
  explicit App(Config c)
      : config(std::move(c)), index(StateLayoutOf(config).index_dir, OpenAiEndpointOf(config.settings())), access(AccessPolicy::FromConfig(config)) {}
  const Config config;
  const Settings& settings = config.settings();  // typed, read everywhere
  const SteadyTime started_at = std::chrono::steady_clock::now();
  Readiness readiness;  // start-up checks of this process
  ServingIndex index;  // the index in service, and its watcher
  // API keys, operator endpoints, CORS (access.h). Set before the server
  // starts; main.cc replaces it with AccessPolicy::Locked() when the
  // configuration is invalid.
  AccessPolicy access;
  // Opened by the start-up checks, before the process is ready; null until
  // then (handlers answer 503 while they are null).
  // Where the state lives is chosen there too (STATE_BACKEND): handlers
  // talk to the four interfaces of state_backend.h only.
  std::unique_ptr<Store> store;  // $DATA_DIR/lmdb, durable, every commit synced (LMDB backend; null on Redis)
  std::unique_ptr<SessionBackend> sessions;
  // Never null: in-memory until OpenState maps $RUN_DIR/metrics.shm (one
  // slot per process, summed on read).
  std::unique_ptr<Metrics> metrics = Metrics::InMemory();
  // Shared state across processes (null when it could not be opened: chat then
  // works without a cache, coalescing or limits rather than not at all).
  std::unique_ptr<CacheBackend> cache;       // LMDB: $DATA_DIR/cache (no fsync)
  std::unique_ptr<Store> inflight_store;     // LMDB: $DATA_DIR/inflight (no fsync)
  std::unique_ptr<InflightBackend> inflight;
  std::unique_ptr<LimitsBackend> limits;     // LMDB: $RUN_DIR/limits.shm
  // Which backend, and whether it is degraded (Redis unreachable).
  std::function<StateHealth()> state_health = [] { return StateHealth{}; };
  std::unique_ptr<IntentClassifier> intents;
  // The LLM side (state.cc OpenLlm): immutable once opened.
  std::unique_ptr<LlmClient> llm;
  std::unique_ptr<CircuitBreaker> breaker;  // shared with every worker process
  std::string system_prompt, prompt_version;
  // Result of the background key check at start: "unchecked", "accepted",
  // "rejected", "unreachable" or "not_configured".
  std::atomic<const char*> key_check{"unchecked"};

  // "" when this process can serve: start-up checks passed and an index is
  // in service. Otherwise the first reason it cannot. (An index that failed
  // to replace the one in service does not make the process unready: it
  // still serves the intact one; /ready and /api/health show the reason.)
  std::string NotReadyReason() const {
    std::string reason;
    if (!readiness.IsReady(&reason)) return reason;
    Status kb = index.status();
    return kb.ok() || index.in_service() ? "" : kb.message();
  }
};

}  // namespace folio
