// state_layout.h: where one folio instance keeps its state and how each piece
// must be opened, derived from its Config. LMDB requires every process opening
// an environment to use the same map size and sync mode, and the mapped files
// must be the same paths: the worker and folio-admin both take them from here,
// so they cannot drift apart. Plain values; stateless, safe from any thread.
// Nothing here touches the filesystem: the caller decides what may be created.
#pragma once

#include <cstdint>
#include <string>

#include "circuit_breaker.h"
#include "config.h"
#include "response_cache.h"
#include "sessions.h"
#include "store.h"

namespace folio {

// Scheduled backups of the session store (backup/backup_schedule.h).
struct BackupSchedule {
  std::string dir;           // BACKUP_DIR, or $DATA_DIR/backups
  int64_t every_s = 86400;   // BACKUP_EVERY_S: a backup is due when the newest is this old
  int keep = 0;              // BACKUP_KEEP: 0 turns scheduled backups off
  std::string lock_path;     // $RUN_DIR/backup.lock: one scheduled backup at a time
  std::string state_path;    // $RUN_DIR/backup-state.json: the last attempt's outcome
  bool enabled() const { return keep > 0; }
};

struct StateLayout {
  std::string data_dir;   // DATA_DIR, as configured (relative paths stay relative)
  std::string run_dir;    // RUN_DIR
  std::string index_dir;  // INDEX_DIR, or $DATA_DIR/index when unset

  // $DATA_DIR/lmdb: durable sessions, LMDB_MAP_MB, synced on every commit
  // (a committed turn survives a power loss).
  StoreOptions sessions_store;
  SessionOptions sessions;  // SESSION_MAX_MESSAGES, SESSION_MAX_KB, SESSION_TTL_S

  // $DATA_DIR/cache: rebuildable, no fsync (ResponseCache::Open sets that).
  // The worker opens no cache when CACHE_TTL_S is 0.
  bool cache_enabled = false;
  CacheOptions cache;

  // $DATA_DIR/inflight: the coalescing table; nothing in it outlives a
  // restart, so no fsync and a small fixed map.
  StoreOptions inflight_store;

  // Scheduled backups of the session store (BACKUP_*), made by the
  // workers' housekeeping; the lock and state files live in RUN_DIR.
  BackupSchedule backups;

  std::string metrics_path;       // $RUN_DIR/metrics.shm
  std::string breaker_path;       // $RUN_DIR/breaker.shm
  std::string limits_path;        // $RUN_DIR/limits.shm
  CircuitBreakerOptions breaker;  // BREAKER_*, trial lease = REQUEST_TIMEOUT_S
};

// REQUIRES: `config` came from a successful Config::Load (every value valid).
StateLayout StateLayoutOf(const Config& config);

}  // namespace folio
