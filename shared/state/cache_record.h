// cache_record.h: the bytes of one cached answer in the cache's LMDB
// environment, and of its LRU index key. Pure functions; safe from any
// thread.
//
// An entry (cache key → record), version kCacheRecordFormat, integers
// little-endian and fixed width:
//   u8 version = 1 | i64 created_ms | i64 expires_ms | i64 last_access_ms |
//   u32 size | size bytes of payload | u64 XXH3-64 of all the preceding bytes
//   The checksum matters here: the environment runs MDB_NOSYNC, so after a
//   power loss a page may hold garbage; such a record reads as corrupt and is
//   deleted instead of being served.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "status.h"

namespace folio {

// The format EncodeCacheRecord() writes and the only one read: an entry of
// another version is corrupt to this folio, deleted on sight and answered
// again (the cache is rebuildable).
inline constexpr uint8_t kCacheRecordFormat = 1;

// What Get returns. payload is the bytes Put stored.
struct CachedAnswer {
  std::string payload;
  int64_t created_ms = 0;      // unix milliseconds of the Put
  int64_t expires_ms = 0;      // created_ms + ttl
  int64_t last_access_ms = 0;  // as stored (touches are rate-limited)
};

// The binary record of an entry (its format is at the top of this file).
std::string EncodeCacheRecord(const CachedAnswer& answer);
// The key of an entry's LRU index record: u64 big-endian last_access_ms,
// then the cache key; the index record's value is empty.
std::string CacheIndexKey(int64_t last_access_ms, std::string_view key);
// Any bytes are safe: a record that is truncated, of an unknown version, with
// trailing bytes or a bad checksum gives Internal("corrupt_record").
Result<CachedAnswer> DecodeCacheRecord(std::string_view bytes);

// Header fields of a record, read without decoding it (nullopt: not a
// record of this version); for scans that must not pay for the payload.
std::optional<int64_t> PeekCacheExpires(std::string_view record);
std::optional<int64_t> PeekCacheLastAccess(std::string_view record);
// The last_access_ms an LRU index key was made with.
int64_t CacheIndexTime(std::string_view lru_key);

}  // namespace folio
