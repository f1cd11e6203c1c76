// redis_sessions.cc: see redis_sessions.h.
#include "redis_sessions.h"

#include <chrono>
#include <functional>
#include <random>
#include <thread>
#include <utility>

namespace folio {
namespace {

// Concurrent turns of one session (two tabs) are rare; a turn that loses
// the race this often in a row is refused rather than retried forever. After
// a lost race it waits a random moment below attempt × kBackoffStepUs, so
// racing writers stop colliding.
constexpr int kMaxTurnAttempts = 32;
constexpr int kBackoffStepUs = 200;

void BackOff(int attempt) {
  thread_local std::minstd_rand random(static_cast<unsigned>(std::hash<std::thread::id>()(std::this_thread::get_id())));
  std::this_thread::sleep_for(std::chrono::microseconds(random() % (static_cast<unsigned>(attempt + 1) * kBackoffStepUs)));
}

Status SessionNotFound() { return NotFound("session_not_found", "no such session, or it has expired"); }
Status BadId() { return InvalidArgument("invalid_session_id", "a session id is 22 base64url characters"); }

Status CheckTurn(std::string_view id, std::string_view user_msg, std::string_view assistant_msg) {
  if (!IsValidSessionId(id)) return BadId();
  if (user_msg.size() > kMaxMessageBytes || assistant_msg.size() > kMaxMessageBytes)
    return InvalidArgument("message_too_large", "a message exceeds kMaxMessageBytes");
  return Status::Ok();
}

}  // namespace

Status StoreStatus(const Status& redis_status) {
  if (redis_status.ok() || redis_status.code() != Code::kUnavailable) return redis_status;
  return Unavailable("store_unavailable", "The conversation store cannot be reached right now; retry in a moment.");
}

RedisSessions::RedisSessions(std::shared_ptr<RedisLink> link, SessionOptions options)
    : link_(std::move(link)), options_(std::move(options)) {}

std::string RedisSessions::KeyOf(std::string_view id) const { return link_->Key("session:" + std::string(id)); }

Status RedisSessions::Written(Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  // Only a store that cannot take writes is news for /api/health; a caller's
  // bad id or a session that expired is not.
  if (status.ok() || status.code() == Code::kUnavailable || status.code() == Code::kInternal) last_write_ = status;
  return status;
}

Status RedisSessions::LastCommitStatus() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_write_;
}

Status RedisSessions::PutNew(std::string_view id, const Session& session) {
  const std::string key = KeyOf(id);
  const std::string record = EncodeSession(session);
  const std::string ttl = std::to_string(TtlMs());
  Result<RedisReply> set = link_->Command({"SET", key, record, "NX", "PX", ttl});
  if (!set.ok()) return Written(StoreStatus(set.status()));
  // Two ids collide only if made in the same millisecond with the same 80
  // random bits; refusing beats overwriting someone's history.
  if (set->is_nil()) return Written(Internal("session_id_collision", "new session id already exists"));
  return Written(Status::Ok());
}

Result<std::string> RedisSessions::Create(int64_t now) {
  Result<std::string> id = NewSessionId();
  if (!id.ok()) return id.status();
  Session session;
  session.created = session.updated = now;
  session.updated_ms = now * 1000;
  if (Status s = PutNew(*id, session); !s.ok()) return s;
  return id;
}

Status RedisSessions::StartWithTurn(std::string_view id, std::string_view user_msg, std::string_view assistant_msg,
                                    int64_t now) {
  if (Status s = CheckTurn(id, user_msg, assistant_msg); !s.ok()) return s;
  Session session;
  session.created = session.updated = now;
  session.updated_ms = now * 1000;
  session.messages.push_back(Message{Role::kUser, std::string(user_msg), now});
  session.messages.push_back(Message{Role::kAssistant, std::string(assistant_msg), now});
  BoundTranscript(&session, options_.max_messages, options_.max_record_bytes);
  return PutNew(id, session);
}

Result<Session> RedisSessions::Get(std::string_view id, int64_t now) const {
  if (!IsValidSessionId(id)) return BadId();
  Result<RedisReply> got = link_->Command({"GET", KeyOf(id)});
  if (!got.ok()) return StoreStatus(got.status());
  if (got->is_nil()) return SessionNotFound();
  Result<Session> session = DecodeSession(got->str());
  if (!session.ok()) return session.status();
  if (now - session->updated >= options_.ttl_s) return SessionNotFound();
  session->id = std::string(id);
  return session;
}

Status RedisSessions::AppendTurn(std::string_view id, std::string_view user_msg, std::string_view assistant_msg,
                                 int64_t now) {
  if (Status s = CheckTurn(id, user_msg, assistant_msg); !s.ok()) return s;
  const std::string key = KeyOf(id);
  const std::string ttl = std::to_string(TtlMs());
  for (int attempt = 0; attempt < kMaxTurnAttempts; ++attempt) {
    // WATCH and GET in one round trip: EXEC below then fails (nil) if any
    // other turn wrote the key in between, and this one is redone on the
    // fresh record.
    Result<std::vector<RedisReply>> read = link_->Pipeline({{"WATCH", key}, {"GET", key}});
    if (!read.ok()) return Written(StoreStatus(read.status()));
    const RedisReply& bytes = (*read)[1];
    // An error reply (a Redis still loading its AOF after a restart) is not
    // a missing session: the turn waits for the store, the session stays.
    if ((*read)[0].is_error() || bytes.is_error()) {
      (void)link_->Command({"UNWATCH"});
      const std::string why((*read)[0].is_error() ? (*read)[0].str() : bytes.str());
      return Written(StoreStatus(Unavailable("redis_unavailable", why)));
    }
    Result<Session> session = bytes.is_string() ? DecodeSession(bytes.str()) : Result<Session>(SessionNotFound());
    if (!session.ok() || now - session->updated >= options_.ttl_s) {
      (void)link_->Command({"UNWATCH"});
      return session.ok() ? SessionNotFound() : session.status();
    }
    session->messages.push_back(Message{Role::kUser, std::string(user_msg), now});
    session->messages.push_back(Message{Role::kAssistant, std::string(assistant_msg), now});
    BoundTranscript(&session.value(), options_.max_messages, options_.max_record_bytes);
    session->updated = now;
    session->updated_ms = now * 1000;
    const std::string record = EncodeSession(*session);
    Result<std::vector<RedisReply>> write =
        link_->Pipeline({{"MULTI"}, {"SET", key, record, "PX", ttl}, {"EXEC"}});
    if (!write.ok()) return Written(StoreStatus(write.status()));
    const RedisReply& exec = (*write)[2];
    if (exec.is_error()) return Written(StoreStatus(Unavailable("redis_unavailable", std::string(exec.str()))));
    if (!exec.is_nil()) return Written(Status::Ok());
    BackOff(attempt);
  }
  return Written(Unavailable("store_busy", "This conversation is being written by other requests; retry."));
}

Status RedisSessions::Delete(std::string_view id, int64_t now) {
  if (!IsValidSessionId(id)) return BadId();
  // GETDEL: one round trip that also says whether the session had expired
  // by `now` (removed all the same, and NotFound, as on LMDB).
  Result<RedisReply> deleted = link_->Command({"GETDEL", KeyOf(id)});
  if (!deleted.ok()) return StoreStatus(deleted.status());
  if (!deleted->is_string()) return SessionNotFound();
  Result<Session> session = DecodeSession(deleted->str());
  if (session.ok() && now - session->updated >= options_.ttl_s) return SessionNotFound();
  return Status::Ok();
}

}  // namespace folio
