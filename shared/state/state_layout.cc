// state_layout.cc: the Config → paths and open options mapping (see the header).
#include "state_layout.h"

#include <algorithm>

#include "inflight.h"

namespace folio {

StateLayout StateLayoutOf(const Config& config) {
  StateLayout l;
  l.data_dir = config.Str("DATA_DIR");
  l.run_dir = config.Str("RUN_DIR");
  l.index_dir = config.Str("INDEX_DIR").empty() ? l.data_dir + "/index" : config.Str("INDEX_DIR");

  l.sessions_store.path = l.data_dir + "/lmdb";
  l.sessions_store.map_size_mb = static_cast<size_t>(config.Int("LMDB_MAP_MB"));
  l.sessions_store.databases = SessionDatabases();
  l.sessions_store.commit_sync = CommitSync::kEveryCommit;
  l.sessions.max_messages = static_cast<size_t>(config.Int("SESSION_MAX_MESSAGES"));
  l.sessions.max_record_bytes = static_cast<size_t>(config.Int("SESSION_MAX_KB")) << 10;
  l.sessions.ttl_s = config.Int("SESSION_TTL_S");

  l.cache_enabled = config.Int("CACHE_TTL_S") > 0;
  l.cache.path = l.data_dir + "/cache";
  l.cache.ttl_s = config.Int("CACHE_TTL_S");
  l.cache.max_entries = static_cast<uint64_t>(config.Int("CACHE_MAX_ENTRIES"));
  l.cache.max_bytes = static_cast<uint64_t>(config.Int("CACHE_MAX_MB")) << 20;
  // Three times the records' bound (CacheOptions asks for at least two: pages,
  // the LRU index and copy-on-write need room beyond the records), never
  // below 64 MB so a tiny bound still leaves room to evict.
  l.cache.map_size_mb = static_cast<size_t>(std::max<long>(64, 3 * config.Int("CACHE_MAX_MB")));

  l.inflight_store.path = l.data_dir + "/inflight";
  l.inflight_store.map_size_mb = 64;
  l.inflight_store.databases = {kInflightDb};
  l.inflight_store.commit_sync = CommitSync::kOnRequest;

  l.metrics_path = l.run_dir + "/metrics.shm";
  l.breaker_path = l.run_dir + "/breaker.shm";
  l.limits_path = l.run_dir + "/limits.shm";
  l.breaker.failure_threshold = static_cast<int>(config.Int("BREAKER_THRESHOLD"));
  l.breaker.cooldown = std::chrono::seconds(config.Int("BREAKER_COOLDOWN_S"));
  l.breaker.trial_lease = std::chrono::seconds(config.Int("REQUEST_TIMEOUT_S"));
  return l;
}

}  // namespace folio
