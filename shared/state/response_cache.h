// response_cache.h: finished chat answers, kept in their own LMDB environment
// ($DATA_DIR/cache, CommitSync::kOnRequest: rebuildable, so commits skip fsync)
// under a key that names everything the answer depends on; LRU-evicted within
// entry and byte bounds, expiring ttl_s after creation. One ResponseCache per
// process, opened after fork(); safe from any thread of any process sharing the
// path. Returned answers are copies. Record format and design: response_cache.cc.
// The key (cache_key.h) and the record (cache_record.h) are their own files.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cache_key.h"
#include "cache_record.h"
#include "state_backend.h"
#include "status.h"
#include "store.h"

namespace folio {

// The database names of the cache environment (with store_format.h's
// "meta", which holds the environment's format marker).
inline constexpr char kCacheEntriesDb[] = "entries";
inline constexpr char kCacheLruDb[] = "lru";
inline constexpr char kCacheStatsDb[] = "stats";

// Payloads over this are refused: an answer is a few KiB, and the record is
// rewritten under the cross-process writer lock.
inline constexpr size_t kMaxCachePayloadBytes = 256 * 1024;

struct CacheOptions {
  std::string path;               // $DATA_DIR/cache; its own environment, never the sessions one
  size_t map_size_mb = 128;       // the environment's size limit; keep it ≥ 2 × max_bytes (LMDB pages,
                                  // the LRU index and copy-on-write need room beyond the records)
  int64_t ttl_s = 1800;           // an entry expires this long after its Put, read or not
  uint64_t max_entries = 10000;   // LRU eviction keeps at most this many entries …
  uint64_t max_bytes = 32 << 20;  // … and at most this many charged bytes (CACHE_MAX_MB)
  // A hit rewrites last_access (a write transaction) only if the stored one is
  // at least this old, so a hot key costs one write per interval, not per hit.
  // LRU order is therefore exact only to this granularity.
  int64_t touch_interval_ms = 1000;
  // Hit/miss/coalesced/upstream_saved counts of this process are folded into
  // the shared totals by the next write transaction, or by a small one of their
  // own once they are this old.
  int64_t stats_flush_interval_ms = 5000;
};


// How the cache environment is opened (path, map size, databases, no
// fsync), for a process that reads it as a plain Store: every process must
// open it alike.
StoreOptions CacheStoreOptions(const CacheOptions& options);

class ResponseCache : public CacheBackend {
 public:
  // Opens (creating if needed) the environment at options.path. InvalidArgument
  // for bad options; Unavailable("store_too_new") when a newer folio wrote
  // it (store_format.h); Store::Open's errors otherwise.
  static Result<std::unique_ptr<ResponseCache>> Open(const CacheOptions& options);
  // Folds this process's pending counts into the totals (best effort).
  ~ResponseCache();
  ResponseCache(const ResponseCache&) = delete;
  ResponseCache& operator=(const ResponseCache&) = delete;

  // `now_ms` is unix milliseconds everywhere (tests inject it).
  // A hit: one read transaction, plus a write only to touch last_access (see
  // touch_interval_ms) or to flush counts. An expired entry counts an
  // expiration and a miss and is deleted; a corrupt one is deleted and logged.
  // Unavailable("cache_disabled") when disabled: callers treat every error as
  // a miss.
  Result<std::optional<CachedAnswer>> Get(std::string_view key, int64_t now_ms) override;
  // Stores `payload` (opaque bytes: the caller decides what is cacheable and
  // how it is encoded) under `key`, replacing any entry, and evicts least
  // recently used entries until both bounds hold — all in one write
  // transaction. If the map is full: evicts a quarter of the entries, retries
  // once, and if still full disables the cache and returns
  // Unavailable("cache_disabled"). InvalidArgument("cache_bad_entry") for a key
  // that is empty or over 400 bytes, or a payload over kMaxCachePayloadBytes
  // or max_bytes.
  Status Put(std::string_view key, std::string_view payload, int64_t now_ms) override;
  // Put, expiring at `expires_ms` (never later than ttl_s from now): a local
  // copy of an entry another instance stored lives no longer than the original.
  Status PutUntil(std::string_view key, std::string_view payload, int64_t now_ms, int64_t expires_ms);
  // Frees reader slots of processes that died inside a read transaction of
  // this environment (Store::ClearStaleReaders). Returns how many.
  Result<int> ClearStaleReaders() override { return store_->ClearStaleReaders(); }
  // Deletes up to `max_batch` expired or corrupt entries (and LRU index keys
  // whose entry is gone) in one write transaction; returns how many entries it
  // deleted. Call it periodically; call again while it returns max_batch.
  // A cache that disabled itself on a full map is enabled again here once
  // the map has room (deletions by any process: expiry, eviction, a clear).
  Result<int> PurgeExpired(int64_t now_ms, int max_batch) override;
  // Deletes every entry, in batches, keeping the counters; re-enables a
  // disabled cache.
  Status Clear() override;
  CacheStats Stats() const override;
  // Requests answered by joining an identical request in flight (inflight.h).
  void CountCoalesced(uint64_t n) override { pending_coalesced_ += n; }
  // Upstream (LLM) calls avoided: hits plus coalesced joins, as the caller counts them.
  void CountUpstreamSaved(uint64_t n) override { pending_upstream_saved_ += n; }
  // A miss of this cache that another one answered (the shared cache in
  // front of which this is the local copy): counted as a hit instead.
  void CountMissAnsweredElsewhere(uint64_t n) { pending_answered_elsewhere_ += n; }
  // Folds this process's pending counts into the shared totals now.
  Status Flush() override;

 private:
  struct Totals;
  struct Removed;
  struct Histogram;
  ResponseCache(std::unique_ptr<Store> store, Db entries, Db lru, Db stats, const CacheOptions& options,
                std::shared_ptr<Histogram> txn_us);
  // One write transaction that reads the totals, folds in this process's
  // pending counts, lets fn change both, and writes the totals back.
  Status WriteWithTotals(const std::function<Status(WriteTxn&, Totals&)>& fn);
  // A write transaction that only deletes, so that it commits even on a full
  // map (store.h: deletes may use the reserve); what fn removed reaches the
  // totals through the pending counts.
  Status DeleteOnly(const std::function<Status(WriteTxn&, Removed*)>& fn);
  Status PutOnce(std::string_view key, const std::string& record, int64_t now_ms);
  Status EvictOldest(uint64_t count);
  Status RemoveIfStale(std::string_view key, int64_t now_ms);
  Status Touch(std::string_view key, int64_t now_ms);
  bool HasPending() const;
  void MaybeFlush(int64_t now_ms);
  void Disable(const std::string& reason);
  void EnableIfRoom();  // undoes Disable once the map has room again
  Status DisabledStatus() const;

  std::unique_ptr<Store> store_;
  Db entries_, lru_, stats_;
  CacheOptions options_;
  // Counts of this process not yet in the shared totals, and what its deleting
  // transactions removed from the entries/bytes gauges.
  std::atomic<uint64_t> pending_hits_{0}, pending_misses_{0}, pending_coalesced_{0}, pending_upstream_saved_{0},
      pending_evictions_{0}, pending_expirations_{0}, pending_answered_elsewhere_{0}, pending_entries_removed_{0}, pending_bytes_removed_{0};
  std::atomic<int64_t> last_flush_ms_{0};  // now_ms of the last MaybeFlush that wrote
  std::atomic<bool> disabled_{false};
  std::atomic<bool> warned_full_{false};
  mutable std::mutex mu_;  // guards disabled_reason_
  std::string disabled_reason_;
  std::unique_ptr<Histogram> put_us_;
  std::shared_ptr<Histogram> txn_us_;  // shared with the Store's write observer
};

}  // namespace folio
