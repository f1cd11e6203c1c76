// state.cc: opening the process's state: the data directory, the state
// backend (LMDB and shared memory, or Redis in front of them: STATE_BACKEND),
// the intents and the LLM side.
#include "state.h"

#include <unistd.h>

#include <filesystem>

#include "log.h"
#include "redis_cache.h"
#include "redis_inflight.h"
#include "redis_limits.h"
#include "redis_sessions.h"

namespace folio {

namespace {

LimitOptions LimitOptionsOf(const Settings& settings) {
  LimitOptions limits;
  limits.client_rpm = static_cast<int>(settings.client_rpm);
  limits.client_expensive_rpm = static_cast<int>(settings.client_expensive_rpm);
  limits.client_max_concurrent = static_cast<int>(settings.client_max_concurrent);
  limits.max_concurrent_llm = static_cast<int>(settings.max_concurrent_llm);
  limits.client_sessions_per_min = static_cast<int>(settings.client_sessions_per_min);
  limits.daily_token_budget = settings.llm_daily_token_budget;
  return limits;
}

// This machine's cache, in-flight table and limits: the whole of them on
// LMDB, the copies and fallbacks behind Redis. Each is optional: a failure
// is logged (and shown by /api/health) but never stops the worker, which
// then answers without a cache, coalescing or limits rather than not at all.
struct LocalState {
  std::unique_ptr<ResponseCache> cache;
  std::unique_ptr<InflightTable> inflight;  // on app.inflight_store
  std::unique_ptr<ClientLimits> limits;
};

LocalState OpenLocalState(App& app, const StateLayout& layout) {
  LocalState local;
  if (layout.cache_enabled) {
    Result<std::unique_ptr<ResponseCache>> opened = ResponseCache::Open(layout.cache);
    if (opened.ok()) local.cache = std::move(opened.value());
    else LogError("cache_unavailable", {{"reason", opened.status().message()}});
  }
  Result<std::unique_ptr<Store>> store = Store::Open(layout.inflight_store);
  if (store.ok()) {
    Result<InflightTable> table = InflightTable::Open(store->get());
    if (table.ok()) {
      app.inflight_store = std::move(store.value());
      local.inflight = std::make_unique<InflightTable>(std::move(table.value()));
    }
  }
  if (!local.inflight) LogError("inflight_unavailable", {{"path", layout.inflight_store.path}});
  Result<std::unique_ptr<ClientLimits>> limits = ClientLimits::Open(layout.limits_path, LimitOptionsOf(app.settings));
  if (limits.ok()) local.limits = std::move(limits.value());
  else LogError("limits_unavailable", {{"reason", limits.status().message()}});
  return local;
}

// The default: everything on this machine. The session store must open
// (durable turns are the one thing folio will not do without).
Status OpenLmdbState(App& app, const StateLayout& layout) {
  Result<std::unique_ptr<Store>> store = Store::Open(layout.sessions_store);
  if (!store.ok()) return Unavailable("store", "LMDB at " + layout.sessions_store.path + ": " + store.status().message());
  Result<SessionStore> sessions = SessionStore::Open(store->get(), layout.sessions);
  // A store a newer folio wrote stays refused however often a worker
  // retries: its reason goes to /ready as it is (main.cc then waits).
  if (!sessions.ok() && sessions.status().error() == "store_too_new") return sessions.status();
  if (!sessions.ok()) return Unavailable("store", "session store: " + sessions.status().message());
  app.store = std::move(store.value());
  app.sessions = std::make_unique<SessionStore>(std::move(sessions.value()));
  LocalState local = OpenLocalState(app, layout);
  app.cache = std::move(local.cache);
  app.inflight = std::move(local.inflight);
  app.limits = std::move(local.limits);
  const std::string path = app.store->path();
  app.state_health = [path] { return StateHealth{"lmdb", false, "", path}; };
  return Status::Ok();
}

// Several instances: Redis holds the sessions, the shared cache, the
// in-flight table and the limits; this machine's LMDB cache sits in front
// of Redis's, and its in-flight table and limits take over while Redis
// cannot be reached. An unreachable Redis never stops a worker from
// starting: it answers degraded and resumes sharing when Redis is back.
Status OpenRedisState(App& app, const StateLayout& layout) {
  Result<RedisOptions> options = ParseRedisUrl(app.settings.state_backend);
  if (!options.ok()) return Unavailable("store", "STATE_BACKEND: " + options.status().message());
  options->prefix = app.settings.state_prefix;
  options->command_timeout_ms = app.settings.redis_timeout_ms;
  options->connect_timeout_ms = std::min<int64_t>(app.settings.redis_timeout_ms, 250);
  auto link = std::make_shared<RedisLink>(*options);
  Metrics* metrics = app.metrics.get();  // outlives the link: App members are destroyed in reverse order
  link->SetObserver([metrics](bool ok, double seconds) { metrics->ObserveRedis(ok, seconds); });

  app.sessions = std::make_unique<RedisSessions>(link, layout.sessions);
  LocalState local = OpenLocalState(app, layout);
  if (local.cache) app.cache = std::make_unique<RedisCache>(link, std::move(local.cache), layout.cache.ttl_s * 1000);
  Result<std::unique_ptr<RedisInflight>> inflight = RedisInflight::Open(link, std::move(local.inflight));
  if (inflight.ok()) app.inflight = std::move(inflight.value());
  else LogError("inflight_unavailable", {{"reason", inflight.status().message()}});
  if (local.limits) {
    // A ticket or slot is held for one request at most: its lease outlasts
    // the longest request, and a dead instance's comes back after it.
    RedisLimitsOptions leases;
    leases.ticket_lease_ms = leases.slot_lease_ms = (app.settings.request_timeout_s + 30) * 1000;
    Result<std::unique_ptr<RedisLimits>> limits =
        RedisLimits::Open(link, std::move(local.limits), LimitOptionsOf(app.settings), leases);
    if (limits.ok()) app.limits = std::move(limits.value());
    else LogError("limits_unavailable", {{"reason", limits.status().message()}});
  }
  const std::string location = RedactRedisUrl(app.settings.state_backend);
  app.state_health = [link, location] {
    const RedisLinkStats stats = link->Stats();
    StateHealth health{"redis", !stats.up, "", location};
    if (!stats.up)
      health.reason = "Redis is unreachable (" + stats.last_error +
                      "): answering with this instance's own cache, coalescing and limits; conversations are "
                      "not read or saved until it is back";
    return health;
  };
  return Status::Ok();
}

}  // namespace

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

  const bool redis = app.settings.state_backend != "lmdb";
  if (Status s = redis ? OpenRedisState(app, layout) : OpenLmdbState(app, layout); !s.ok()) return s;
  Result<IntentClassifier> intents = IntentClassifier::Load(app.settings.intents_file);
  if (intents.ok()) app.intents = std::make_unique<IntentClassifier>(std::move(intents.value()));
  else LogError("intents_unavailable", {{"reason", intents.status().message()}});
  return OpenLlm(app);
}

Status OpenLlm(App& app) {
  const Settings& settings = app.settings;
  Result<std::string> prompt = LoadSystemPrompt(settings.prompt_file);
  if (!prompt.ok()) return prompt.status();
  app.system_prompt = std::move(prompt.value());
  app.prompt_version = PromptVersion(app.system_prompt);

  LlmClientOptions options;
  options.base_url = settings.llm_base_url;
  options.api_key = settings.openai_api_key;
  options.model = settings.llm_model;
  options.retries = static_cast<int>(settings.llm_retries);
  app.llm = std::make_unique<LlmClient>(options);

  const StateLayout layout = StateLayoutOf(app.config);
  const CircuitBreakerOptions& breaker = layout.breaker;
  // Shared by every worker process through a mapped file; a process that
  // cannot map it still works with a breaker of its own.
  Result<std::unique_ptr<CircuitBreaker>> shared = CircuitBreaker::Open(layout.breaker_path, breaker);
  if (shared.ok()) {
    app.breaker = std::move(shared.value());
  } else {
    LogWarn("breaker_not_shared", {{"reason", shared.status().message()}});
    app.breaker = CircuitBreaker::InMemory(breaker);
  }
  return Status::Ok();
}

}  // namespace folio
