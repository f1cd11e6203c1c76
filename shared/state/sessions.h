// sessions.h: conversations in the shared LMDB environment, one record per
// session in the "sessions" database (keyed by SessionKey(id), format in
// session_record.h), expiring after ttl_s without a turn, and a recency index
// ("session_lru") by which the least recently used sessions go first when
// the store nears full: a store filled by one client then keeps saving
// everyone's conversations instead of refusing every write.
// Safe from any thread of any worker process; each call is one short
// transaction, and writes are on disk when they return: concurrent writers of
// a process share one synced commit (group_commit.h). Get() returns copies:
// LMDB memory dies with its transaction.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "group_commit.h"
#include "session_record.h"
#include "state_backend.h"
#include "status.h"
#include "store.h"
#include "store_format.h"

namespace folio {

// The databases a session environment holds; list them in StoreOptions::databases.
// "meta" holds the environment's format marker (store_format.h).
inline constexpr char kSessionsDb[] = "sessions";
inline constexpr char kSessionsLruDb[] = "session_lru";  // SessionIndexKey → "", oldest first
inline const std::vector<std::string>& SessionDatabases() {
  static const std::vector<std::string> kNames = {kSessionsDb, kSessionsLruDb, kMetaDb};
  return kNames;
}


struct SessionOptions {
  // The transcript kept (SESSION_MAX_MESSAGES): messages, not turns (a turn
  // adds two); the oldest go first. What the LLM sees of it is the caller's
  // choice (MAX_HISTORY_MESSAGES of its end).
  size_t max_messages = 100;
  // A record's size bound (SESSION_MAX_KB): the oldest messages go first
  // until the record fits; the newest turn always stays, each of its two
  // messages cut to half the bound if need be.
  size_t max_record_bytes = 64 << 10;
  int64_t ttl_s = 86400;  // idle seconds after which a session is expired
  // When a turn finds the store full, evict least recently used sessions
  // and try again (off only for tests of a store that stays full).
  bool evict_when_full = true;
  GroupCommit::BatchObserver on_commit;  // optional: sees each synced batch (metrics)
};

class SessionStore : public SessionBackend {
 public:
  // REQUIRES: `store` outlives the SessionStore and was opened with
  // SessionDatabases() (NotFound otherwise). Checks the store's format
  // marker first: Unavailable("store_too_new") for a store a newer folio
  // wrote, which is then left untouched; a store without a marker is
  // stamped. A store written before the recency index existed gets it
  // built here, once.
  static Result<SessionStore> Open(Store* store, SessionOptions options = {});

  // `now` is unix seconds everywhere (UnixNow() in production, fixed in tests).
  // A session is expired when now - updated >= ttl_s.

  // A new session without messages; returns its id.
  Result<std::string> Create(int64_t now) override;
  // InvalidArgument("invalid_session_id") if malformed; NotFound("session_not_found")
  // if absent or expired; Internal("corrupt_record") if the record is unreadable.
  Result<Session> Get(std::string_view id, int64_t now) const override;
  // Appends the user and assistant messages (timestamped `now`), keeps the
  // transcript within max_messages and max_record_bytes and sets updated =
  // now, all in one write transaction. NotFound if the session is absent or
  // expired, even if it was deleted or expired after the caller's Get.
  // InvalidArgument("message_too_large") beyond kMaxMessageBytes.
  Status AppendTurn(std::string_view id, std::string_view user_msg, std::string_view assistant_msg,
                    int64_t now) override;
  // Creates session `id` (from NewSessionId()) holding its first turn, in one
  // synced write: a chat pays (a share of) one fsync, and a session exists once its first
  // turn is committed. Internal("session_id_collision") if `id` exists.
  Status StartWithTurn(std::string_view id, std::string_view user_msg, std::string_view assistant_msg, int64_t now) override;
  // As StartWithTurn / AppendTurn, but return at once: `done` gets the
  // result on the committer thread once the turn is on disk (or has failed),
  // or on this thread for a request refused before it was queued. `done` must
  // not block: the next batch waits for it.
  void StartWithTurnAsync(std::string_view id, std::string_view user_msg, std::string_view assistant_msg,
                          int64_t now, GroupCommit::Done done) override;
  void AppendTurnAsync(std::string_view id, std::string_view user_msg, std::string_view assistant_msg, int64_t now,
                       GroupCommit::Done done) override;
  // Removes the session. NotFound if absent or already expired (an expired record
  // is removed all the same); a corrupt record is removed without complaint.
  Status Delete(std::string_view id, int64_t now) override;
  // For operators: up to `limit` (≤ 1000) unexpired sessions in key order
  // (SessionKey: roughly by creation time), starting after `after_id` ("" =
  // from the start). Corrupt records are skipped.
  Result<std::vector<SessionSummary>> List(size_t limit, std::string_view after_id, int64_t now) const;
  // Records stored, including expired ones not swept yet.
  Result<uint64_t> Count() const;
  // Why this process's last turn commit failed ("store_full", a disk
  // error...), or OK: before any failure, and once any process has
  // committed a write to the store since (it takes writes again).
  Status LastCommitStatus() const override;
  // Deletes every session expired at `now`, oldest first through the
  // recency index; returns how many. Write transactions of at most 500
  // records, so other writers wait for one short batch, never for the sweep.
  Result<int> SweepExpired(int64_t now) override;
  // When the store's free space is below twice its reserve, deletes the
  // least recently used sessions (batches of a sixteenth of them, at most
  // 100, each in its own transaction) until it is above three times the
  // reserve, or `max_sessions` went.
  // Returns how many went. Cheap when there is room (one mdb_env_info).
  Result<int> EvictIfNearFull(size_t max_sessions = 20000) override;
  // Sessions evicted by this process since it started.
  uint64_t evicted() const override { return counters_->evicted.load(std::memory_order_relaxed); }

 private:
  struct Counters {
    std::atomic<uint64_t> evicted{0};
  };
  SessionStore(Store* store, Db db, Db lru, SessionOptions options);
  // The write of a turn, validated; owns copies of its arguments.
  Result<GroupCommit::Op> StartOp(std::string_view id, std::string_view user_msg, std::string_view assistant_msg,
                                  int64_t now) const;
  Result<GroupCommit::Op> AppendOp(std::string_view id, std::string_view user_msg, std::string_view assistant_msg,
                                   int64_t now) const;
  bool Expired(int64_t updated, int64_t now) const { return now - updated >= options_.ttl_s; }
  // Deletes the `n` least recently used sessions in one write transaction
  // (`expired_at` > 0: only those expired then). Returns how many went and
  // whether more were left in line.
  Result<std::pair<int, bool>> DeleteOldest(size_t n, int64_t expired_at);
  // EvictIfNearFull; with only_near_full false, evicts (up to max_sessions,
  // and until there is room) whatever the free-page count says.
  Result<int> Evict(size_t max_sessions, bool only_near_full);
  Status BuildLruIfMissing();

  Store* store_;  // not owned
  // Every synced write goes through it: concurrent turns share one fsync.
  // Shared so that a SessionStore can be moved (copies share the batches).
  std::shared_ptr<GroupCommit> commits_;
  std::shared_ptr<Counters> counters_;
  Db db_, lru_;
  SessionOptions options_;
};

}  // namespace folio
