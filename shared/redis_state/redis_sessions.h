// redis_sessions.h: conversations in Redis, for several folio instances
// behind one load balancer: a session started through one continues
// through any other. One string key per session (STATE_PREFIX + "session:"
// + id) holding the same versioned record as the LMDB store
// (session_record.h), with a TTL of SESSION_TTL_S renewed by every turn, so
// Redis expires idle sessions itself. A turn is a read-modify-write under
// WATCH/MULTI/EXEC (retried on a concurrent turn), bounded by
// SESSION_MAX_MESSAGES and SESSION_MAX_KB like the LMDB store.
//
// Durability is Redis's: a turn is acknowledged once Redis has it, and
// survives a Redis restart when Redis runs with `appendonly yes` and
// `appendfsync always` (docs/OPERATIONS.md). While Redis is unreachable every
// call fails with Unavailable("store_unavailable"): the chat handler then
// answers without the conversation's history and says the turn was not
// saved; nothing acknowledged is lost. Safe from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "redis_link.h"
#include "sessions.h"
#include "state_backend.h"

namespace folio {

class RedisSessions : public SessionBackend {
 public:
  RedisSessions(std::shared_ptr<RedisLink> link, SessionOptions options);

  Result<std::string> Create(int64_t now) override;
  Result<Session> Get(std::string_view id, int64_t now) const override;
  Status AppendTurn(std::string_view id, std::string_view user_msg, std::string_view assistant_msg,
                    int64_t now) override;
  Status StartWithTurn(std::string_view id, std::string_view user_msg, std::string_view assistant_msg,
                       int64_t now) override;
  Status Delete(std::string_view id, int64_t now) override;
  Status LastCommitStatus() const override;
  // Redis expires sessions by their TTL and bounds its memory itself
  // (maxmemory, docs/OPERATIONS.md): nothing to sweep or evict here.
  Result<int> SweepExpired(int64_t) override { return 0; }
  Result<int> EvictIfNearFull(size_t) override { return 0; }
  uint64_t evicted() const override { return 0; }

 private:
  std::string KeyOf(std::string_view id) const;
  int64_t TtlMs() const { return options_.ttl_s * 1000; }
  // Stores `session` as a new key: Internal("session_id_collision") if it exists.
  Status PutNew(std::string_view id, const Session& session);
  // Remembers the outcome of a write for LastCommitStatus().
  Status Written(Status status);

  std::shared_ptr<RedisLink> link_;
  SessionOptions options_;
  mutable std::mutex mu_;
  Status last_write_;  // guarded by mu_
};

// A Redis call's failure as the handlers show it: unreachable becomes
// Unavailable("store_unavailable") with a message for a person.
Status StoreStatus(const Status& redis_status);

}  // namespace folio
