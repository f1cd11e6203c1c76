// sessions.h: conversation history in the shared LMDB environment, one record per
// session in the "sessions" database (keyed by SessionKey(id)), expiring after
// ttl_s without an update. Safe from any thread of any worker process; each call is one short transaction,
// and writes are on disk when they return: concurrent writers of a process share
// one synced commit (group_commit.h). Get() returns copies: LMDB memory dies with
// its transaction. The record format is in sessions.cc; its decoder is fuzzable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "group_commit.h"
#include "status.h"
#include "store.h"

namespace folio {

// The database name to list in StoreOptions::databases.
inline constexpr char kSessionsDb[] = "sessions";

// Larger messages are refused by AppendTurn: keeps records (rewritten on every
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
  int64_t updated = 0;  // unix seconds of the last AppendTurn (or Create)
  std::vector<Message> messages;  // oldest first, at most max_history_messages
};

struct SessionSummary {
  std::string id;
  int64_t created = 0;
  int64_t updated = 0;
  size_t messages = 0;
};

struct SessionOptions {
  size_t max_history_messages = 5;  // messages, not turns: a turn adds two
  int64_t ttl_s = 86400;            // idle seconds after which a session is expired
  GroupCommit::BatchObserver on_commit;  // optional: sees each synced batch (metrics)
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

// The versioned binary record (ignores session.id).
std::string EncodeSession(const Session& session);
// Any input is safe: bytes that are not a complete, valid record give
// Internal("corrupt_record"), never a crash. session.id is left empty.
Result<Session> DecodeSession(std::string_view bytes);

class SessionStore {
 public:
  // REQUIRES: `store` outlives the SessionStore and was opened with kSessionsDb
  // in its databases (NotFound otherwise).
  static Result<SessionStore> Open(Store* store, SessionOptions options = {});

  // `now` is unix seconds everywhere (UnixNow() in production, fixed in tests).
  // A session is expired when now - updated >= ttl_s.

  // A new session without messages; returns its id.
  Result<std::string> Create(int64_t now);
  // InvalidArgument("invalid_session_id") if malformed; NotFound("session_not_found")
  // if absent or expired; Internal("corrupt_record") if the record is unreadable.
  Result<Session> Get(std::string_view id, int64_t now) const;
  // Appends the user and assistant messages (timestamped `now`), keeps the last
  // max_history_messages and sets updated = now, all in one write transaction.
  // NotFound if the session is absent or expired, even if it was deleted or
  // expired after the caller's Get. InvalidArgument("message_too_large").
  Status AppendTurn(std::string_view id, std::string_view user_msg, std::string_view assistant_msg,
                    int64_t now);
  // Creates session `id` (from NewSessionId()) holding its first turn, in one
  // synced write: a chat pays (a share of) one fsync, and a session exists once its first
  // turn is committed. Internal("session_id_collision") if `id` exists.
  Status StartWithTurn(std::string_view id, std::string_view user_msg, std::string_view assistant_msg, int64_t now);
  // As StartWithTurn / AppendTurn, but return at once: `done` gets the
  // result on the committer thread once the turn is on disk (or has failed),
  // or on this thread for a request refused before it was queued. `done` must
  // not block: the next batch waits for it.
  void StartWithTurnAsync(std::string_view id, std::string_view user_msg, std::string_view assistant_msg,
                          int64_t now, GroupCommit::Done done);
  void AppendTurnAsync(std::string_view id, std::string_view user_msg, std::string_view assistant_msg, int64_t now,
                       GroupCommit::Done done);
  // Removes the session. NotFound if absent or already expired (an expired record
  // is removed all the same); a corrupt record is removed without complaint.
  Status Delete(std::string_view id, int64_t now);
  // For operators: up to `limit` (≤ 1000) unexpired sessions in key order
  // (SessionKey: roughly by creation time), starting after `after_id` ("" =
  // from the start). Corrupt records are skipped.
  Result<std::vector<SessionSummary>> List(size_t limit, std::string_view after_id, int64_t now) const;
  // Records stored, including expired ones not swept yet.
  Result<uint64_t> Count() const;
  // Why this process's last turn commit failed ("store_full", a disk
  // error...), or OK: before any failure, and once any process has
  // committed a write to the store since (it takes writes again).
  Status LastCommitStatus() const;
  // Deletes every session expired at `now`; returns how many. Scans in read
  // transactions and deletes in write transactions of at most 500 records, so
  // other writers wait for one short batch, never for the whole sweep.
  Result<int> SweepExpired(int64_t now);

 private:
  SessionStore(Store* store, Db db, SessionOptions options)
      : store_(store), commits_(std::make_shared<GroupCommit>(store, options.on_commit)), db_(db), options_(options) {}
  // The write of a turn, validated; owns copies of its arguments.
  Result<GroupCommit::Op> StartOp(std::string_view id, std::string_view user_msg, std::string_view assistant_msg,
                                  int64_t now) const;
  Result<GroupCommit::Op> AppendOp(std::string_view id, std::string_view user_msg, std::string_view assistant_msg,
                                   int64_t now) const;
  bool Expired(int64_t updated, int64_t now) const { return now - updated >= options_.ttl_s; }

  Store* store_;  // not owned
  // Every synced write goes through it: concurrent turns share one fsync.
  // Shared so that a SessionStore can be moved (copies share the batches).
  std::shared_ptr<GroupCommit> commits_;
  Db db_;
  SessionOptions options_;
};

}  // namespace folio
