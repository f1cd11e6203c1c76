// cache_record.cc: encoding and decoding a cached answer's record.
#include "cache_record.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>

#include "coding.h"

namespace folio {
namespace {

constexpr uint8_t kRecordVersion = kCacheRecordFormat;
constexpr size_t kHeaderBytes = 1 + 8 + 8 + 8 + 4;
constexpr size_t kChecksumBytes = 8;

Status Corrupt(const char* why) { return Internal("corrupt_record", std::string("cache record: ") + why); }

std::optional<int64_t> PeekField(std::string_view record, size_t offset) {
  if (record.size() < kHeaderBytes || static_cast<uint8_t>(record[0]) != kRecordVersion) return std::nullopt;
  return static_cast<int64_t>(DecodeU64(record.data() + offset));
}

}  // namespace

std::string CacheIndexKey(int64_t last_access_ms, std::string_view key) {
  std::string out(8, '\0');
  const auto v = static_cast<uint64_t>(std::max<int64_t>(0, last_access_ms));
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (8 * (7 - i)));
  out.append(key);
  return out;
}

int64_t CacheIndexTime(std::string_view lru_key) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < lru_key.size(); ++i) v = (v << 8) | static_cast<uint8_t>(lru_key[i]);
  return static_cast<int64_t>(v);
}

std::optional<int64_t> PeekCacheExpires(std::string_view record) { return PeekField(record, 9); }
std::optional<int64_t> PeekCacheLastAccess(std::string_view record) { return PeekField(record, 17); }

std::string EncodeCacheRecord(const CachedAnswer& a) {
  std::string out;
  out.reserve(kHeaderBytes + a.payload.size() + kChecksumBytes);
  out.push_back(static_cast<char>(kRecordVersion));
  PutU64(&out, static_cast<uint64_t>(a.created_ms));
  PutU64(&out, static_cast<uint64_t>(a.expires_ms));
  PutU64(&out, static_cast<uint64_t>(a.last_access_ms));
  const auto size = static_cast<uint32_t>(a.payload.size());
  PutU32(&out, size);
  out.append(a.payload);
  PutU64(&out, XXH3_64bits(out.data(), out.size()));
  return out;
}

Result<CachedAnswer> DecodeCacheRecord(std::string_view bytes) {
  if (bytes.empty()) return Corrupt("empty");
  if (static_cast<uint8_t>(bytes[0]) != kRecordVersion) return Corrupt("unknown version");
  if (bytes.size() < kHeaderBytes + kChecksumBytes) return Corrupt("truncated header");
  const uint32_t size = DecodeU32(bytes.data() + 25);
  if (bytes.size() - kHeaderBytes - kChecksumBytes != size) return Corrupt("size does not match the record");
  const size_t body = kHeaderBytes + size;
  if (XXH3_64bits(bytes.data(), body) != DecodeU64(bytes.data() + body)) return Corrupt("checksum mismatch");
  CachedAnswer a;
  a.created_ms = static_cast<int64_t>(DecodeU64(bytes.data() + 1));
  a.expires_ms = static_cast<int64_t>(DecodeU64(bytes.data() + 9));
  a.last_access_ms = static_cast<int64_t>(DecodeU64(bytes.data() + 17));
  a.payload.assign(bytes.substr(kHeaderBytes, size));
  return a;
}

}  // namespace folio
