// sessions.cc: the session store — records (session_record.h) and their
// lifecycle in LMDB.
//
// Expiry is lazy: Get/AppendTurn treat an expired record as absent, and
// SweepExpired() reclaims the space. Every record has one entry in the
// recency index, keyed big-endian `updated_ms` then the record's key, written
// in the same transaction as the record: walking it from the start visits
// sessions least recently used first. The sweep walks it only as far as the
// expired ones go; eviction takes its head.
//
// Why evict instead of refusing: sessions are created by anonymous clients.
// Without eviction, once the map reached its reserve every turn of everyone
// was refused until sessions expired (a day); one client creating sessions
// flat out could cause that in hours. With it, the store keeps the most
// recently used conversations, and the one client mostly evicts its own.
// Eviction runs ahead of need (the housekeeper calls EvictIfNearFull every
// few seconds, from twice the reserve) and, should a burst outrun it, when
// a batch of turns finds the store full (GroupCommit's make-room hook: the
// batch runs once more after eviction).
//
// Each deletion batch re-checks its candidates inside its write transaction,
// so a session that got a turn in between survives.
#include "sessions.h"

#include <algorithm>

#include "clock.h"
#include "log.h"

namespace folio {
namespace {

constexpr size_t kSweepBatch = 500;  // deletions per write transaction
// Sessions evicted per transaction: a sixteenth of the store, 1 to 100, so
// that a store of a few large sessions loses them one by one, not all at once.
constexpr size_t kMaxEvictBatch = 100;
// The most evicted when a write found the store full although the free-page
// count said otherwise: LMDB could not use those pages (not yet reusable, or
// not contiguous for a large record), so some must go whatever the count says.
constexpr size_t kEvictOnFull = 2 * kMaxEvictBatch;
constexpr size_t kMaxListLimit = 1000;
constexpr size_t kLruRebuildBatch = 1000;

Status SessionNotFound() { return NotFound("session_not_found", "no such session, or it has expired"); }
Status BadId() { return InvalidArgument("invalid_session_id", "a session id is 22 base64url characters"); }

// A turn's moment in milliseconds: `now` (unix seconds, injected by callers
// and tests) with the wall clock's milliseconds, so that the order within a
// second is the order of the turns.
int64_t RecencyMs(int64_t now) { return now * 1000 + UnixMs() % 1000; }

// Writes `session` under `key` and moves its index entry from
// `old_updated_ms` (< 0: none) to its `updated_ms`.
Status PutRecord(WriteTxn& txn, Db db, Db lru, const std::string& key, const Session& session,
                 int64_t old_updated_ms) {
  if (old_updated_ms >= 0 && old_updated_ms != session.updated_ms) {
    Result<bool> gone = txn.Delete(lru, SessionIndexKey(old_updated_ms, key));
    if (!gone.ok()) return gone.status();
  }
  if (Status s = txn.Put(db, key, EncodeSession(session)); !s.ok()) return s;
  return txn.Put(lru, SessionIndexKey(session.updated_ms, key), "");
}

// Deletes record `key` and its index entry `lru_key` when the record is
// still what the caller saw (`updated_ms` unchanged) and, for a sweep
// (`expired_at` > 0), expired then; an entry whose record is gone or moved
// on is deleted alone. Returns whether a session went.
Result<bool> DeleteIfUnchanged(WriteTxn& txn, Db db, Db lru, std::string_view lru_key, const std::string& key,
                               int64_t updated_ms, int64_t expired_at, int64_t ttl_s) {
  Result<std::optional<std::string_view>> bytes = txn.Get(db, key);
  if (!bytes.ok()) return bytes.status();
  const std::optional<RecordTimes> times = bytes->has_value() ? PeekTimes(**bytes) : std::nullopt;
  if (times && expired_at > 0 && expired_at - times->updated < ttl_s) return false;  // not expired after all
  const bool same = bytes->has_value() && (!times || times->updated_ms == updated_ms);
  if (same) {
    Result<bool> removed = txn.Delete(db, key);
    if (!removed.ok()) return removed.status();
  }
  Result<bool> entry = txn.Delete(lru, lru_key);
  if (!entry.ok()) return entry.status();
  return same;
}

}  // namespace

SessionStore::SessionStore(Store* store, Db db, Db lru, SessionOptions options)
    : store_(store), counters_(std::make_shared<Counters>()), db_(db), lru_(lru), options_(options) {
  GroupCommit::MakeRoom make_room = nullptr;
  if (options.evict_when_full) {
    // A copy, not `this` (the hook outlives moves of this object); it has no
    // committer of its own, and eviction needs none.
    make_room = [copy = *this]() mutable {
      Result<int> evicted = copy.Evict(kEvictOnFull, /*only_near_full=*/false);
      return evicted.ok() && *evicted > 0;
    };
  }
  commits_ = std::make_shared<GroupCommit>(store, options.on_commit, std::move(make_room));
}

Result<SessionStore> SessionStore::Open(Store* store, SessionOptions options) {
  Result<Db> db = store->Database(kSessionsDb);
  if (!db.ok()) return db.status();
  Result<Db> lru = store->Database(kSessionsLruDb);
  if (!lru.ok()) return lru.status();
  Result<Db> meta = store->Database(kMetaDb);
  if (!meta.ok()) return meta.status();
  if (options.max_messages < 2 || options.ttl_s <= 0 || options.max_record_bytes < 1024) {
    return InvalidArgument("bad_session_options",
                           "max_messages must be at least 2, ttl_s positive, max_record_bytes at least 1024");
  }
  Result<StoreFormat> format = CheckAndStampStoreFormat(*store, *meta, kSessionStoreFormat, kSessionStoreMinReader,
                                                        "the session store at " + store->path());
  if (!format.ok()) return format.status();
  SessionStore sessions(store, *db, *lru, std::move(options));
  if (Status s = sessions.BuildLruIfMissing(); !s.ok()) return s;
  return sessions;
}

Status SessionStore::BuildLruIfMissing() {
  Result<DbStats> records = store_->Stat(db_);
  Result<DbStats> entries = store_->Stat(lru_);
  if (!records.ok()) return records.status();
  if (!entries.ok()) return entries.status();
  if (entries->entries >= records->entries) return Status::Ok();
  // Records from before the index: one entry each, in batches.
  std::string resume;
  for (bool more = true; more;) {
    std::vector<std::pair<std::string, int64_t>> batch;
    {
      Result<ReadTxn> txn = store_->BeginRead();
      if (!txn.ok()) return txn.status();
      Status s = txn->ForEach(db_, resume, [&](std::string_view key, std::string_view value) {
        if (!resume.empty() && key == resume) return true;
        if (std::optional<RecordTimes> t = PeekTimes(value)) batch.emplace_back(std::string(key), t->updated_ms);
        resume.assign(key);
        return batch.size() < kLruRebuildBatch;
      });
      if (!s.ok()) return s;
      more = batch.size() == kLruRebuildBatch;
    }
    Status s = store_->Write(
        [&](WriteTxn& txn) -> Status {
          for (const auto& [key, updated_ms] : batch)
            if (Status put = txn.Put(lru_, SessionIndexKey(updated_ms, key), ""); !put.ok()) return put;
          return Status::Ok();
        },
        Durability::kSynced);
    if (!s.ok()) return s;
  }
  LogInfo("session_index_built", {{"sessions", records->entries}});
  return Status::Ok();
}

Result<std::string> SessionStore::Create(int64_t now) {
  Result<std::string> id = NewSessionId();
  if (!id.ok()) return id.status();
  Session session;
  session.created = session.updated = now;
  session.updated_ms = RecencyMs(now);
  Status s = commits_->Write([&](WriteTxn& txn) -> Status {
    const std::string key = SessionKey(*id);
    Result<std::optional<std::string_view>> existing = txn.Get(db_, key);
    if (!existing.ok()) return existing.status();
    // Two ids collide only if made in the same millisecond with the same 80
    // random bits; refusing beats overwriting someone's history.
    if (existing->has_value()) return Internal("session_id_collision", "new session id already exists");
    return PutRecord(txn, db_, lru_, key, session, -1);
  });
  if (!s.ok()) return s;
  return id;
}

Result<GroupCommit::Op> SessionStore::StartOp(std::string_view id, std::string_view user_msg,
                                              std::string_view assistant_msg, int64_t now) const {
  if (!IsValidSessionId(id)) return BadId();
  if (user_msg.size() > kMaxMessageBytes || assistant_msg.size() > kMaxMessageBytes) {
    return InvalidArgument("message_too_large", "a message exceeds kMaxMessageBytes");
  }
  Session session;
  session.created = session.updated = now;
  session.updated_ms = RecencyMs(now);
  session.messages.push_back(Message{Role::kUser, std::string(user_msg), now});
  session.messages.push_back(Message{Role::kAssistant, std::string(assistant_msg), now});
  BoundTranscript(&session, options_.max_messages, options_.max_record_bytes);
  return GroupCommit::Op([db = db_, lru = lru_, key = SessionKey(id), session](WriteTxn& txn) -> Status {
    Result<std::optional<std::string_view>> existing = txn.Get(db, key);
    if (!existing.ok()) return existing.status();
    if (existing->has_value()) return Internal("session_id_collision", "new session id already exists");
    return PutRecord(txn, db, lru, key, session, -1);
  });
}

Status SessionStore::StartWithTurn(std::string_view id, std::string_view user_msg, std::string_view assistant_msg,
                                   int64_t now) {
  Result<GroupCommit::Op> op = StartOp(id, user_msg, assistant_msg, now);
  if (!op.ok()) return op.status();
  return commits_->Write(std::move(op.value()));
}

void SessionStore::StartWithTurnAsync(std::string_view id, std::string_view user_msg, std::string_view assistant_msg,
                                      int64_t now, GroupCommit::Done done) {
  Result<GroupCommit::Op> op = StartOp(id, user_msg, assistant_msg, now);
  if (!op.ok()) return done(op.status());
  commits_->Submit(std::move(op.value()), std::move(done));
}

Result<Session> SessionStore::Get(std::string_view id, int64_t now) const {
  if (!IsValidSessionId(id)) return BadId();
  Result<ReadTxn> txn = store_->BeginRead();
  if (!txn.ok()) return txn.status();
  Result<std::optional<std::string_view>> bytes = txn->Get(db_, SessionKey(id));
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return SessionNotFound();
  Result<Session> session = DecodeSession(**bytes);  // copies out of the map
  if (!session.ok()) return session.status();
  if (Expired(session->updated, now)) return SessionNotFound();
  session->id = std::string(id);
  return session;
}

Result<GroupCommit::Op> SessionStore::AppendOp(std::string_view id, std::string_view user_msg,
                                               std::string_view assistant_msg, int64_t now) const {
  if (!IsValidSessionId(id)) return BadId();
  if (user_msg.size() > kMaxMessageBytes || assistant_msg.size() > kMaxMessageBytes) {
    return InvalidArgument("message_too_large", "a message exceeds kMaxMessageBytes");
  }
  // Captures values, not `this`: the op may run after this object moved.
  return GroupCommit::Op([db = db_, lru = lru_, options = options_, key = SessionKey(id),
                          user = std::string(user_msg), assistant = std::string(assistant_msg),
                          now](WriteTxn& txn) -> Status {
    Result<std::optional<std::string_view>> bytes = txn.Get(db, key);
    if (!bytes.ok()) return bytes.status();
    if (!bytes->has_value()) return SessionNotFound();
    Result<Session> session = DecodeSession(**bytes);  // owned copy before Put reuses pages
    if (!session.ok()) return session.status();
    const int64_t old_updated_ms = session->updated_ms;
    if (now - session->updated >= options.ttl_s) return SessionNotFound();  // expired
    session->messages.push_back(Message{Role::kUser, user, now});
    session->messages.push_back(Message{Role::kAssistant, assistant, now});
    BoundTranscript(&session.value(), options.max_messages, options.max_record_bytes);
    session->updated = now;
    session->updated_ms = RecencyMs(now);
    return PutRecord(txn, db, lru, key, *session, old_updated_ms);
  });
}

Status SessionStore::AppendTurn(std::string_view id, std::string_view user_msg, std::string_view assistant_msg,
                                int64_t now) {
  Result<GroupCommit::Op> op = AppendOp(id, user_msg, assistant_msg, now);
  if (!op.ok()) return op.status();
  return commits_->Write(std::move(op.value()));
}

void SessionStore::AppendTurnAsync(std::string_view id, std::string_view user_msg, std::string_view assistant_msg,
                                   int64_t now, GroupCommit::Done done) {
  Result<GroupCommit::Op> op = AppendOp(id, user_msg, assistant_msg, now);
  if (!op.ok()) return done(op.status());
  commits_->Submit(std::move(op.value()), std::move(done));
}

Status SessionStore::Delete(std::string_view id, int64_t now) {
  if (!IsValidSessionId(id)) return BadId();
  bool was_expired = false;
  const std::string key = SessionKey(id);
  Status s = commits_->Write([&](WriteTxn& txn) -> Status {
    Result<std::optional<std::string_view>> bytes = txn.Get(db_, key);
    if (!bytes.ok()) return bytes.status();
    if (!bytes->has_value()) return SessionNotFound();
    std::optional<RecordTimes> times = PeekTimes(**bytes);  // nullopt: corrupt, removed anyway
    was_expired = times.has_value() && Expired(times->updated, now);
    Result<bool> removed = txn.Delete(db_, key);
    if (!removed.ok()) return removed.status();
    if (times) {
      Result<bool> entry = txn.Delete(lru_, SessionIndexKey(times->updated_ms, key));
      if (!entry.ok()) return entry.status();
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  // Consistent with Get: an expired session did not exist for the caller.
  return was_expired ? SessionNotFound() : Status::Ok();
}

Result<std::vector<SessionSummary>> SessionStore::List(size_t limit, std::string_view after_id, int64_t now) const {
  limit = std::min(limit, kMaxListLimit);
  std::vector<SessionSummary> out;
  if (limit == 0) return out;
  Result<ReadTxn> txn = store_->BeginRead();
  if (!txn.ok()) return txn.status();
  const std::string after_key = after_id.empty() ? std::string() : SessionKey(after_id);
  Status s = txn->ForEach(db_, after_key, [&](std::string_view key, std::string_view value) {
    if (key == after_key) return true;
    Result<Session> session = DecodeSession(value);
    if (session.ok() && !Expired(session->updated, now)) {
      out.push_back(SessionSummary{IdOfSessionKey(key), session->created, session->updated, session->messages.size()});
    }
    return out.size() < limit;
  });
  if (!s.ok()) return s;
  return out;
}

Result<uint64_t> SessionStore::Count() const {
  Result<DbStats> stats = store_->Stat(db_);
  if (!stats.ok()) return stats.status();
  return stats->entries;
}

Status SessionStore::LastCommitStatus() const {
  GroupCommit::LastFailure failure = commits_->last_failure();
  if (failure.status.ok()) return failure.status;
  Result<StoreInfo> info = store_->EnvInfo();
  if (info.ok() && info->last_txn_id > failure.txn_id) return Status::Ok();  // committed since
  return failure.status;
}

Result<std::pair<int, bool>> SessionStore::DeleteOldest(size_t n, int64_t expired_at) {
  // Candidates from a read transaction (blocks nobody), re-checked in the write.
  std::vector<std::pair<std::string, std::string>> candidates;  // index entry, record key
  std::vector<int64_t> updated_of;
  bool more = false;
  {
    Result<ReadTxn> txn = store_->BeginRead();
    if (!txn.ok()) return txn.status();
    Status s = txn->ForEach(lru_, "", [&](std::string_view lru_key, std::string_view) {
      std::string key;
      int64_t updated_ms = 0;
      if (!SplitSessionIndexKey(lru_key, &key, &updated_ms)) updated_ms = 0;  // malformed: first to go
      if (expired_at > 0 && !Expired(updated_ms / 1000, expired_at)) return false;
      if (candidates.size() == n) {
        more = true;
        return false;
      }
      candidates.emplace_back(std::string(lru_key), std::move(key));
      updated_of.push_back(updated_ms);
      return true;
    });
    if (!s.ok()) return s;
  }
  if (candidates.empty()) return std::pair<int, bool>{0, false};
  int deleted = 0;
  Status s = store_->Write(
      [&](WriteTxn& txn) -> Status {
        deleted = 0;
        for (size_t i = 0; i < candidates.size(); ++i) {
          Result<bool> gone = DeleteIfUnchanged(txn, db_, lru_, candidates[i].first, candidates[i].second,
                                                updated_of[i], expired_at, options_.ttl_s);
          if (!gone.ok()) return gone.status();
          deleted += *gone ? 1 : 0;
        }
        return Status::Ok();
      },
      // A lost deletion only means the next sweep or eviction repeats it.
      Durability::kRelaxed);
  if (!s.ok()) return s;
  return std::pair<int, bool>{deleted, more};
}

Result<int> SessionStore::SweepExpired(int64_t now) {
  int deleted = 0;
  for (bool more = true; more;) {
    Result<std::pair<int, bool>> batch = DeleteOldest(kSweepBatch, now);
    if (!batch.ok()) return batch.status();
    deleted += batch->first;
    more = batch->second;
  }
  return deleted;
}

Result<int> SessionStore::EvictIfNearFull(size_t max_sessions) { return Evict(max_sessions, true); }

Result<int> SessionStore::Evict(size_t max_sessions, bool only_near_full) {
  const uint64_t reserve = store_->reserve_pages();
  if (only_near_full) {
    Result<bool> room = store_->HasFreePages(2 * reserve);
    if (!room.ok()) return room.status();
    if (*room) return 0;
  }
  // At least two batches: LMDB reuses a page freed by transaction K only
  // from K + 2 on (K's predecessor stays readable until K commits), so the
  // write that asked for room can use the first batch's pages at once.
  Result<DbStats> stats = store_->Stat(db_);
  if (!stats.ok()) return stats.status();
  const size_t per_batch = std::clamp<size_t>(stats->entries / 16, 1, kMaxEvictBatch);
  int evicted = 0;
  for (int batches = 1;; ++batches) {
    Result<std::pair<int, bool>> batch = DeleteOldest(std::min(per_batch, max_sessions - evicted), 0);
    if (!batch.ok()) return batch.status();
    evicted += batch->first;
    Result<bool> enough = store_->HasFreePages(3 * reserve);
    if (!enough.ok()) return enough.status();
    if ((*enough && batches >= 2) || !batch->second || static_cast<size_t>(evicted) >= max_sessions) break;
  }
  counters_->evicted.fetch_add(static_cast<uint64_t>(evicted), std::memory_order_relaxed);
  LogWarn("sessions_evicted", {{"count", evicted}, {"reason", "store near full: least recently used first"}});
  return evicted;
}

}  // namespace folio
