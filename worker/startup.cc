// startup.cc: opening the process's shared state, and housekeeping.
#include "startup.h"

#include <unistd.h>

#include <filesystem>

#include "chat.h"
#include "log.h"

namespace folio {

// Cache, in-flight table, limits, intents: each optional. A failure is
// logged (and shown by /api/health) but never stops the worker.
void OpenSharedState(App& app) {
  const Config& config = app.config;
  const StateLayout layout = StateLayoutOf(config);
  if (layout.cache_enabled) {
    Result<std::unique_ptr<ResponseCache>> opened = ResponseCache::Open(layout.cache);
    if (opened.ok()) app.cache = std::move(opened.value());
    else LogError("cache_unavailable", {{"reason", opened.status().message()}});
  }
  Result<std::unique_ptr<Store>> store = Store::Open(layout.inflight_store);
  if (store.ok()) {
    Result<InflightTable> table = InflightTable::Open(store->get());
    if (table.ok()) {
      app.inflight_store = std::move(store.value());
      app.inflight = std::make_unique<InflightTable>(std::move(table.value()));
    }
  }
  if (!app.inflight) LogError("inflight_unavailable", {{"path", layout.inflight_store.path}});
  LimitOptions limits;
  limits.client_rpm = static_cast<int>(config.Int("CLIENT_RPM"));
  limits.client_expensive_rpm = static_cast<int>(config.Int("CLIENT_EXPENSIVE_RPM"));
  limits.client_max_concurrent = static_cast<int>(config.Int("CLIENT_MAX_CONCURRENT"));
  limits.max_concurrent_llm = static_cast<int>(config.Int("MAX_CONCURRENT_LLM"));
  limits.client_sessions_per_min = static_cast<int>(config.Int("CLIENT_SESSIONS_PER_MIN"));
  limits.daily_token_budget = config.Int("LLM_DAILY_TOKEN_BUDGET");
  Result<std::unique_ptr<ClientLimits>> opened_limits = ClientLimits::Open(layout.limits_path, limits);
  if (opened_limits.ok()) app.limits = std::move(opened_limits.value());
  else LogError("limits_unavailable", {{"reason", opened_limits.status().message()}});
  Result<IntentClassifier> intents = IntentClassifier::Load(config.Str("INTENTS_FILE"));
  if (intents.ok()) app.intents = std::make_unique<IntentClassifier>(std::move(intents.value()));
  else LogError("intents_unavailable", {{"reason", intents.status().message()}});
}

Status OpenState(App& app) {
  const StateLayout layout = StateLayoutOf(app.config);
  // Metrics first: nothing below may fail without being counted. A process
  // that cannot map the shared file still counts, in its own memory.
  Result<std::unique_ptr<Metrics>> metrics = Metrics::Open(layout.metrics_path);
  if (metrics.ok()) {
    app.metrics = std::move(metrics.value());
  } else {
    LogWarn("metrics_not_shared", {{"reason", metrics.status().message()}});
    app.metrics = Metrics::InMemory();
  }
  std::error_code ec;
  const std::string& data_dir = layout.data_dir;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Unavailable("data_dir", "cannot create DATA_DIR " + data_dir + ": " + ec.message());
  if (access(data_dir.c_str(), W_OK | X_OK) != 0)
    return Unavailable("data_dir", "DATA_DIR " + data_dir + " is not writable");

  Result<std::unique_ptr<Store>> store = Store::Open(layout.sessions_store);
  if (!store.ok()) return Unavailable("store", "LMDB at " + layout.sessions_store.path + ": " + store.status().message());
  Result<SessionStore> sessions = SessionStore::Open(store->get(), layout.sessions);
  if (!sessions.ok()) return Unavailable("store", "session store: " + sessions.status().message());
  app.store = std::move(store.value());
  app.sessions = std::make_unique<SessionStore>(std::move(sessions.value()));
  OpenSharedState(app);
  return OpenLlm(app);
}

Housekeeper::Housekeeper(App& app) : app_(app), thread_(&Housekeeper::Run, this) {}

Housekeeper::~Housekeeper() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Housekeeper::Run() {
  using std::chrono::seconds;
  const auto sweep_every = seconds(app_.config.Int("SESSION_SWEEP_S"));
  auto next_readers = std::chrono::steady_clock::now();
  auto next_sweep = std::chrono::steady_clock::now() + seconds(5);
  auto next_purge = std::chrono::steady_clock::now() + seconds(5);
  auto next_evict = std::chrono::steady_clock::now();
  uint64_t evictions_counted = 0;
  while (!stop_.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    if (!app_.store) continue;
    auto now = std::chrono::steady_clock::now();
    if (now >= next_readers) {
      // A worker killed mid-read leaves its reader slot behind, in any of
      // the three environments; enough of them would exhaust the table, and
      // each pins old pages that writers cannot reuse (the file grows). A
      // check is one fcntl probe per distinct pid in the table.
      auto clear = [](const char* env, Result<int> cleared) {
        if (cleared.ok() && *cleared > 0) LogWarn("stale_readers_cleared", {{"env", env}, {"count", *cleared}});
      };
      clear("sessions", app_.store->ClearStaleReaders());
      if (app_.cache) clear("cache", app_.cache->ClearStaleReaders());
      if (app_.inflight_store) clear("inflight", app_.inflight_store->ClearStaleReaders());
      app_.metrics->ReclaimDeadSlots();  // a killed worker's in-flight count
      next_readers = now + seconds(5);
    }
    if (app_.limits) app_.limits->ReclaimDead();  // tickets and upstream slots of killed workers
    if (now >= next_purge) {
      if (app_.inflight) (void)app_.inflight->Purge(Metrics::NowMs());
      if (app_.cache) (void)app_.cache->PurgeExpired(Metrics::NowMs(), 200);
      next_purge = now + seconds(5);
    }
    if (now >= next_evict && app_.sessions) {
      // Ahead of need: the store keeps room for everyone's next turns.
      Result<int> evicted = app_.sessions->EvictIfNearFull();
      if (!evicted.ok()) LogWarn("session_eviction_failed", {{"reason", evicted.status().message()}});
      next_evict = now + seconds(2);
    }
    if (app_.sessions) {  // evictions of this process, the housekeeper's and any commit's
      const uint64_t evicted = app_.sessions->evicted();
      app_.metrics->Add(Counter::kSessionsEvicted, static_cast<int64_t>(evicted - evictions_counted));
      evictions_counted = evicted;
    }
    if (now >= next_sweep && app_.sessions) {
      Result<int> swept = app_.sessions->SweepExpired(UnixNow());
      if (swept.ok() && *swept > 0) LogInfo("sessions_expired", {{"count", *swept}});
      if (!swept.ok()) LogWarn("session_sweep_failed", {{"reason", swept.status().message()}});
      next_sweep = now + sweep_every;
    }
  }
}

}  // namespace folio
