// response_cache.cc: the LRU, bounds and shared counts of the response cache.
//
// Four databases in the cache's own environment:
//   entries: cache key → record (cache_record.h).
//   lru: u64 big-endian last_access_ms + cache key → "" — key order is LRU order,
//     so eviction reads the oldest keys first. An index key whose entry is gone
//     or names another last_access is an orphan, skipped and removed on sight.
//   stats: "totals" → u64 LE × 8 (see Totals); one record, so one get and one
//     put per write transaction. entries/bytes are gauges kept in step with
//     the databases by every transaction that changes them.
//   meta: the environment's format marker (store_format.h), which versions
//     the two records above that carry no version byte of their own.
//
// Cheap reads, rare writes. A hit is one read transaction; it writes only to
// touch last_access (once per touch_interval_ms per key) or to fold this
// process's hit/miss counts into the totals, which every write transaction
// does in passing and a small one does when they are stats_flush_interval_ms
// old. Counts waiting in a process are lost if it is killed: they are metrics.
//
// Full map. Put evicts by bounds (entries, bytes) that are smaller than the map
// in a sane setup, so LMDB's "store_full" means the bounds are too large for
// map_size_mb. Then Put evicts a quarter of the entries in batches of
// kFullEvictBatch (deletes on a full map must stay small, see store.h) and
// retries once; if that fails too the process disables its cache rather than
// pay a failing write on every answer. Nothing here ever aborts the caller.
#include "response_cache.h"

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <climits>
#include <cstring>
#include <vector>

#include "coding.h"
#include "log.h"
#include "store_format.h"

namespace folio {
namespace {

constexpr size_t kMaxKeyBytes = 400;        // + 8-byte LRU prefix stays under LMDB's 511
constexpr size_t kMaxEvictPerPut = 1000;    // bounds one Put's transaction after a bounds decrease
constexpr uint64_t kFullEvictBatch = 32;    // deletions per transaction on a full map
constexpr size_t kClearBatch = 64;
constexpr char kTotalsKey[] = "totals";

// What an entry counts against max_bytes: its key, record and LRU index key.
uint64_t Charge(size_t key_bytes, size_t record_bytes) { return key_bytes + record_bytes + 8 + key_bytes; }

// What an LRU index key leads to.
struct Victim {
  enum Kind { kLive, kExpired, kCorrupt, kOrphanIndex } kind = kOrphanIndex;
  std::string lru_key;
  std::string key;      // the cache key (empty for a malformed index key)
  uint64_t charge = 0;  // of the entry; 0 for kOrphanIndex, whose entry stays or is gone
};

// Classifies `lru_key` in `txn`. kOrphanIndex: no entry, or the entry names
// another last_access (its own index key is elsewhere). A record whose header
// is unreadable is kCorrupt and goes with its index key.
Result<Victim> Inspect(const ReadTxn& txn, Db entries, std::string_view lru_key, int64_t now_ms) {
  Victim v;
  v.lru_key.assign(lru_key);
  if (lru_key.size() <= 8) return v;
  v.key.assign(lru_key.substr(8));
  Result<std::optional<std::string_view>> rec = txn.Get(entries, v.key);
  if (!rec.ok()) return rec.status();
  if (!rec->has_value()) return v;
  const std::string_view bytes = **rec;
  const std::optional<int64_t> last_access = PeekCacheLastAccess(bytes);
  if (last_access && *last_access != CacheIndexTime(lru_key)) return v;
  v.charge = Charge(v.key.size(), bytes.size());
  v.kind = !last_access ? Victim::kCorrupt : (*PeekCacheExpires(bytes) <= now_ms ? Victim::kExpired : Victim::kLive);
  return v;
}

// The oldest index keys, inspected, in LRU order, while take() returns true.
// `keep` (a cache key) is passed over.
Status ScanOldest(const ReadTxn& txn, Db entries, Db lru, std::string_view keep, int64_t now_ms,
                  const std::function<bool(Victim&&)>& take) {
  Status inner;
  Status s = txn.ForEach(lru, "", [&](std::string_view lru_key, std::string_view) {
    if (lru_key.size() > 8 && lru_key.substr(8) == keep) return true;
    Result<Victim> v = Inspect(txn, entries, lru_key, now_ms);
    if (!v.ok()) {
      inner = v.status();
      return false;
    }
    return take(std::move(*v));
  });
  return inner.ok() ? s : inner;
}

Status BadEntry(const std::string& why) { return InvalidArgument("cache_bad_entry", why); }
}  // namespace

// The "totals" record: u64 LE per field, in this order (append new ones at the end).
struct ResponseCache::Totals {
  enum Field { kEntries, kBytes, kHits, kMisses, kEvictions, kExpirations, kCoalesced, kUpstreamSaved, kFields };
  std::array<uint64_t, kFields> v{};
  uint64_t& operator[](Field f) { return v[f]; }
  bool Empty() const { return std::all_of(v.begin(), v.end(), [](uint64_t x) { return x == 0; }); }
  void Add(const Totals& d) {
    for (size_t i = 0; i < kFields; ++i) v[i] += d.v[i];
  }
  void Remove(uint64_t charge) {  // one entry leaves; the gauges never wrap below zero
    v[kEntries] -= std::min<uint64_t>(v[kEntries], 1);
    v[kBytes] -= std::min(v[kBytes], charge);
  }
  // A short or unreadable record reads as zeros for what it lacks: these are metrics.
  static Totals Decode(std::optional<std::string_view> bytes) {
    Totals t;
    for (size_t i = 0; bytes && (i + 1) * 8 <= bytes->size() && i < kFields; ++i) t.v[i] = DecodeU64(bytes->data() + 8 * i);
    return t;
  }
  std::string Encode() const {
    std::string out;
    for (uint64_t x : v) PutU64(&out, x);
    return out;
  }
};

// Put durations, µs, in buckets 1/8 of an octave wide, for p50/p99 without storing samples.
struct ResponseCache::Histogram {
  static constexpr size_t kBuckets = 16 + 27 * 8;
  std::array<std::atomic<uint64_t>, kBuckets> counts{};
  std::atomic<uint64_t> total{0}, last{0}, peak{0};
  static size_t Index(uint64_t us) {
    us = std::min<uint64_t>(us, (uint64_t{1} << 30) - 1);
    if (us < 16) return us;
    const int b = std::bit_width(us);  // ≥ 5
    return 16 + (b - 5) * 8 + ((us >> (b - 4)) & 7);
  }
  static uint64_t Middle(size_t i) {
    if (i < 16) return i;
    const size_t b = (i - 16) / 8 + 5, sub = (i - 16) % 8;
    const uint64_t lo = (8 + sub) << (b - 4);
    return lo + ((uint64_t{1} << (b - 4)) - 1) / 2;
  }
  void Record(uint64_t us) {
    counts[Index(us)]++;
    total++;
    last = us;
    uint64_t p = peak.load();
    while (us > p && !peak.compare_exchange_weak(p, us)) {
    }
  }
  uint64_t Percentile(double q) const {
    const uint64_t n = total.load();
    if (n == 0) return 0;
    const auto target = static_cast<uint64_t>(q * static_cast<double>(n) + 0.999999);
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      if ((seen += counts[i].load()) >= target) return Middle(i);
    }
    return Middle(kBuckets - 1);
  }
};

struct ResponseCache::Removed {
  uint64_t entries = 0, bytes = 0, evictions = 0, expirations = 0;
  // Deletes v's index key and, unless it is an orphan, its entry.
  Status Delete(WriteTxn& txn, Db entries_db, Db lru_db, const Victim& v, bool evicting) {
    Result<bool> gone = txn.Delete(lru_db, v.lru_key);
    if (!gone.ok()) return gone.status();
    if (v.kind == Victim::kOrphanIndex) return Status::Ok();
    gone = txn.Delete(entries_db, v.key);
    if (!gone.ok()) return gone.status();
    entries += 1;
    bytes += v.charge;
    if (v.kind == Victim::kExpired) expirations += 1;
    if (v.kind == Victim::kLive && evicting) evictions += 1;
    return Status::Ok();
  }
};

StoreOptions CacheStoreOptions(const CacheOptions& options) {
  StoreOptions so;
  so.path = options.path;
  so.map_size_mb = options.map_size_mb;
  so.databases = {kCacheEntriesDb, kCacheLruDb, kCacheStatsDb, kMetaDb};
  so.commit_sync = CommitSync::kOnRequest;  // rebuildable: see the top of store.cc
  return so;
}

Result<std::unique_ptr<ResponseCache>> ResponseCache::Open(const CacheOptions& options) {
  if (options.path.empty() || options.map_size_mb == 0 || options.ttl_s <= 0 || options.max_entries == 0 ||
      options.max_bytes < 1024 || options.touch_interval_ms < 0 || options.stats_flush_interval_ms < 0) {
    return InvalidArgument("cache_bad_options", "cache path empty, or a size, count or interval out of range");
  }
  StoreOptions so = CacheStoreOptions(options);
  auto txn_us = std::make_shared<Histogram>();
  so.on_write = [txn_us](uint64_t /*wait_us*/, uint64_t held_us) { txn_us->Record(held_us); };
  Result<std::unique_ptr<Store>> store = Store::Open(so);
  if (!store.ok()) return store.status();
  Result<Db> entries = (*store)->Database(kCacheEntriesDb);
  Result<Db> lru = (*store)->Database(kCacheLruDb);
  Result<Db> stats = (*store)->Database(kCacheStatsDb);
  Result<Db> meta = (*store)->Database(kMetaDb);
  if (!entries.ok() || !lru.ok() || !stats.ok() || !meta.ok()) {
    return Internal("cache_open_failed", "cache databases missing");
  }
  Result<StoreFormat> format = CheckAndStampStoreFormat(**store, *meta, kCacheStoreFormat, kCacheStoreMinReader,
                                                        "the response cache at " + options.path);
  if (!format.ok()) return format.status();
  return std::unique_ptr<ResponseCache>(
      new ResponseCache(std::move(*store), *entries, *lru, *stats, options, std::move(txn_us)));
}

ResponseCache::ResponseCache(std::unique_ptr<Store> store, Db entries, Db lru, Db stats, const CacheOptions& options,
                             std::shared_ptr<Histogram> txn_us)
    : store_(std::move(store)), entries_(entries), lru_(lru), stats_(stats), options_(options),
      put_us_(std::make_unique<Histogram>()), txn_us_(std::move(txn_us)) {}

ResponseCache::~ResponseCache() {
  if (HasPending()) (void)Flush();  // refused harmlessly in a forked child (store.cc)
}

Status ResponseCache::WriteWithTotals(const std::function<Status(WriteTxn&, Totals&)>& fn) {
  Totals pending;
  uint64_t removed_entries = pending_entries_removed_.exchange(0), removed_bytes = pending_bytes_removed_.exchange(0);
  pending[Totals::kHits] = pending_hits_.exchange(0);
  pending[Totals::kMisses] = pending_misses_.exchange(0);
  pending[Totals::kCoalesced] = pending_coalesced_.exchange(0);
  pending[Totals::kUpstreamSaved] = pending_upstream_saved_.exchange(0);
  pending[Totals::kEvictions] = pending_evictions_.exchange(0);
  pending[Totals::kExpirations] = pending_expirations_.exchange(0);
  const uint64_t answered_elsewhere = pending_answered_elsewhere_.exchange(0);
  Status s = store_->Write(
      [&](WriteTxn& txn) -> Status {
        Result<std::optional<std::string_view>> raw = txn.Get(stats_, kTotalsKey);
        if (!raw.ok()) return raw.status();
        Totals t = Totals::Decode(*raw);
        t.Add(pending);
        t[Totals::kHits] += answered_elsewhere;
        t[Totals::kMisses] -= std::min(t[Totals::kMisses], answered_elsewhere);
        t[Totals::kEntries] -= std::min(t[Totals::kEntries], removed_entries);
        t[Totals::kBytes] -= std::min(t[Totals::kBytes], removed_bytes);
        if (Status st = fn(txn, t); !st.ok()) return st;
        return txn.Put(stats_, kTotalsKey, t.Encode());
      },
      Durability::kRelaxed);
  if (!s.ok()) {  // keep them for the next transaction
    pending_entries_removed_ += removed_entries;
    pending_bytes_removed_ += removed_bytes;
    pending_hits_ += pending[Totals::kHits];
    pending_misses_ += pending[Totals::kMisses];
    pending_coalesced_ += pending[Totals::kCoalesced];
    pending_upstream_saved_ += pending[Totals::kUpstreamSaved];
    pending_evictions_ += pending[Totals::kEvictions];
    pending_expirations_ += pending[Totals::kExpirations];
    pending_answered_elsewhere_ += answered_elsewhere;
  }
  return s;
}

Status ResponseCache::DeleteOnly(const std::function<Status(WriteTxn&, Removed*)>& fn) {
  Removed r;
  Status s = store_->Write(
      [&](WriteTxn& txn) {
        r = Removed{};
        return fn(txn, &r);
      },
      Durability::kRelaxed);
  if (!s.ok()) return s;
  pending_entries_removed_ += r.entries;
  pending_bytes_removed_ += r.bytes;
  pending_evictions_ += r.evictions;
  pending_expirations_ += r.expirations;
  return Status::Ok();
}

bool ResponseCache::HasPending() const {
  return (pending_hits_ | pending_misses_ | pending_answered_elsewhere_ | pending_coalesced_ | pending_upstream_saved_ | pending_evictions_ |
          pending_expirations_ | pending_entries_removed_ | pending_bytes_removed_) != 0;
}

Status ResponseCache::Flush() {
  if (!HasPending()) return Status::Ok();
  return WriteWithTotals([](WriteTxn&, Totals&) { return Status::Ok(); });
}

void ResponseCache::MaybeFlush(int64_t now_ms) {
  if (!HasPending()) return;
  int64_t last = last_flush_ms_.load();
  if (now_ms - last < options_.stats_flush_interval_ms) return;
  if (!last_flush_ms_.compare_exchange_strong(last, now_ms)) return;  // another thread flushes
  if (Status s = Flush(); !s.ok()) Log(LogLevel::kDebug, "cache_flush_failed", {{"error", s.ToString()}});
}

void ResponseCache::Disable(const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    disabled_reason_ = reason;
  }
  if (!disabled_.exchange(true)) LogError("cache_disabled", {{"reason", reason}, {"path", options_.path}});
}

Status ResponseCache::DisabledStatus() const {
  std::lock_guard<std::mutex> lock(mu_);
  return Unavailable("cache_disabled", "the response cache is disabled: " + disabled_reason_);
}

Result<std::optional<CachedAnswer>> ResponseCache::Get(std::string_view key, int64_t now_ms) {
  if (disabled_) return DisabledStatus();
  if (key.empty() || key.size() > kMaxKeyBytes) return BadEntry("a cache key is 1 to 400 bytes");
  std::optional<Result<CachedAnswer>> found;
  {
    Result<ReadTxn> txn = store_->BeginRead();
    if (!txn.ok()) return txn.status();
    Result<std::optional<std::string_view>> raw = txn->Get(entries_, key);
    if (!raw.ok()) return raw.status();
    if (raw->has_value()) found = DecodeCacheRecord(**raw);  // a copy: the view dies with txn
  }
  if (!found || !found->ok() || now_ms >= (*found)->expires_ms) {
    ++pending_misses_;
    if (!found) {
      MaybeFlush(now_ms);
    } else {
      if (!found->ok()) LogWarn("cache_corrupt_record", {{"key", Excerpt(key)}, {"error", found->status().message()}});
      if (Status s = RemoveIfStale(key, now_ms); !s.ok()) LogWarn("cache_remove_failed", {{"error", s.ToString()}});
    }
    return std::optional<CachedAnswer>();
  }
  ++pending_hits_;
  CachedAnswer answer = std::move(found->value());
  if (now_ms - answer.last_access_ms >= options_.touch_interval_ms) {
    // A failed touch only leaves the LRU position stale.
    if (Status s = Touch(key, now_ms); !s.ok()) Log(LogLevel::kDebug, "cache_touch_failed", {{"error", s.ToString()}});
  } else {
    MaybeFlush(now_ms);
  }
  return std::optional<CachedAnswer>(std::move(answer));
}

Status ResponseCache::RemoveIfStale(std::string_view key, int64_t now_ms) {
  Status s = DeleteOnly([&](WriteTxn& txn, Removed* r) -> Status {
    Result<std::optional<std::string_view>> raw = txn.Get(entries_, key);
    if (!raw.ok()) return raw.status();
    if (!raw->has_value()) return Status::Ok();  // removed meanwhile
    const std::string_view bytes = **raw;
    Result<CachedAnswer> a = DecodeCacheRecord(bytes);
    if (a.ok() && now_ms < a->expires_ms) return Status::Ok();  // replaced meanwhile
    Victim v;
    v.kind = a.ok() ? Victim::kExpired : Victim::kCorrupt;
    v.key.assign(key);
    v.charge = Charge(key.size(), bytes.size());
    const std::optional<int64_t> last_access = PeekCacheLastAccess(bytes);
    // Unknown for a mangled header: the index key is then an orphan, dropped by eviction or purge.
    v.lru_key = last_access ? CacheIndexKey(*last_access, key) : std::string();
    if (v.lru_key.empty()) {
      Result<bool> gone = txn.Delete(entries_, key);
      if (!gone.ok()) return gone.status();
      r->entries += 1, r->bytes += v.charge;
      return Status::Ok();
    }
    return r->Delete(txn, entries_, lru_, v, false);
  });
  if (s.ok()) (void)Flush();  // best effort; left pending on a full map
  return s;
}

Status ResponseCache::Touch(std::string_view key, int64_t now_ms) {
  return WriteWithTotals([&](WriteTxn& txn, Totals&) -> Status {
    Result<std::optional<std::string_view>> raw = txn.Get(entries_, key);
    if (!raw.ok()) return raw.status();
    if (!raw->has_value()) return Status::Ok();
    Result<CachedAnswer> a = DecodeCacheRecord(**raw);  // a copy, before the Puts below
    if (!a.ok() || now_ms - a->last_access_ms < options_.touch_interval_ms) return Status::Ok();
    Result<bool> gone = txn.Delete(lru_, CacheIndexKey(a->last_access_ms, key));
    if (!gone.ok()) return gone.status();
    a->last_access_ms = now_ms;
    if (Status s = txn.Put(entries_, key, EncodeCacheRecord(*a)); !s.ok()) return s;  // same size: bytes unchanged
    return txn.Put(lru_, CacheIndexKey(now_ms, key), "");
  });
}

Status ResponseCache::Put(std::string_view key, std::string_view payload, int64_t now_ms) {
  return PutUntil(key, payload, now_ms, now_ms + options_.ttl_s * 1000);
}

Status ResponseCache::PutUntil(std::string_view key, std::string_view payload, int64_t now_ms, int64_t expires_ms) {
  if (disabled_) return DisabledStatus();
  if (key.empty() || key.size() > kMaxKeyBytes) return BadEntry("a cache key is 1 to 400 bytes");
  if (payload.size() > kMaxCachePayloadBytes) return BadEntry("payload over kMaxCachePayloadBytes");
  expires_ms = std::min(expires_ms, now_ms + options_.ttl_s * 1000);
  const std::string record = EncodeCacheRecord(CachedAnswer{std::string(payload), now_ms, expires_ms, now_ms});
  if (Charge(key.size(), record.size()) > options_.max_bytes) return BadEntry("entry larger than max_bytes");

  const auto start = std::chrono::steady_clock::now();
  Status s = PutOnce(key, record, now_ms);
  put_us_->Record(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count()));
  if (!s.Is(Reason::kStoreFull)) return s;

  const CacheStats before = Stats();
  // Once per process: with bounds too large for the map this recurs every few Puts.
  Log(warned_full_.exchange(true) ? LogLevel::kDebug : LogLevel::kWarn, "cache_store_full",
      {{"entries", before.entries}, {"bytes", before.bytes}, {"path", options_.path}});
  if (Status e = EvictOldest(std::max<uint64_t>(before.entries / 4, 1)); !e.ok()) {
    LogWarn("cache_evict_failed", {{"error", e.ToString()}});
  }
  s = PutOnce(key, record, now_ms);
  if (!s.Is(Reason::kStoreFull)) return s;
  Disable("store_full: map_size_mb is too small for max_entries/max_bytes; raise it or lower them");
  return DisabledStatus();
}

Status ResponseCache::PutOnce(std::string_view key, const std::string& record, int64_t now_ms) {
  return WriteWithTotals([&](WriteTxn& txn, Totals& t) -> Status {
    Result<std::optional<std::string_view>> old = txn.Get(entries_, key);
    if (!old.ok()) return old.status();
    if (old->has_value()) {  // replaced: its charge and index key go
      const std::optional<int64_t> last_access = PeekCacheLastAccess(**old);
      t.Remove(Charge(key.size(), (**old).size()));
      if (last_access) {
        Result<bool> gone = txn.Delete(lru_, CacheIndexKey(*last_access, key));
        if (!gone.ok()) return gone.status();
      }
    }
    if (Status s = txn.Put(entries_, key, record); !s.ok()) return s;
    if (Status s = txn.Put(lru_, CacheIndexKey(now_ms, key), ""); !s.ok()) return s;
    t[Totals::kEntries] += 1;
    t[Totals::kBytes] += Charge(key.size(), record.size());

    auto over = [&](uint64_t n, uint64_t b) { return n > options_.max_entries || b > options_.max_bytes; };
    uint64_t n = t[Totals::kEntries], b = t[Totals::kBytes];
    if (!over(n, b)) return Status::Ok();
    std::vector<Victim> victims;  // collected first: a cursor walk must not see its own deletes
    Status s = ScanOldest(txn, entries_, lru_, key, now_ms, [&](Victim&& v) {
      if (v.kind != Victim::kOrphanIndex) n -= std::min<uint64_t>(n, 1), b -= std::min(b, v.charge);
      victims.push_back(std::move(v));
      return over(n, b) && victims.size() < kMaxEvictPerPut;
    });
    if (!s.ok()) return s;
    Removed r;
    for (const Victim& v : victims) {
      if (Status d = r.Delete(txn, entries_, lru_, v, true); !d.ok()) return d;
    }
    t[Totals::kEntries] -= std::min(t[Totals::kEntries], r.entries);
    t[Totals::kBytes] -= std::min(t[Totals::kBytes], r.bytes);
    t[Totals::kEvictions] += r.evictions;
    t[Totals::kExpirations] += r.expirations;
    return Status::Ok();
  });
}

Status ResponseCache::EvictOldest(uint64_t count) {
  for (uint64_t done = 0; done < count;) {
    uint64_t batch = 0;
    Status s = DeleteOnly([&](WriteTxn& txn, Removed* r) -> Status {
      std::vector<Victim> victims;
      Status scan = ScanOldest(txn, entries_, lru_, "", INT64_MIN, [&](Victim&& v) {
        victims.push_back(std::move(v));
        return victims.size() < std::min(kFullEvictBatch, count - done);
      });
      if (!scan.ok()) return scan;
      for (const Victim& v : victims) {
        if (Status d = r->Delete(txn, entries_, lru_, v, true); !d.ok()) return d;
      }
      batch = victims.size();
      return Status::Ok();
    });
    if (!s.ok()) return s;
    if (batch == 0) break;
    done += batch;
  }
  (void)Flush();  // may still be refused on a full map: the counts stay pending
  return Status::Ok();
}

void ResponseCache::EnableIfRoom() {
  if (!disabled_.load()) return;
  // Twice the reserve: room for more than the one Put that would fill it again.
  Result<bool> room = store_->HasFreePages(2 * store_->reserve_pages());
  if (!room.ok() || !*room) return;
  if (disabled_.exchange(false)) {
    warned_full_ = false;
    LogInfo("cache_enabled_again", {{"reason", "the map has room again"}, {"path", options_.path}});
  }
}

Result<int> ResponseCache::PurgeExpired(int64_t now_ms, int max_batch) {
  EnableIfRoom();
  if (max_batch <= 0) return 0;
  std::vector<Victim> found;
  {
    Result<ReadTxn> txn = store_->BeginRead();
    if (!txn.ok()) return txn.status();
    Status s = ScanOldest(*txn, entries_, lru_, "", now_ms, [&](Victim&& v) {
      if (v.kind != Victim::kLive) found.push_back(std::move(v));
      return found.size() < static_cast<size_t>(max_batch);
    });
    if (!s.ok()) return s;
  }
  if (found.empty()) return 0;
  uint64_t deleted = 0;
  Status s = DeleteOnly([&](WriteTxn& txn, Removed* r) -> Status {
    for (const Victim& candidate : found) {
      Result<Victim> now = Inspect(txn, entries_, candidate.lru_key, now_ms);  // may have changed since the scan
      if (!now.ok()) return now.status();
      if (now->kind == Victim::kLive) continue;
      if (Status d = r->Delete(txn, entries_, lru_, *now, false); !d.ok()) return d;
    }
    deleted = r->entries;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  (void)Flush();
  return static_cast<int>(deleted);
}

Status ResponseCache::Clear() {
  // Index keys with their entries first, then entries that had no index key.
  for (bool by_index : {true, false}) {
    for (;;) {
      size_t batch = 0;
      Status s = DeleteOnly([&](WriteTxn& txn, Removed* r) -> Status {
        std::vector<Victim> victims;
        Status scan;
        if (by_index) {
          scan = ScanOldest(txn, entries_, lru_, "", INT64_MIN, [&](Victim&& v) {
            victims.push_back(std::move(v));
            return victims.size() < kClearBatch;
          });
        } else {
          scan = txn.ForEach(entries_, "", [&](std::string_view key, std::string_view value) {
            victims.push_back(Victim{Victim::kCorrupt, "", std::string(key), Charge(key.size(), value.size())});
            return victims.size() < kClearBatch;
          });
        }
        if (!scan.ok()) return scan;
        for (const Victim& v : victims) {
          if (by_index) {
            if (Status d = r->Delete(txn, entries_, lru_, v, false); !d.ok()) return d;
            continue;
          }
          Result<bool> gone = txn.Delete(entries_, v.key);
          if (!gone.ok()) return gone.status();
          r->entries += 1, r->bytes += v.charge;
        }
        batch = victims.size();
        return Status::Ok();
      });
      if (!s.ok()) return s;
      if (batch == 0) break;
    }
  }
  // Recount what concurrent Puts added meanwhile, which also heals gauges that
  // drifted (a process killed between a delete and its flush). Best effort: on
  // a map full of other data it cannot write, and the deletes are what counts.
  Status s = WriteWithTotals([&](WriteTxn& txn, Totals& t) -> Status {
    t[Totals::kEntries] = t[Totals::kBytes] = 0;
    return txn.ForEach(entries_, "", [&](std::string_view key, std::string_view value) {
      t[Totals::kEntries] += 1;
      t[Totals::kBytes] += Charge(key.size(), value.size());
      return true;
    });
  });
  if (!s.ok()) LogWarn("cache_recount_failed", {{"error", s.ToString()}});
  disabled_ = false;
  return Status::Ok();
}

CacheStats ResponseCache::Stats() const {
  CacheStats out;
  Totals t;
  if (Result<ReadTxn> txn = store_->BeginRead(); !txn.ok()) {
    out.error = txn.status().ToString();
  } else if (Result<std::optional<std::string_view>> raw = txn->Get(stats_, kTotalsKey); !raw.ok()) {
    out.error = raw.status().ToString();
  } else {
    t = Totals::Decode(*raw);
  }
  const uint64_t elsewhere = pending_answered_elsewhere_;
  out.hits = t[Totals::kHits] + pending_hits_ + elsewhere;
  out.misses = t[Totals::kMisses] + pending_misses_;
  out.misses -= std::min(out.misses, elsewhere);
  out.hit_rate = out.hits + out.misses == 0 ? 0 : static_cast<double>(out.hits) / static_cast<double>(out.hits + out.misses);
  out.entries = t[Totals::kEntries] - std::min<uint64_t>(t[Totals::kEntries], pending_entries_removed_);
  out.bytes = t[Totals::kBytes] - std::min<uint64_t>(t[Totals::kBytes], pending_bytes_removed_);
  out.evictions = t[Totals::kEvictions] + pending_evictions_;
  out.expirations = t[Totals::kExpirations] + pending_expirations_;
  out.coalesced = t[Totals::kCoalesced] + pending_coalesced_;
  out.upstream_saved = t[Totals::kUpstreamSaved] + pending_upstream_saved_;
  if (Result<StoreInfo> info = store_->EnvInfo(); info.ok()) {
    out.map_used_bytes = info->used_bytes;
    out.map_size_bytes = info->map_size_bytes;
  }
  out.disabled = disabled_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out.disabled_reason = out.disabled ? disabled_reason_ : "";
  }
  out.put_count = put_us_->total;
  out.put_last_us = put_us_->last;
  out.put_peak_us = put_us_->peak;
  out.put_p50_us = put_us_->Percentile(0.50);
  out.put_p99_us = put_us_->Percentile(0.99);
  out.txn_count = txn_us_->total;
  out.txn_p50_us = txn_us_->Percentile(0.50);
  out.txn_p99_us = txn_us_->Percentile(0.99);
  out.txn_peak_us = txn_us_->peak;
  return out;
}

}  // namespace folio
