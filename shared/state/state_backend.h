// state_backend.h: what a worker keeps between requests and shares with
// every other worker — conversations, finished answers, the in-flight table
// that makes identical concurrent questions cost one LLM call, and the
// per-client limits — as four interfaces the handlers call without knowing
// where the state lives. Two implementations exist: LMDB and shared memory
// on one machine (sessions.h, response_cache.h, inflight.h,
// client_limits.h; the default), and Redis for several instances behind one
// load balancer (shared/redis_state). Each interface states the promises both
// keep; one parametrised suite per interface holds both to them
// (tests/unit/session_backends_test.cc, inflight_backends_test.cc,
// limits_backends_test.cc, cache_backends_test.cc).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache_record.h"
#include "clock.h"
#include "limits_backend.h"
#include "session_record.h"
#include "status.h"

namespace folio {

struct SessionSummary {
  std::string id;
  int64_t created = 0;
  int64_t updated = 0;
  size_t messages = 0;
};

// Conversations. Times are unix seconds (`now`); a session expires ttl_s
// after its last turn. A turn is acknowledged only once it is durable as
// the backend defines it (LMDB: synced to disk; Redis: as its AOF setting,
// docs/OPERATIONS.md). Errors: InvalidArgument("invalid_session_id") for a
// malformed id, NotFound("session_not_found") for an absent or expired one,
// Unavailable for a store that cannot be reached now (Redis down).
class SessionBackend {
 public:
  using Done = std::function<void(const Status&)>;
  virtual ~SessionBackend() = default;

  virtual Result<std::string> Create(int64_t now) = 0;
  virtual Result<Session> Get(std::string_view id, int64_t now) const = 0;
  // Appends a user and an assistant message, trims the transcript to its
  // message and byte bounds and sets updated = now, atomically.
  virtual Status AppendTurn(std::string_view id, std::string_view user_msg, std::string_view assistant_msg,
                            int64_t now) = 0;
  // Creates session `id` (NewSessionId()) holding its first turn, atomically:
  // a session exists once its first turn is stored.
  virtual Status StartWithTurn(std::string_view id, std::string_view user_msg, std::string_view assistant_msg,
                               int64_t now) = 0;
  // The same, returning at once: `done` gets the result once the turn is
  // durable or has failed (on another thread, or on this one). It must not
  // block. The default runs the synchronous call.
  virtual void StartWithTurnAsync(std::string_view id, std::string_view user_msg, std::string_view assistant_msg,
                                  int64_t now, Done done) {
    done(StartWithTurn(id, user_msg, assistant_msg, now));
  }
  virtual void AppendTurnAsync(std::string_view id, std::string_view user_msg, std::string_view assistant_msg,
                               int64_t now, Done done) {
    done(AppendTurn(id, user_msg, assistant_msg, now));
  }
  virtual Status Delete(std::string_view id, int64_t now) = 0;
  // Why this process's last turn failed to be stored, or OK once the store
  // takes writes again (for /api/health).
  virtual Status LastCommitStatus() const = 0;
  // Housekeeping: deletes expired sessions and makes room in a nearly full
  // store; backends whose server expires keys itself return 0.
  virtual Result<int> SweepExpired(int64_t now) = 0;
  virtual Result<int> EvictIfNearFull(size_t max_sessions = 20000) = 0;
  // Sessions this process evicted to make room.
  virtual uint64_t evicted() const = 0;
};

struct CacheStats {
  // Totals shared by every process, plus this process's counts not yet flushed.
  uint64_t hits = 0, misses = 0;
  double hit_rate = 0;  // hits / (hits + misses); 0 before any lookup
  uint64_t entries = 0;
  uint64_t bytes = 0;   // charged: key + record + LRU index key per entry
  uint64_t evictions = 0, expirations = 0, coalesced = 0, upstream_saved = 0;
  uint64_t map_used_bytes = 0, map_size_bytes = 0;  // of the environment
  // This process only: disabled after a Put found the map full even after
  // evicting (reason says why); Clear() re-enables.
  bool disabled = false;
  std::string disabled_reason;
  // This process only: Put's write transaction, µs (p50/p99 within 10%),
  // from asking for LMDB's writer lock to the commit: the wait for other
  // writers (any process) included.
  uint64_t put_count = 0, put_last_us = 0, put_peak_us = 0, put_p50_us = 0, put_p99_us = 0;
  // This process only: every cache write transaction (puts, touches, count
  // flushes, purges), µs holding the writer lock — how long it kept others
  // waiting.
  uint64_t txn_count = 0, txn_p50_us = 0, txn_p99_us = 0, txn_peak_us = 0;
  std::string error;  // set if the totals could not be read (the rest is partial)
};

// Finished answers under a key that names everything they depend on
// (cache_key.h: the question, the history, the model, the prompt and the KB
// versions), expiring ttl_s after they were stored. Callers treat every
// error as a miss. Times are unix milliseconds.
class CacheBackend {
 public:
  virtual ~CacheBackend() = default;
  virtual Result<std::optional<CachedAnswer>> Get(std::string_view key, int64_t now_ms) = 0;
  virtual Status Put(std::string_view key, std::string_view payload, int64_t now_ms) = 0;
  // Deletes every entry this backend shares (and its local copies).
  virtual Status Clear() = 0;
  virtual CacheStats Stats() const = 0;
  virtual void CountCoalesced(uint64_t n) = 0;
  virtual void CountUpstreamSaved(uint64_t n) = 0;
  // Housekeeping: fold this process's counts into the shared totals,
  // delete expired entries, free reader slots of dead processes.
  virtual Status Flush() = 0;
  virtual Result<int> PurgeExpired(int64_t now_ms, int max_batch) = 0;
  virtual Result<int> ClearStaleReaders() = 0;
};

// What Join() made the caller.
//  kLeader: call upstream; Heartbeat() at least every lease_ms / 3 (and at
//    most every ~100 ms), then Complete() or Fail() — even when the call was
//    cancelled, so followers need not wait for the lease to run out.
//  kFollower: Wait() for the leader's result.
enum class InflightRole { kLeader, kFollower };

struct FollowResult {
  enum class Outcome {
    kDone,      // payload: the leader's answer (as passed to Complete)
    kFailed,    // payload: the failure kind the leader shared (as passed to Fail)
    kTakeOver,  // the leader died or its lease ran out: Join() again
  };
  Outcome outcome = Outcome::kTakeOver;
  std::string payload;
};

// Coalescing: identical concurrent requests (same cache key) make one
// upstream call, across every process (and, on Redis, every instance).
// Exactly one caller leads a key at a time; a leader that dies or stops
// heartbeating loses its lease and one follower takes over; a finished
// answer keeps answering joiners for a short linger; a failure is shared
// with the followers already waiting, never with later questions.
class InflightBackend {
 public:
  using Role = InflightRole;
  // Receives each new piece of the leader's streamed text, in order.
  using PartialFn = std::function<void(std::string_view delta)>;
  virtual ~InflightBackend() = default;

  // InvalidArgument for an empty key or one over 256 bytes. lease_ms > 0.
  virtual Result<Role> Join(std::string_view key, int64_t lease_ms, int64_t now_ms) = 0;
  // The leader extends its lease and publishes the whole text streamed so
  // far ("" keeps what is published). NotFound("inflight_not_leader") once
  // another caller took the key over: keep going and Complete anyway.
  virtual Status Heartbeat(std::string_view key, int64_t now_ms, std::string_view partial_text) = 0;
  // Publishes the answer (from any caller: an answer is an answer).
  virtual Status Complete(std::string_view key, std::string_view payload) = 0;
  // Publishes a failure kind; only from the leader (NotFound
  // "inflight_not_leader" otherwise).
  virtual Status Fail(std::string_view key, std::string_view failure) = 0;
  // For followers: until the leader finishes, dies or loses its lease
  // (kTakeOver), or `deadline` (DeadlineExceeded "inflight_deadline").
  virtual Result<FollowResult> Wait(std::string_view key, const Deadline& deadline,
                                    std::chrono::milliseconds poll_interval = std::chrono::milliseconds(5),
                                    const PartialFn& on_partial = nullptr) = 0;
  // Housekeeping: deletes finished and abandoned entries; returns how many.
  virtual Result<int> Purge(int64_t now_ms) = 0;
  // Entries held now, for /metrics; nullopt when the backend cannot tell cheaply.
  virtual std::optional<int64_t> Entries() const { return std::nullopt; }
};

// Where the state lives, as /api/health and /metrics report it.
struct StateHealth {
  std::string backend = "lmdb";  // "lmdb" | "redis"
  bool degraded = false;         // Redis unreachable: answering with local state only
  std::string reason;            // why, when degraded
  std::string location;          // a path, or the Redis URL without its password
};

}  // namespace folio
