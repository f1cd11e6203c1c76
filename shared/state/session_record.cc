// session_record.cc: session ids, keys and records.
//
// Record format, version 2 (all integers little-endian, fixed width):
//   u8 version = 2 | i64 created | i64 updated | i64 updated_ms | u32 count |
//   count × ( u8 role (1 user, 2 assistant) | i64 ts | u32 length | length bytes )
// Version 1, still read, lacks updated_ms (taken as updated × 1000).
// Binary rather than JSON because decoding it is a handful of bounds checks, with
// no allocator-driven parser to harden; the leading version byte lets a later
// format coexist with old records. The times sit at fixed offsets so the
// sweep and eviction can read them without decoding messages.
#include "session_record.h"

#include <sys/random.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>

#include "clock.h"
#include "coding.h"

namespace folio {
namespace {

constexpr uint8_t kFormatVersion = kSessionRecordFormat;
constexpr uint8_t kFormatWithoutMs = 1;
constexpr size_t kHeaderBytes = 1 + 8 + 8 + 8 + 4;
constexpr size_t kMessageHeaderBytes = 1 + 8 + 4;

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr size_t kIdChars = 22;   // 128 bits, 6 per character
// The last 8 characters of a new id hold the low 44 bits of its creation
// time in milliseconds (the character before them holds the 4 bits above
// with 2 random ones). SessionKey() puts them first.
constexpr size_t kTimeChars = 8;

Status Corrupt(const char* why) { return Internal("corrupt_record", std::string("session record: ") + why); }

bool PlausibleSeconds(int64_t t) { return t >= 0 && t <= kLatestSessionTime; }

}  // namespace

std::string_view RoleName(Role role) { return role == Role::kAssistant ? "assistant" : "user"; }

Result<std::string> NewSessionId() {
  unsigned char raw[16];
  constexpr size_t kRandomBytes = 10;  // then the 48-bit creation time
  size_t got = 0;
  while (got < kRandomBytes) {
    ssize_t n = getrandom(raw + got, kRandomBytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Internal("random_failed", std::string("getrandom: ") + std::strerror(errno));
    }
    got += static_cast<size_t>(n);
  }
  const auto ms = static_cast<uint64_t>(UnixMs());
  for (size_t i = kRandomBytes; i < sizeof(raw); ++i) raw[i] = static_cast<unsigned char>(ms >> (8 * (15 - i)));
  std::string id;
  id.reserve(22);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char byte : raw) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      id.push_back(kBase64Url[(acc >> bits) & 0x3F]);
    }
  }
  id.push_back(kBase64Url[(acc << (6 - bits)) & 0x3F]);  // the last 2 bits, zero-padded
  return id;
}

bool IsValidSessionId(std::string_view id) {
  if (id.size() != 22) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const char* pos = std::strchr(kBase64Url, id[i]);
    if (id[i] == '\0' || pos == nullptr) return false;
    // 22 × 6 = 132 bits for 128: the final character's low 4 bits must be zero.
    if (i == 21 && ((pos - kBase64Url) & 0x0F) != 0) return false;
  }
  return true;
}

std::string SessionKey(std::string_view id) {
  if (id.size() != kIdChars) return std::string(id);
  std::string key;
  key.reserve(kIdChars);
  key.append(id.substr(kIdChars - kTimeChars)).append(id.substr(0, kIdChars - kTimeChars));
  return key;
}

std::string IdOfSessionKey(std::string_view key) {
  if (key.size() != kIdChars) return std::string(key);
  std::string id;
  id.reserve(kIdChars);
  id.append(key.substr(kTimeChars)).append(key.substr(0, kTimeChars));
  return id;
}

std::string EncodeSession(const Session& session) {
  std::string out;
  out.reserve(EncodedSessionSize(session));
  out.push_back(static_cast<char>(kFormatVersion));
  PutU64(&out, static_cast<uint64_t>(session.created));
  PutU64(&out, static_cast<uint64_t>(session.updated));
  PutU64(&out, static_cast<uint64_t>(session.updated_ms));
  PutU32(&out, static_cast<uint32_t>(session.messages.size()));
  for (const Message& m : session.messages) {
    out.push_back(static_cast<char>(m.role));
    PutU64(&out, static_cast<uint64_t>(m.ts));
    PutU32(&out, static_cast<uint32_t>(m.content.size()));
    out.append(m.content);
  }
  return out;
}

Result<Session> DecodeSession(std::string_view bytes) {
  ByteReader r(bytes);
  uint8_t version = 0;
  uint32_t count = 0;
  Session s;
  if (!r.U8(&version)) return Corrupt("empty");
  if (version != kFormatVersion && version != kFormatWithoutMs) return Corrupt("unknown version");
  if (!r.I64(&s.created) || !r.I64(&s.updated)) return Corrupt("truncated header");
  // Times are seconds since the epoch; anything outside year 0..9999 is a
  // damaged record, and must not overflow the conversion to milliseconds.
  if (!PlausibleSeconds(s.created) || !PlausibleSeconds(s.updated)) return Corrupt("time out of range");
  s.updated_ms = s.updated * 1000;
  if (version == kFormatVersion && !r.I64(&s.updated_ms)) return Corrupt("truncated header");
  if (!r.U32(&count)) return Corrupt("truncated header");
  // Each message takes at least its header: a count beyond that is a lie, and
  // must not drive an allocation.
  if (count > r.remaining() / kMessageHeaderBytes) return Corrupt("message count exceeds record");
  s.messages.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    uint8_t role = 0;
    uint32_t length = 0;
    Message m;
    if (!r.U8(&role) || !r.I64(&m.ts) || !r.U32(&length)) return Corrupt("truncated message header");
    if (role != static_cast<uint8_t>(Role::kUser) && role != static_cast<uint8_t>(Role::kAssistant)) {
      return Corrupt("unknown role");
    }
    m.role = static_cast<Role>(role);
    if (!r.Bytes(length, &m.content)) return Corrupt("truncated message");
    s.messages.push_back(std::move(m));
  }
  if (r.remaining() != 0) return Corrupt("trailing bytes");
  return s;
}

std::optional<RecordTimes> PeekTimes(std::string_view bytes) {
  ByteReader r(bytes);
  uint8_t version = 0;
  int64_t created = 0;
  RecordTimes t;
  if (!r.U8(&version) || (version != kFormatVersion && version != kFormatWithoutMs) || !r.I64(&created) ||
      !r.I64(&t.updated) || !PlausibleSeconds(t.updated))
    return std::nullopt;
  t.updated_ms = t.updated * 1000;
  if (version == kFormatVersion && !r.I64(&t.updated_ms)) return std::nullopt;
  return t;
}

std::string SessionIndexKey(int64_t updated_ms, std::string_view record_key) {
  std::string out(8, '\0');
  const auto u = static_cast<uint64_t>(std::max<int64_t>(0, updated_ms));
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(u >> (8 * (7 - i)));
  return out.append(record_key);
}

bool SplitSessionIndexKey(std::string_view index_key, std::string* record_key, int64_t* updated_ms) {
  if (index_key.size() <= 8) return false;
  uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u = (u << 8) | static_cast<uint8_t>(index_key[i]);
  *updated_ms = static_cast<int64_t>(u);
  record_key->assign(index_key.substr(8));
  return true;
}

size_t EncodedMessageSize(const Message& message) { return kMessageHeaderBytes + message.content.size(); }

size_t EncodedSessionSize(const Session& session) {
  size_t size = kHeaderBytes;
  for (const Message& m : session.messages) size += EncodedMessageSize(m);
  return size;
}

// Cuts `text` to at most `max` bytes at a UTF-8 boundary, marking the cut.
static void CutTo(std::string* text, size_t max) {
  static const std::string kMark = "\xE2\x80\xA6";  // …
  if (text->size() <= max) return;
  size_t end = max > kMark.size() ? max - kMark.size() : 0;
  while (end > 0 && (static_cast<unsigned char>((*text)[end]) & 0xC0) == 0x80) --end;
  text->resize(end);
  text->append(kMark);
}

void BoundTranscript(Session* session, size_t max_messages, size_t max_record_bytes) {
  std::vector<Message>& m = session->messages;
  if (m.size() > max_messages) m.erase(m.begin(), m.end() - static_cast<ptrdiff_t>(max_messages));
  const size_t newest = std::min<size_t>(2, m.size());
  const size_t overhead = EncodedSessionSize(Session{}) + 2 * EncodedMessageSize(Message{});
  for (size_t i = m.size() - newest; i < m.size(); ++i) CutTo(&m[i].content, (max_record_bytes - overhead) / 2);
  size_t size = EncodedSessionSize(*session);
  size_t drop = 0;
  while (size > max_record_bytes && drop + newest < m.size()) {
    size -= EncodedMessageSize(m[drop++]);
  }
  m.erase(m.begin(), m.begin() + static_cast<ptrdiff_t>(drop));
}

}  // namespace folio
