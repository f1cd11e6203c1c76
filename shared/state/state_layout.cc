// state_layout.cc: the Config → paths and open options mapping (see the header).
#include "state_layout.h"

#include <algorithm>

#include "inflight.h"

namespace folio {

StateLayout StateLayoutOf(const Config& config) {
  const Settings& settings = config.settings();
  StateLayout l;
  l.data_dir = settings.data_dir;
  l.run_dir = settings.run_dir;
  l.index_dir = settings.index_dir.empty() ? l.data_dir + "/index" : settings.index_dir;

  l.sessions_store.path = l.data_dir + "/lmdb";
  l.sessions_store.map_size_mb = static_cast<size_t>(settings.lmdb_map_mb);
  l.sessions_store.databases = SessionDatabases();
  l.sessions_store.commit_sync = CommitSync::kEveryCommit;
  l.sessions.max_messages = static_cast<size_t>(settings.session_max_messages);
  l.sessions.max_record_bytes = static_cast<size_t>(settings.session_max_kb) << 10;
  l.sessions.ttl_s = settings.session_ttl_s;

  l.cache_enabled = settings.cache_ttl_s > 0;
  l.cache.path = l.data_dir + "/cache";
  l.cache.ttl_s = settings.cache_ttl_s;
  l.cache.max_entries = static_cast<uint64_t>(settings.cache_max_entries);
  l.cache.max_bytes = static_cast<uint64_t>(settings.cache_max_mb) << 20;
  // Three times the records' bound (CacheOptions asks for at least two: pages,
  // the LRU index and copy-on-write need room beyond the records), never
  // below 64 MB so a tiny bound still leaves room to evict.
  l.cache.map_size_mb = static_cast<size_t>(std::max<long>(64, 3 * settings.cache_max_mb));

  l.inflight_store.path = l.data_dir + "/inflight";
  l.inflight_store.map_size_mb = 64;
  l.inflight_store.databases = {kInflightDb};
  l.inflight_store.commit_sync = CommitSync::kOnRequest;

  l.backups.dir = settings.backup_dir.empty() ? l.data_dir + "/backups" : settings.backup_dir;
  l.backups.every_s = settings.backup_every_s;
  l.backups.keep = static_cast<int>(settings.backup_keep);
  l.backups.lock_path = l.run_dir + "/backup.lock";
  l.backups.state_path = l.run_dir + "/backup-state.json";

  l.metrics_path = l.run_dir + "/metrics.shm";
  l.breaker_path = l.run_dir + "/breaker.shm";
  l.limits_path = l.run_dir + "/limits.shm";
  l.breaker.failure_threshold = static_cast<int>(settings.breaker_threshold);
  l.breaker.cooldown = std::chrono::seconds(settings.breaker_cooldown_s);
  l.breaker.trial_lease = std::chrono::seconds(settings.request_timeout_s);
  return l;
}

}  // namespace folio
