// redis_cache.cc: see redis_cache.h.
#include "redis_cache.h"

#include <algorithm>
#include <string>
#include <utility>

namespace folio {
namespace {

// Keys deleted per SCAN page by Clear(): one short UNLINK each, so the
// server never stalls other clients for a big cache.
constexpr const char* kClearBatch = "500";

}  // namespace

RedisCache::RedisCache(std::shared_ptr<RedisLink> link, std::unique_ptr<ResponseCache> local, int64_t ttl_ms)
    : link_(std::move(link)), local_(std::move(local)), ttl_ms_(ttl_ms) {}

std::string RedisCache::RedisKey(std::string_view key) const { return link_->Key("cache:" + std::string(key)); }

Result<std::optional<CachedAnswer>> RedisCache::Get(std::string_view key, int64_t now_ms) {
  Result<std::optional<CachedAnswer>> local = local_->Get(key, now_ms);
  if (local.ok() && local->has_value()) return local;
  shared_lookups_.fetch_add(1, std::memory_order_relaxed);
  const std::string redis_key = RedisKey(key);
  Result<std::vector<RedisReply>> got = link_->Pipeline({{"GET", redis_key}, {"PTTL", redis_key}});
  if (!got.ok() || !(*got)[0].is_string()) return local;  // a miss: unreachable counts as one
  const int64_t ttl_left = (*got)[1].integer();
  if (ttl_left == -2) return local;  // expired between the two commands
  CachedAnswer answer;
  answer.payload = std::string((*got)[0].str());
  answer.expires_ms = now_ms + (ttl_left > 0 ? ttl_left : ttl_ms_);
  answer.created_ms = answer.expires_ms - ttl_ms_;
  answer.last_access_ms = now_ms;
  shared_hits_.fetch_add(1, std::memory_order_relaxed);
  local_->CountMissAnsweredElsewhere(1);
  // The next lookup on this instance costs no round trip. A copy that
  // cannot be stored (a full local map) only costs the round trip again.
  (void)local_->PutUntil(key, answer.payload, now_ms, answer.expires_ms);
  return std::optional<CachedAnswer>(std::move(answer));
}

Status RedisCache::Put(std::string_view key, std::string_view payload, int64_t now_ms) {
  Status local = local_->Put(key, payload, now_ms);
  if (local.code() == Code::kInvalidArgument) return local;  // too big for any cache
  Result<RedisReply> set = link_->Command({"SET", RedisKey(key), payload, "PX", std::to_string(ttl_ms_)});
  if (!set.ok()) return local.ok() ? set.status() : local;
  return Status::Ok();
}

Status RedisCache::Clear() {
  Status local = local_->Clear();
  const std::string pattern = link_->Key("cache:*");
  std::string cursor = "0";
  do {
    Result<RedisReply> page = link_->Command({"SCAN", cursor, "MATCH", pattern, "COUNT", kClearBatch});
    if (!page.ok()) return page.status();
    if (!page->is_array() || page->size() != 2) return Internal("redis_error", "SCAN gave an unexpected reply");
    cursor = std::string(page->at(0).str());
    RedisReply::View keys = page->at(1);
    if (keys.size() == 0) continue;
    RedisLink::Args unlink = {"UNLINK"};
    for (size_t i = 0; i < keys.size(); ++i) unlink.push_back(keys.at(i).str());
    if (Result<RedisReply> r = link_->Command(unlink); !r.ok()) return r.status();
  } while (cursor != "0");
  return local;
}

CacheStats RedisCache::Stats() const { return local_->Stats(); }

}  // namespace folio
