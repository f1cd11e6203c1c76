// redis_cache.h: the response cache shared by several folio instances. Each
// answer is one Redis string (STATE_PREFIX + "cache:" + the cache key) with
// a native TTL of CACHE_TTL_S. In front of it sits this instance's own LMDB
// cache (response_cache.h), which every lookup tries first: a hit this
// instance has seen costs no round trip, and another instance's answer costs
// one (GET and PTTL pipelined), after which it is copied locally to expire
// when the original does.
//
// The cache key names the knowledge base and prompt versions (cache_key.h),
// so instances of a rolling deploy that serve different knowledge bases
// never read each other's answers. A Redis failure is a miss (the local copy
// still answers); Clear() empties Redis and this instance's copy, and other
// instances' copies lapse within their TTL. Safe from any thread.
#pragma once

#include <atomic>
#include <memory>

#include "redis_link.h"
#include "response_cache.h"
#include "state_backend.h"

namespace folio {

class RedisCache : public CacheBackend {
 public:
  // `local` is this instance's LMDB cache (REQUIRES: not null).
  RedisCache(std::shared_ptr<RedisLink> link, std::unique_ptr<ResponseCache> local, int64_t ttl_ms);

  Result<std::optional<CachedAnswer>> Get(std::string_view key, int64_t now_ms) override;
  Status Put(std::string_view key, std::string_view payload, int64_t now_ms) override;
  Status Clear() override;
  // The local copy's figures, where a local miss that Redis answered
  // counts as a hit. Entries and bytes are the local copy's.
  CacheStats Stats() const override;
  void CountCoalesced(uint64_t n) override { local_->CountCoalesced(n); }
  void CountUpstreamSaved(uint64_t n) override { local_->CountUpstreamSaved(n); }
  Status Flush() override { return local_->Flush(); }
  Result<int> PurgeExpired(int64_t now_ms, int max_batch) override { return local_->PurgeExpired(now_ms, max_batch); }
  Result<int> ClearStaleReaders() override { return local_->ClearStaleReaders(); }

  // This process's lookups answered by Redis (not the local copy), and the
  // lookups it had to ask Redis about at all.
  uint64_t shared_hits() const { return shared_hits_.load(std::memory_order_relaxed); }
  uint64_t shared_lookups() const { return shared_lookups_.load(std::memory_order_relaxed); }

 private:
  std::string RedisKey(std::string_view key) const;

  std::shared_ptr<RedisLink> link_;
  std::unique_ptr<ResponseCache> local_;
  const int64_t ttl_ms_;
  std::atomic<uint64_t> shared_hits_{0}, shared_lookups_{0};
};

}  // namespace folio
