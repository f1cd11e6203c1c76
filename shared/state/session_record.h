// session_record.h: what a session is and how it is stored — its id, its
// LMDB key and its versioned binary record. Pure functions, no I/O: safe
// from any thread; the decoder takes any bytes (fuzzed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace folio {

// Larger messages are refused by the store: keeps records (rewritten on every
// turn, under the cross-process writer lock) small and the length field 32-bit.
inline constexpr size_t kMaxMessageBytes = 1 << 20;

enum class Role : uint8_t { kUser = 1, kAssistant = 2 };
// "user" | "assistant", as the chat-completions API spells them.
std::string_view RoleName(Role role);

struct Message {
  Role role = Role::kUser;
  std::string content;
  int64_t ts = 0;  // unix seconds
};

struct Session {
  std::string id;       // the record's key; not part of the encoded bytes
  int64_t created = 0;  // unix seconds
  int64_t updated = 0;  // unix seconds of the last turn (or Create)
  // The same moment in milliseconds: the recency order of eviction (sessions
  // updated within one second are told apart). Records of format 1: updated × 1000.
  int64_t updated_ms = 0;
  std::vector<Message> messages;  // oldest first: the transcript, bounded by SessionOptions
};

// 128 bits, base64url without padding: 22 characters. The first 80 bits come
// from getrandom(2) (unguessable: OWASP asks for at least 64); the last 48
// are the creation time in milliseconds, so that SessionKey() can keep the
// sessions created together next to each other in LMDB's B-tree: a batch of
// new sessions then dirties a few leaf pages, not one each, and the synced
// commit writes that much less (cache hits, each a new session's first
// turn, were 12-25 % faster for it). An id shows when its session began.
// Internal("random_failed") only if the kernel refuses randomness.
Result<std::string> NewSessionId();
// The LMDB key of a session: the id with its last 8 characters (the creation
// time's low 44 bits) moved to the front. IdOfSessionKey() undoes it. Ids
// made before the time suffix existed are all random and map the same way.
std::string SessionKey(std::string_view id);
std::string IdOfSessionKey(std::string_view key);
// True iff `id` is exactly what NewSessionId() produces: 22 base64url characters
// whose last one carries no bits beyond the 128 (so each id has one spelling).
// A malformed id is the caller's 400; an unknown or expired one is a 404.
bool IsValidSessionId(std::string_view id);

// The format EncodeSession() writes (session_record.cc documents it); records
// of every earlier format (1) are still read, and stay as they are until
// their session's next turn rewrites them.
inline constexpr uint8_t kSessionRecordFormat = 2;

// A session's created and updated times (seconds since the epoch) lie in
// 0..this (9999-12-31T23:59:59Z); a record outside it is corrupt.
inline constexpr int64_t kLatestSessionTime = 253402300799;

// The versioned binary record (ignores session.id).
std::string EncodeSession(const Session& session);
// Any input is safe: bytes that are not a complete, valid record give
// Internal("corrupt_record"), never a crash. session.id is left empty.
Result<Session> DecodeSession(std::string_view bytes);
// Bytes EncodeSession() makes of `session`, and of one of its messages,
// without making them.
size_t EncodedSessionSize(const Session& session);
size_t EncodedMessageSize(const Message& message);
// `updated` and `updated_ms` of an encoded record, read from its fixed-offset
// header without decoding the messages; nullopt when the bytes are not a record.
struct RecordTimes {
  int64_t updated = 0;
  int64_t updated_ms = 0;
};
std::optional<RecordTimes> PeekTimes(std::string_view bytes);

// Keeps a transcript within its bounds (SESSION_MAX_MESSAGES, SESSION_MAX_KB):
// the newest turn always (each of its two messages cut to half the bound at
// a UTF-8 boundary if need be), then as many of the messages before it as
// both bounds allow. Every session store applies it before a write.
void BoundTranscript(Session* session, size_t max_messages, size_t max_record_bytes);

// The recency index ("session_lru") holds one entry per record, its key
// big-endian `updated_ms` then the record's key, its value empty: key order is
// least recently used first. SplitSessionIndexKey() gives both parts back,
// or false when `index_key` is not 8 bytes followed by a record key.
std::string SessionIndexKey(int64_t updated_ms, std::string_view record_key);
bool SplitSessionIndexKey(std::string_view index_key, std::string* record_key, int64_t* updated_ms);

}  // namespace folio
