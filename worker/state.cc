// state.cc: opening the process's state: the data directory, the LMDB
// environments, the shared-memory files, the intents and the LLM side.
#include "state.h"

#include <unistd.h>

#include <filesystem>

#include "log.h"

namespace folio {

// Cache, in-flight table, limits, intents: each optional. A failure is
// logged (and shown by /api/health) but never stops the worker.
void OpenSharedState(App& app) {
  const Settings& settings = app.settings;
  const StateLayout layout = StateLayoutOf(app.config);
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
  limits.client_rpm = static_cast<int>(settings.client_rpm);
  limits.client_expensive_rpm = static_cast<int>(settings.client_expensive_rpm);
  limits.client_max_concurrent = static_cast<int>(settings.client_max_concurrent);
  limits.max_concurrent_llm = static_cast<int>(settings.max_concurrent_llm);
  limits.client_sessions_per_min = static_cast<int>(settings.client_sessions_per_min);
  limits.daily_token_budget = settings.llm_daily_token_budget;
  Result<std::unique_ptr<ClientLimits>> opened_limits = ClientLimits::Open(layout.limits_path, limits);
  if (opened_limits.ok()) app.limits = std::move(opened_limits.value());
  else LogError("limits_unavailable", {{"reason", opened_limits.status().message()}});
  Result<IntentClassifier> intents = IntentClassifier::Load(settings.intents_file);
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
  // A store a newer folio wrote stays refused however often a worker
  // retries: its reason goes to /ready as it is (main.cc then waits).
  if (!sessions.ok() && sessions.status().error() == "store_too_new") return sessions.status();
  if (!sessions.ok()) return Unavailable("store", "session store: " + sessions.status().message());
  app.store = std::move(store.value());
  app.sessions = std::make_unique<SessionStore>(std::move(sessions.value()));
  OpenSharedState(app);
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
