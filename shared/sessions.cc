// sessions.cc: session records and their lifecycle.
//
// Record format, version 1 (all integers little-endian, fixed width):
//   u8 version = 1 | i64 created | i64 updated | u32 count |
//   count × ( u8 role (1 user, 2 assistant) | i64 ts | u32 length | length bytes )
// Binary rather than JSON because decoding it is a handful of bounds checks, with
// no allocator-driven parser to harden; the leading version byte lets a later
// format coexist with old records. created/updated sit at fixed offsets so the
// sweep can read expiry without decoding messages.
//
// Expiry is lazy: Get/AppendTurn treat an expired record as absent, and
// SweepExpired() reclaims the space. A sweep collects candidates in a read
// transaction (which blocks nobody) and re-checks each one inside the write
// transaction that deletes it, so a session that got a turn in between survives.
#include "sessions.h"

#include <sys/random.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <optional>

#include "log.h"

namespace folio {
namespace {

constexpr uint8_t kFormatVersion = 1;
constexpr size_t kHeaderBytes = 1 + 8 + 8 + 4;
constexpr size_t kMessageHeaderBytes = 1 + 8 + 4;
constexpr size_t kSweepBatch = 500;        // deletions per write transaction
constexpr size_t kSweepScanLimit = 5000;   // records visited per read transaction
constexpr size_t kMaxListLimit = 1000;

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr size_t kIdChars = 22;   // 128 bits, 6 per character
// The last 8 characters of a new id hold the low 44 bits of its creation
// time in milliseconds (the character before them holds the 4 bits above
// with 2 random ones). SessionKey() puts them first.
constexpr size_t kTimeChars = 8;

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

// Reads fixed-width fields from untrusted bytes; every read is bounds-checked.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool U8(uint8_t* v) {
    if (bytes_.size() < 1) return false;
    *v = static_cast<uint8_t>(bytes_[0]);
    bytes_.remove_prefix(1);
    return true;
  }
  bool U32(uint32_t* v) { return Fixed(4, v); }
  bool I64(int64_t* v) {
    uint64_t u = 0;
    if (!Fixed(8, &u)) return false;
    *v = static_cast<int64_t>(u);
    return true;
  }
  bool Bytes(size_t n, std::string* out) {
    if (bytes_.size() < n) return false;
    out->assign(bytes_.data(), n);
    bytes_.remove_prefix(n);
    return true;
  }
  size_t remaining() const { return bytes_.size(); }

 private:
  template <typename T>
  bool Fixed(size_t n, T* v) {
    if (bytes_.size() < n) return false;
    T out = 0;
    for (size_t i = 0; i < n; ++i) out |= static_cast<T>(static_cast<uint8_t>(bytes_[i])) << (8 * i);
    *v = out;
    bytes_.remove_prefix(n);
    return true;
  }
  std::string_view bytes_;
};

Status Corrupt(const char* why) { return Internal("corrupt_record", std::string("session record: ") + why); }
Status SessionNotFound() { return NotFound("session_not_found", "no such session, or it has expired"); }
Status BadId() { return InvalidArgument("invalid_session_id", "a session id is 22 base64url characters"); }

// `updated` of a record, read from its fixed-offset header.
std::optional<int64_t> PeekUpdated(std::string_view bytes) {
  Reader r(bytes);
  uint8_t version = 0;
  int64_t created = 0, updated = 0;
  if (!r.U8(&version) || version != kFormatVersion || !r.I64(&created) || !r.I64(&updated)) return std::nullopt;
  return updated;
}

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
  const uint64_t ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
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
  size_t size = kHeaderBytes;
  for (const Message& m : session.messages) size += kMessageHeaderBytes + m.content.size();
  out.reserve(size);
  out.push_back(static_cast<char>(kFormatVersion));
  PutU64(&out, static_cast<uint64_t>(session.created));
  PutU64(&out, static_cast<uint64_t>(session.updated));
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
  Reader r(bytes);
  uint8_t version = 0;
  uint32_t count = 0;
  Session s;
  if (!r.U8(&version)) return Corrupt("empty");
  if (version != kFormatVersion) return Corrupt("unknown version");
  if (!r.I64(&s.created) || !r.I64(&s.updated) || !r.U32(&count)) return Corrupt("truncated header");
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

// ---- SessionStore ----------------------------------------------------------

Result<SessionStore> SessionStore::Open(Store* store, SessionOptions options) {
  Result<Db> db = store->Database(kSessionsDb);
  if (!db.ok()) return db.status();
  if (options.max_history_messages == 0 || options.ttl_s <= 0) {
    return InvalidArgument("bad_session_options", "max_history_messages and ttl_s must be positive");
  }
  return SessionStore(store, *db, options);
}

Result<std::string> SessionStore::Create(int64_t now) {
  Result<std::string> id = NewSessionId();
  if (!id.ok()) return id.status();
  Session session;
  session.created = session.updated = now;
  const std::string record = EncodeSession(session);
  Status s = commits_->Write([&](WriteTxn& txn) -> Status {
    const std::string key = SessionKey(*id);
    Result<std::optional<std::string_view>> existing = txn.Get(db_, key);
    if (!existing.ok()) return existing.status();
    // Two ids collide only if made in the same millisecond with the same 80
    // random bits; refusing beats overwriting someone's history.
    if (existing->has_value()) return Internal("session_id_collision", "new session id already exists");
    return txn.Put(db_, key, record);
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
  session.messages.push_back(Message{Role::kUser, std::string(user_msg), now});
  session.messages.push_back(Message{Role::kAssistant, std::string(assistant_msg), now});
  if (session.messages.size() > options_.max_history_messages) {
    session.messages.erase(session.messages.begin(),
                           session.messages.end() - static_cast<ptrdiff_t>(options_.max_history_messages));
  }
  return GroupCommit::Op([db = db_, key = SessionKey(id), record = EncodeSession(session)](WriteTxn& txn) -> Status {
    Result<std::optional<std::string_view>> existing = txn.Get(db, key);
    if (!existing.ok()) return existing.status();
    if (existing->has_value()) return Internal("session_id_collision", "new session id already exists");
    return txn.Put(db, key, record);
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
  return GroupCommit::Op([db = db_, options = options_, key = SessionKey(id), user = std::string(user_msg),
                          assistant = std::string(assistant_msg), now](WriteTxn& txn) -> Status {
    Result<std::optional<std::string_view>> bytes = txn.Get(db, key);
    if (!bytes.ok()) return bytes.status();
    if (!bytes->has_value()) return SessionNotFound();
    Result<Session> session = DecodeSession(**bytes);  // owned copy before Put reuses pages
    if (!session.ok()) return session.status();
    if (now - session->updated >= options.ttl_s) return SessionNotFound();  // expired
    std::vector<Message>& messages = session->messages;
    messages.push_back(Message{Role::kUser, user, now});
    messages.push_back(Message{Role::kAssistant, assistant, now});
    if (messages.size() > options.max_history_messages) {
      messages.erase(messages.begin(), messages.end() - static_cast<ptrdiff_t>(options.max_history_messages));
    }
    session->updated = now;
    return txn.Put(db, key, EncodeSession(*session));
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
    std::optional<int64_t> updated = PeekUpdated(**bytes);  // nullopt: corrupt, removed anyway
    was_expired = updated.has_value() && Expired(*updated, now);
    Result<bool> removed = txn.Delete(db_, key);
    return removed.ok() ? Status::Ok() : removed.status();
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

Result<int> SessionStore::SweepExpired(int64_t now) {
  int deleted = 0;
  size_t unreadable = 0;
  std::string resume;  // last key visited; the next scan starts after it
  for (bool more = true; more;) {
    std::vector<std::string> candidates;
    {
      Result<ReadTxn> txn = store_->BeginRead();
      if (!txn.ok()) return txn.status();
      size_t visited = 0;
      bool stopped = false;
      Status s = txn->ForEach(db_, resume, [&](std::string_view key, std::string_view value) {
        if (!resume.empty() && key == resume) return true;
        std::optional<int64_t> updated = PeekUpdated(value);
        if (!updated) {
          ++unreadable;
        } else if (Expired(*updated, now)) {
          candidates.emplace_back(key);
        }
        resume.assign(key);
        stopped = ++visited >= kSweepScanLimit || candidates.size() >= kSweepBatch;
        return !stopped;
      });
      if (!s.ok()) return s;
      more = stopped;  // otherwise the scan reached the last record
    }
    if (candidates.empty()) continue;
    int batch = 0;
    Status s = store_->Write(
        [&](WriteTxn& txn) -> Status {
          batch = 0;
          for (const std::string& key : candidates) {  // storage keys, as scanned
            Result<std::optional<std::string_view>> bytes = txn.Get(db_, key);
            if (!bytes.ok()) return bytes.status();
            if (!bytes->has_value()) continue;  // deleted meanwhile
            std::optional<int64_t> updated = PeekUpdated(**bytes);
            if (!updated || !Expired(*updated, now)) continue;  // a turn arrived meanwhile
            Result<bool> removed = txn.Delete(db_, key);
            if (!removed.ok()) return removed.status();
            batch += *removed ? 1 : 0;
          }
          return Status::Ok();
        },
        // A lost deletion only means the next sweep deletes it again.
        Durability::kRelaxed);
    if (!s.ok()) return s;
    deleted += batch;
  }
  if (unreadable > 0) LogWarn("session_sweep_unreadable", {{"count", unreadable}});
  return deleted;
}

}  // namespace folio
