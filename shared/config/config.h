// config.h: every setting folio reads, from environment variables, validated
// once at start. The table in config.cc (kConfigVars) is the single source
// of truth: it feeds validation, the masked start-up log, .env.example and
// docs. A Config is immutable after Load(); share it by const reference and
// read its typed settings().
#pragma once

#include <functional>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "status.h"

namespace folio {

enum class VarKind { kInt, kString, kBool, kEnum, kSecret };

// Every setting, typed, as Config::Load() validated it: one field per row of
// the table, named after its variable (CACHE_TTL_S is cache_ttl_s), so a
// misspelt setting fails to compile instead of reading 0. The table in
// config.cc says each one's default, bounds and effect.
struct Settings {
  // Network and layout (read by scripts/start and nginx's template too).
  long port = 0;
  long tls_port = 0;
  std::string listen_addr;
  std::string tls_cert;
  std::string tls_key;
  std::string data_dir;
  std::string log_dir;
  std::string run_dir;
  long state_retry_s = 0;
  // Knowledge base.
  std::string kb_dir;
  std::string index_dir;
  long index_poll_ms = 0;
  long max_retrieval_docs = 0;
  // Shared state (LMDB under DATA_DIR).
  long lmdb_map_mb = 0;
  long session_ttl_s = 0;
  long max_history_messages = 0;
  long session_max_messages = 0;
  long session_max_kb = 0;
  long session_sweep_s = 0;
  // Where the shared state lives.
  std::string state_backend;
  std::string state_prefix;
  long redis_timeout_ms = 0;
  // Scheduled backups of the session store.
  std::string backup_dir;
  long backup_every_s = 0;
  long backup_keep = 0;
  // Response cache ($DATA_DIR/cache, no fsync: rebuildable), coalescing, limits.
  long cache_ttl_s = 0;
  long cache_max_entries = 0;
  long cache_max_mb = 0;
  std::string intents_file;
  long client_rpm = 0;
  long client_expensive_rpm = 0;
  long client_sessions_per_min = 0;
  long client_max_concurrent = 0;
  long max_concurrent_llm = 0;
  // Process model.
  long workers = 0;
  long worker_threads = 0;
  long chat_threads = 0;
  long chat_queue = 0;
  long nginx_workers = 0;
  long drain_timeout_s = 0;
  long request_timeout_s = 0;
  // nginx limits.
  long rate_limit_rps = 0;
  long rate_limit_burst = 0;
  long conn_limit_per_ip = 0;
  long probe_rate_limit_rps = 0;
  long probe_rate_limit_burst = 0;
  long nginx_connections = 0;
  std::string trusted_proxies;
  // Access (worker/access.h): API keys, operator endpoints, browsers.
  std::string api_keys_file;
  std::string operator_access;
  std::string cors_origins;
  // The chat page and the widget (web/, served by nginx).
  std::string site_file;
  // Health.
  long memory_limit_mb = 0;
  long memory_warn_percent = 0;
  long scale_avg_response_s = 0;
  long scale_concurrency = 0;
  long scale_memory_mb = 0;
  long scale_error_rate_pct = 0;
  // Logs.
  std::string log_level;
  // The LLM: any OpenAI-compatible chat-completions API.
  std::string openai_api_key;
  std::string llm_base_url;
  std::string llm_model;
  long llm_retries = 0;
  long llm_daily_token_budget = 0;
  bool llm_required = false;
  long breaker_threshold = 0;
  long breaker_cooldown_s = 0;
  std::string embedding_base_url;
  std::string embedding_model;
  long llm_price_prompt_udollars_per_mtok = 0;
  long llm_price_completion_udollars_per_mtok = 0;
  // The prompt and its budgets (tokens, estimated: shared/token_estimate.h).
  std::string prompt_file;
  long max_tokens_context = 0;
  long max_tokens_history = 0;
  long max_tokens_response = 0;
};

// The field of Settings a row fills.
using SettingField = std::variant<long Settings::*, std::string Settings::*, bool Settings::*>;

// One environment variable folio knows.
struct ConfigVar {
  const char* name;
  VarKind kind;
  const char* default_value;  // "" = empty/unset
  long min = 0, max = 0;      // kInt only, inclusive
  const char* choices = "";   // kEnum only, '|'-separated
  const char* help = "";      // one line: what it does
  SettingField field;         // where Load() stores the value
};

// The table of every variable, in documentation order.
const std::vector<ConfigVar>& ConfigVars();

class Config {
 public:
  // Reads and validates every variable through `getenv` (defaults to
  // ::getenv). Returns the Config, or one problem per bad variable in
  // *problems (each naming the variable, the value given and what is
  // allowed) and a non-OK Status. Cross-field rules are checked too,
  // including the access settings: API_KEYS_FILE must load, OPERATOR_ACCESS
  // =operator needs an operator key in it, CORS_ORIGINS must parse.
  using EnvFn = std::function<const char*(const char*)>;
  static Result<Config> Load(std::vector<std::string>* problems, const EnvFn& getenv = nullptr);

  const Settings& settings() const { return settings_; }
  // One setting's value as text, read from its typed field (a bool is
  // "true" or "false"): for scripts that render templates from the table.
  std::string Text(const ConfigVar& var) const;

  // name → value with every secret masked ("sk-…abcd" shows only a length).
  std::map<std::string, std::string> Masked() const;

 private:
  std::map<std::string, std::string> values_;  // as given, for Masked()
  Settings settings_;
};

// "sk-abc...": "<set, 51 chars>"; "" → "<unset>". Never returns the secret.
std::string MaskSecret(const std::string& value);

// The table as Markdown, one row per variable in table order: name, default,
// allowed values, effect. A secret's default column is "—" (never a value).
// docs/OPERATIONS.md holds this between its env-table markers
// (`folio-worker --env-doc` prints it; a test keeps the two equal).
std::string ConfigMarkdownTable();

}  // namespace folio
