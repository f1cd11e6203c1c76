// config.cc: the variable table and its validation.
//
// Why defaults have the values they have:
//  - WORKERS=2 × WORKER_THREADS=4: a 512 MB, 0.5-1 vCPU instance. Two
//    processes so one crash or one slow GC-free restart never leaves the pool
//    empty; four accept threads each so probes and cache hits never wait
//    behind each other. Each process idles at a few MB (see README figures).
//  - RATE_LIMIT_*: nginx's per-IP first line; a person chatting sends far
//    fewer than 10 requests/s.
//  - DRAIN_TIMEOUT_S=10 < supervisord stopwaitsecs (DRAIN_TIMEOUT_S+5).
#include "config.h"

#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "api_keys.h"
#include "client_address.h"
#include "cors.h"
#include "redis_url.h"

namespace folio {

namespace {

const std::vector<ConfigVar> kConfigVars = {
    // Network and layout (read by scripts/start and nginx's template too).
    {"PORT", VarKind::kInt, "8080", 1, 65535, "", "plain HTTP port nginx listens on", &Settings::port},
    {"TLS_PORT", VarKind::kInt, "8443", 1, 65535, "", "HTTPS port nginx listens on", &Settings::tls_port},
    {"LISTEN_ADDR", VarKind::kString, "0.0.0.0", 0, 0, "", "address nginx binds (127.0.0.1 for local only)", &Settings::listen_addr},
    {"TLS_CERT", VarKind::kString, "", 0, 0, "", "PEM certificate; empty: a self-signed pair is made in DATA_DIR/tls", &Settings::tls_cert},
    {"TLS_KEY", VarKind::kString, "", 0, 0, "", "PEM private key for TLS_CERT", &Settings::tls_key},
    {"DATA_DIR", VarKind::kString, ".data", 0, 0, "", "LMDB environment, index, TLS pair", &Settings::data_dir},
    {"LOG_DIR", VarKind::kString, ".logs", 0, 0, "", "supervisord, nginx and worker logs", &Settings::log_dir},
    {"RUN_DIR", VarKind::kString, ".run", 0, 0, "", "sockets, pid files, rendered nginx config", &Settings::run_dir},
    {"STATE_RETRY_S", VarKind::kInt, "10", 1, 3600, "", "a worker that could not open DATA_DIR or its session store answers /ready 503 with the reason this long, then exits for supervisord to start one that retries", &Settings::state_retry_s},
    // Knowledge base.
    {"KB_DIR", VarKind::kString, "kb", 0, 0, "", "knowledge base folder scripts/start ingests when there is no index", &Settings::kb_dir},
    {"INDEX_DIR", VarKind::kString, "", 0, 0, "", "index directory written by folio-ingest; empty: $DATA_DIR/index", &Settings::index_dir},
    {"INDEX_POLL_MS", VarKind::kInt, "1000", 100, 600000, "", "how often workers look for a new index (hot swap)", &Settings::index_poll_ms},
    {"MAX_RETRIEVAL_DOCS", VarKind::kInt, "3", 1, 20, "", "retrieved chunks given to the LLM per question", &Settings::max_retrieval_docs},
    // Shared state (LMDB under DATA_DIR).
    {"LMDB_MAP_MB", VarKind::kInt, "256", 8, 65536, "", "size limit of the sessions LMDB environment ($DATA_DIR/lmdb); near it, the least recently used sessions are evicted", &Settings::lmdb_map_mb},
    {"SESSION_TTL_S", VarKind::kInt, "86400", 60, 31536000, "", "a session idle this long expires", &Settings::session_ttl_s},
    {"MAX_HISTORY_MESSAGES", VarKind::kInt, "5", 0, 100, "", "the prompt window: the last messages of a session offered to the LLM", &Settings::max_history_messages},
    {"SESSION_MAX_MESSAGES", VarKind::kInt, "100", 2, 10000, "", "messages of a session kept: the transcript GET /api/sessions/{id} returns (oldest dropped first)", &Settings::session_max_messages},
    {"SESSION_MAX_KB", VarKind::kInt, "64", 4, 4096, "", "bytes a session may hold (its oldest messages are dropped to fit): bounds what one client can store", &Settings::session_max_kb},
    {"SESSION_SWEEP_S", VarKind::kInt, "300", 5, 86400, "", "how often a worker deletes expired sessions", &Settings::session_sweep_s},
    // Where the shared state lives (docs/OPERATIONS.md, Several instances).
    {"STATE_BACKEND", VarKind::kSecret, "lmdb", 0, 0, "", "lmdb (the default): sessions, cache, in-flight table and limits on this machine (LMDB and shared memory); redis://[user:password@]host:port/db: in a Redis shared by several instances (plain TCP; a TLS-only Redis through a local stunnel)", &Settings::state_backend},
    {"STATE_PREFIX", VarKind::kString, "folio:", 0, 0, "", "prefix of every Redis key folio writes, so several sites can share one Redis", &Settings::state_prefix},
    {"REDIS_TIMEOUT_MS", VarKind::kInt, "500", 20, 10000, "", "deadline of one Redis call; past it, or while Redis is unreachable, answers use this instance's own state (health shows the store degraded)", &Settings::redis_timeout_ms},
    // Scheduled backups of the session store (docs/OPERATIONS.md, Backups).
    {"BACKUP_DIR", VarKind::kString, "", 0, 0, "", "where scheduled backups go, one folio-backup-<UTC time> directory each; empty: $DATA_DIR/backups (the store's own disk: ship copies off the instance too)", &Settings::backup_dir},
    {"BACKUP_EVERY_S", VarKind::kInt, "86400", 1, 31536000, "", "a scheduled backup is made when the newest one is this old", &Settings::backup_every_s},
    {"BACKUP_KEEP", VarKind::kInt, "0", 0, 1000, "", "scheduled backups kept, the newest (older ones deleted); 0: no scheduled backups", &Settings::backup_keep},
    // Response cache ($DATA_DIR/cache, no fsync: rebuildable), coalescing, limits.
    {"CACHE_TTL_S", VarKind::kInt, "1800", 0, 31536000, "", "a cached answer expires this long after it was stored; 0: no cache", &Settings::cache_ttl_s},
    {"CACHE_MAX_ENTRIES", VarKind::kInt, "10000", 1, 10000000, "", "cached answers kept (least recently used evicted)", &Settings::cache_max_entries},
    {"CACHE_MAX_MB", VarKind::kInt, "32", 1, 65536, "", "bytes of cached answers kept (least recently used evicted)", &Settings::cache_max_mb},
    {"INTENTS_FILE", VarKind::kString, "", 0, 0, "", "intent rules and canned replies (JSON); empty: config/intents.json built in", &Settings::intents_file},
    {"CLIENT_RPM", VarKind::kInt, "100", 0, 10000000, "", "requests per minute per client (API key, else IP); 0: unlimited", &Settings::client_rpm},
    {"CLIENT_EXPENSIVE_RPM", VarKind::kInt, "20", 0, 10000000, "", "LLM-calling requests per minute per client (cache hits are free)", &Settings::client_expensive_rpm},
    {"CLIENT_SESSIONS_PER_MIN", VarKind::kInt, "10", 0, 10000000, "", "new sessions per minute per client (chats without a session_id); 0: unlimited", &Settings::client_sessions_per_min},
    {"CLIENT_MAX_CONCURRENT", VarKind::kInt, "5", 0, 15, "", "concurrent requests per client per worker process; 0: unlimited", &Settings::client_max_concurrent},
    {"MAX_CONCURRENT_LLM", VarKind::kInt, "32", 1, 256, "", "upstream LLM calls in flight across all workers; beyond: 503 + Retry-After", &Settings::max_concurrent_llm},
    // Process model.
    {"WORKERS", VarKind::kInt, "2", 1, 64, "", "FastCGI worker processes", &Settings::workers},
    {"WORKER_THREADS", VarKind::kInt, "4", 1, 256, "", "accept threads per worker process", &Settings::worker_threads},
    {"CHAT_THREADS", VarKind::kInt, "16", 1, 1024, "", "threads per worker process for requests that wait on the LLM", &Settings::chat_threads},
    {"CHAT_QUEUE", VarKind::kInt, "32", 0, 100000, "", "requests per worker process that may wait for a chat thread before 503", &Settings::chat_queue},
    {"NGINX_WORKERS", VarKind::kInt, "1", 1, 64, "", "nginx worker processes", &Settings::nginx_workers},
    {"DRAIN_TIMEOUT_S", VarKind::kInt, "10", 1, 300, "", "seconds in-flight requests get to finish on SIGTERM", &Settings::drain_timeout_s},
    {"REQUEST_TIMEOUT_S", VarKind::kInt, "30", 1, 600, "", "whole-request deadline, counted from arrival", &Settings::request_timeout_s},
    // nginx limits.
    {"RATE_LIMIT_RPS", VarKind::kInt, "10", 1, 1000000, "", "per-client requests/s on /api/ and /v1/ (nginx limit_req; a client is an address, an IPv6 /64)", &Settings::rate_limit_rps},
    {"RATE_LIMIT_BURST", VarKind::kInt, "20", 1, 1000000, "", "per-client burst above RATE_LIMIT_RPS", &Settings::rate_limit_burst},
    {"CONN_LIMIT_PER_IP", VarKind::kInt, "32", 1, 65535, "", "requests in progress at once per client address (IPv6: per /64), on every path (nginx limit_conn)", &Settings::conn_limit_per_ip},
    {"PROBE_RATE_LIMIT_RPS", VarKind::kInt, "20", 1, 1000000, "", "per-client requests/s on /ping and /ready (generous: health checks and crons send a few a minute)", &Settings::probe_rate_limit_rps},
    {"PROBE_RATE_LIMIT_BURST", VarKind::kInt, "100", 1, 1000000, "", "per-client burst above PROBE_RATE_LIMIT_RPS", &Settings::probe_rate_limit_burst},
    {"NGINX_CONNECTIONS", VarKind::kInt, "8192", 256, 1000000, "", "connections per nginx worker (≈ 1 KB each when idle); the open-file limit is raised to match, within the hard limit", &Settings::nginx_connections},
    {"TRUSTED_PROXIES", VarKind::kString, "", 0, 0, "", "comma-separated CIDRs of the proxies in front of nginx (a platform's edge, a load balancer) whose X-Forwarded-For names the client; empty: trust no one, the header changes nothing", &Settings::trusted_proxies},
    // Access (worker/access.h): API keys, operator endpoints, browsers.
    {"API_KEYS_FILE", VarKind::kString, "", 0, 0, "", "hashes of the keys allowed to call /api/* and /v1/*, one `sha256:<hex> [operator]` a line (`folio-worker --hash-key` makes one); reloaded when it changes; empty: no key needed", &Settings::api_keys_file},
    {"OPERATOR_ACCESS", VarKind::kEnum, "auto", 0, 0, "auto|open|loopback|operator", "who may read /metrics, /api/cache/stats, /api/health/scaling, /api/health's details and /ready's reason (others get the status only): auto = operator when API_KEYS_FILE is set, else loopback (behind a proxy on the same host, loopback is every visitor: use operator); /ping and /ready stay open", &Settings::operator_access},
    {"CORS_ORIGINS", VarKind::kString, "", 0, 0, "", "browser origins allowed to call the API, comma-separated `https://host[:port]`; empty: no CORS headers", &Settings::cors_origins},
    // The chat page and the widget (web/, served by nginx).
    {"SITE_FILE", VarKind::kString, "config/site.json", 0, 0, "", "the page's and widget's settings: assistant name, greeting, suggested questions, accent colour, privacy note (JSON; docs/OPERATIONS.md); relative paths from the folio directory; read at start", &Settings::site_file},
    // Health.
    {"MEMORY_LIMIT_MB", VarKind::kInt, "512", 32, 1048576, "", "instance memory the health check compares against", &Settings::memory_limit_mb},
    {"MEMORY_WARN_PERCENT", VarKind::kInt, "80", 10, 100, "", "health turns degraded above this share of MEMORY_LIMIT_MB", &Settings::memory_warn_percent},
    {"SCALE_AVG_RESPONSE_S", VarKind::kInt, "8", 0, 3600, "", "scaling advice: average response time (5 min) that triggers", &Settings::scale_avg_response_s},
    {"SCALE_CONCURRENCY", VarKind::kInt, "10", 0, 100000, "", "scaling advice: concurrent requests that trigger", &Settings::scale_concurrency},
    {"SCALE_MEMORY_MB", VarKind::kInt, "400", 0, 1048576, "", "scaling advice: memory in use that triggers", &Settings::scale_memory_mb},
    {"SCALE_ERROR_RATE_PCT", VarKind::kInt, "5", 0, 100, "", "scaling advice: 5xx share (5 min) that triggers", &Settings::scale_error_rate_pct},
    // Logs.
    {"LOG_LEVEL", VarKind::kEnum, "info", 0, 0, "trace|debug|info|warn|error", "worker log level", &Settings::log_level},
    // The LLM: any OpenAI-compatible chat-completions API.
    {"OPENAI_API_KEY", VarKind::kSecret, "", 0, 0, "", "key for the OpenAI-compatible API; empty: degraded answers from the KB", &Settings::openai_api_key},
    {"LLM_BASE_URL", VarKind::kString, "https://api.openai.com/v1", 0, 0, "", "OpenAI-compatible API base, up to /v1", &Settings::llm_base_url},
    {"LLM_MODEL", VarKind::kString, "gpt-4o-mini", 0, 0, "", "chat model name sent upstream", &Settings::llm_model},
    {"LLM_RETRIES", VarKind::kInt, "2", 0, 10, "", "extra attempts on connection errors, timeouts, 429 and 5xx", &Settings::llm_retries},
    {"LLM_DAILY_TOKEN_BUDGET", VarKind::kInt, "0", 0, 1000000000000, "", "LLM tokens (prompt + completion, as the provider counts them) all workers may spend per UTC day; once spent, answers come from the knowledge base, marked degraded, until midnight; 0: no budget", &Settings::llm_daily_token_budget},
    {"LLM_REQUIRED", VarKind::kBool, "false", 0, 0, "", "true: a missing OPENAI_API_KEY stops start-up", &Settings::llm_required},
    {"BREAKER_THRESHOLD", VarKind::kInt, "5", 1, 1000, "", "consecutive upstream failures that open the circuit breaker", &Settings::breaker_threshold},
    {"BREAKER_COOLDOWN_S", VarKind::kInt, "30", 1, 3600, "", "seconds the breaker stays open before one trial call", &Settings::breaker_cooldown_s},
    {"EMBEDDING_BASE_URL", VarKind::kString, "", 0, 0, "", "embeddings API for --embedder openai; empty: LLM_BASE_URL", &Settings::embedding_base_url},
    {"EMBEDDING_MODEL", VarKind::kString, "text-embedding-3-small", 0, 0, "", "embedding model for --embedder openai", &Settings::embedding_model},
    {"LLM_PRICE_PROMPT_UDOLLARS_PER_MTOK", VarKind::kInt, "150000", 0, 1000000000, "", "price of a million prompt tokens, micro-dollars (for the cost metric)", &Settings::llm_price_prompt_udollars_per_mtok},
    {"LLM_PRICE_COMPLETION_UDOLLARS_PER_MTOK", VarKind::kInt, "600000", 0, 1000000000, "", "price of a million completion tokens, micro-dollars", &Settings::llm_price_completion_udollars_per_mtok},
    // The prompt and its budgets (tokens, estimated: shared/token_estimate.h).
    {"PROMPT_FILE", VarKind::kString, "", 0, 0, "", "system prompt file; empty: the built-in prompt", &Settings::prompt_file},
    {"MAX_TOKENS_CONTEXT", VarKind::kInt, "2000", 50, 100000, "", "budget for retrieved passages in the prompt", &Settings::max_tokens_context},
    {"MAX_TOKENS_HISTORY", VarKind::kInt, "500", 0, 100000, "", "budget for earlier turns in the prompt", &Settings::max_tokens_history},
    {"MAX_TOKENS_RESPONSE", VarKind::kInt, "600", 16, 32000, "", "max_tokens asked of the LLM", &Settings::max_tokens_response},
};

bool ParseLong(const std::string& s, long* out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

bool ParseBool(const std::string& s, bool* out) {
  if (s == "1" || s == "true" || s == "yes" || s == "on") return *out = true, true;
  if (s == "0" || s == "false" || s == "no" || s == "off") return *out = false, true;
  return false;
}

bool InChoices(const std::string& s, const std::string& choices) {
  std::stringstream ss(choices);
  std::string c;
  while (std::getline(ss, c, '|'))
    if (c == s) return true;
  return false;
}

// A bounded, printable excerpt of a bad value for the problem line.
std::string Shown(const std::string& v) {
  std::string out;
  for (char c : v.substr(0, 40)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (v.size() > 40) out += "...";
  return "\"" + out + "\"";
}

const ConfigVar* Find(const std::string& name) {
  for (const auto& v : kConfigVars)
    if (name == v.name) return &v;
  return nullptr;
}

// Stores a value that passed validation in the field its row names. (A
// value that failed leaves the field's zero: Load() returns no Config then.)
void Assign(const ConfigVar& var, const std::string& value, Settings* settings) {
  if (auto* field = std::get_if<long Settings::*>(&var.field)) {
    long n = 0;
    ParseLong(value, &n);
    settings->*(*field) = n;
  } else if (auto* field = std::get_if<bool Settings::*>(&var.field)) {
    bool b = false;
    ParseBool(value, &b);
    settings->*(*field) = b;
  } else if (auto* field = std::get_if<std::string Settings::*>(&var.field)) {
    settings->*(*field) = value;
  }
}

// API_KEYS_FILE must load now (a start-up refused beats a worker that
// turns every client away), OPERATOR_ACCESS=operator needs an operator key,
// and every CORS origin must be one a browser could send.
void CheckAccessSettings(const Settings& settings, std::vector<std::string>* problems) {
  const std::string& keys_file = settings.api_keys_file;
  size_t operators = 0;
  if (!keys_file.empty()) {
    Result<std::vector<ApiKeyEntry>> keys = ReadApiKeysFile(keys_file);
    if (!keys.ok()) problems->push_back("API_KEYS_FILE: " + keys.status().message());
    else
      for (const ApiKeyEntry& e : *keys) operators += e.role == KeyRole::kOperator;
    if (keys.ok() && operators == 0 && settings.operator_access == "operator")
      problems->push_back("OPERATOR_ACCESS: \"operator\" needs a key marked operator in API_KEYS_FILE " + keys_file);
  } else if (settings.operator_access == "operator") {
    problems->push_back("OPERATOR_ACCESS: \"operator\" needs API_KEYS_FILE with a key marked operator");
  }
  Result<CorsPolicy> cors = CorsPolicy::Parse(settings.cors_origins);
  if (!cors.ok()) problems->push_back("CORS_ORIGINS: " + cors.status().message());
  Result<std::vector<std::string>> proxies = ParseCidrList(settings.trusted_proxies);
  if (!proxies.ok()) problems->push_back("TRUSTED_PROXIES: " + proxies.status().message());
}

// STATE_BACKEND is "lmdb" or a Redis URL that parses (the message never
// repeats a password); STATE_PREFIX keeps to printable ASCII without spaces
// so keys stay legible in redis-cli.
void CheckStateSettings(const Settings& settings, std::vector<std::string>* problems) {
  if (settings.state_backend != "lmdb") {
    Result<RedisOptions> redis = ParseRedisUrl(settings.state_backend);
    if (!redis.ok()) problems->push_back("STATE_BACKEND: " + redis.status().message());
  }
  bool printable = settings.state_prefix.size() <= 64;
  for (char c : settings.state_prefix) printable = printable && c > 0x20 && c < 0x7f;
  if (!printable)
    problems->push_back("STATE_PREFIX: got " + Shown(settings.state_prefix) +
                        ", want at most 64 printable ASCII characters without spaces");
}

}  // namespace

const std::vector<ConfigVar>& ConfigVars() { return kConfigVars; }

Result<Config> Config::Load(std::vector<std::string>* problems, const EnvFn& getenv_fn) {
  EnvFn env = getenv_fn ? getenv_fn : [](const char* n) -> const char* { return std::getenv(n); };
  Config config;
  size_t before = problems->size();
  for (const auto& var : kConfigVars) {
    const char* raw = env(var.name);
    std::string value = raw && *raw ? raw : var.default_value;
    switch (var.kind) {
      case VarKind::kInt: {
        long n;
        if (!ParseLong(value, &n) || n < var.min || n > var.max)
          problems->push_back(std::string(var.name) + ": got " + Shown(value) + ", want an integer in " +
                              std::to_string(var.min) + ".." + std::to_string(var.max));
        break;
      }
      case VarKind::kBool: {
        bool b;
        if (!ParseBool(value, &b))
          problems->push_back(std::string(var.name) + ": got " + Shown(value) + ", want true or false");
        break;
      }
      case VarKind::kEnum:
        if (!InChoices(value, var.choices))
          problems->push_back(std::string(var.name) + ": got " + Shown(value) + ", want one of " + var.choices);
        break;
      case VarKind::kString:
      case VarKind::kSecret:
        if (value.find('\n') != std::string::npos || value.find('\0') != std::string::npos)
          problems->push_back(std::string(var.name) + ": contains a newline");
        break;
    }
    config.values_[var.name] = value;
    Assign(var, value, &config.settings_);
  }
  // Cross-field rules.
  if (config.settings_.llm_required && config.settings_.openai_api_key.empty())
    problems->push_back("OPENAI_API_KEY: required because LLM_REQUIRED=true, got nothing");
  CheckAccessSettings(config.settings_, problems);
  CheckStateSettings(config.settings_, problems);
  if (problems->size() != before)
    return InvalidArgument("invalid_config", std::to_string(problems->size() - before) + " invalid setting(s)");
  return config;
}

std::string Config::Text(const ConfigVar& var) const {
  if (auto* field = std::get_if<long Settings::*>(&var.field)) return std::to_string(settings_.*(*field));
  if (auto* field = std::get_if<bool Settings::*>(&var.field)) return settings_.*(*field) ? "true" : "false";
  return settings_.*std::get<std::string Settings::*>(var.field);
}

std::map<std::string, std::string> Config::Masked() const {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : values_) {
    const ConfigVar* var = Find(name);
    out[name] = var && var->kind == VarKind::kSecret ? MaskSecret(value) : value;
  }
  return out;
}

std::string MaskSecret(const std::string& value) {
  if (value.empty()) return "<unset>";
  return "<set, " + std::to_string(value.size()) + " chars>";
}

namespace {

// A table cell: a '|' would end the cell early, a newline the row.
std::string Cell(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : c == '\n' ? std::string(" ") : std::string(1, c);
  return out;
}

std::string AllowedCell(const ConfigVar& var) {
  switch (var.kind) {
    case VarKind::kInt: return std::to_string(var.min) + ".." + std::to_string(var.max);
    case VarKind::kBool: return "true, false";
    case VarKind::kSecret: return "secret: never logged";
    case VarKind::kString: return "text";
    case VarKind::kEnum: {
      std::string out;
      for (char c : std::string(var.choices)) out += c == '|' ? std::string(", ") : std::string(1, c);
      return out;
    }
  }
  return "";
}

}  // namespace

std::string ConfigMarkdownTable() {
  std::string out = "| variable | default | allowed | effect |\n| --- | --- | --- | --- |\n";
  for (const auto& var : kConfigVars) {
    std::string def = var.kind == VarKind::kSecret ? "\xE2\x80\x94"  // an em dash: a secret has no default to show
                      : *var.default_value == '\0' ? "*(empty)*"
                                                   : "`" + Cell(var.default_value) + "`";
    out += "| `" + std::string(var.name) + "` | " + def + " | " + AllowedCell(var) + " | " + Cell(var.help) + " |\n";
  }
  return out;
}

}  // namespace folio
