// redis_inflight.h: request coalescing across instances: the in-flight table
// (state_backend.h, InflightBackend) on a Redis server that several folio
// instances share, so that identical concurrent questions anywhere behind
// the load balancer make one upstream call. While Redis cannot be reached,
// a key is coalesced within this instance only, by the `local` backend (the
// LMDB table). Safe from any thread; each object is one owner of the keys it
// leads (two objects are two instances) and runs one renewal thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "inflight.h"
#include "redis_link.h"
#include "state_backend.h"
#include "status.h"

namespace folio {

// How long a leader that stopped running (kill -9, machine lost) keeps its
// keys: its renewal thread extends their leases this far ahead every third
// of it. Short enough that followers take over within seconds, long enough
// that a slow Redis round trip (command_timeout_ms) or two does not lose a
// live leader's key.
inline constexpr int64_t kRedisLivenessMs = 3000;

class RedisInflight : public InflightBackend {
 public:
  // `link` is shared with the other Redis backends of the process. `local`
  // (may be null: errors are then returned) serves the keys joined while
  // Redis was unreachable. options.linger_ms: how long a finished answer
  // keeps answering joiners (liveness_check_ms is not used: see
  // liveness_ms). liveness_ms: as kRedisLivenessMs; tests pass less.
  // InvalidArgument for a null link or a non-positive liveness_ms. Needs no
  // Redis yet: keys go to `local` until it answers.
  static Result<std::unique_ptr<RedisInflight>> Open(std::shared_ptr<RedisLink> link,
                                                     std::unique_ptr<InflightBackend> local,
                                                     InflightOptions options = {},
                                                     int64_t liveness_ms = kRedisLivenessMs);
  // Stops the renewal thread (waits for at most one Redis call). The keys
  // this object still leads then lapse within liveness_ms, as a dead
  // instance's would.
  ~RedisInflight() override;
  RedisInflight(const RedisInflight&) = delete;
  RedisInflight& operator=(const RedisInflight&) = delete;

  // Leader if the key has neither a lingering answer nor a live lease, in
  // one atomic script; the lease lasts min(lease_ms, liveness_ms) on Redis's
  // clock and is renewed by this object until lease_ms after the last
  // Join or Heartbeat (this machine's monotonic clock; now_ms is not used,
  // so no two machines' clocks are ever compared). Redis unreachable: the
  // local backend decides, and the key stays there for this instance
  // (every call on it) until lease_ms + linger_ms after its last Join or
  // Heartbeat.
  Result<Role> Join(std::string_view key, int64_t lease_ms, int64_t now_ms) override;
  // Extends the lease to min(lease_ms, liveness_ms) from now and appends the
  // text past what was published before to the key's stream.
  // NotFound("inflight_not_leader") if this object does not hold the lease.
  // Unavailable if Redis did not answer (the text is sent again next time:
  // followers drop what they already have).
  Status Heartbeat(std::string_view key, int64_t now_ms, std::string_view partial_text) override;
  // Publishes the answer for linger_ms, from any caller; the first answer
  // stands. Ends the lease only if it is this object's (another leader
  // keeps its key, so that no third attempt starts while it runs).
  // NotFound("inflight_not_found") if the key has neither lease nor stream.
  Status Complete(std::string_view key, std::string_view payload) override;
  // Publishes a failure to the followers waiting now and ends the lease.
  // NotFound("inflight_not_leader") unless this object holds the lease.
  Status Fail(std::string_view key, std::string_view failure) override;
  // Blocks on the key's stream (XREAD BLOCK, at most 250 ms a call, no
  // polling; poll_interval is not used) until a result, a lost leader
  // (kTakeOver: no lease and no result), or `deadline`. on_partial first
  // gets the text the current leader has streamed so far as one piece, then
  // each new piece; pieces stop if the leader changes mid-wait. A Redis
  // that stops answering mid-wait is kTakeOver too: the caller's next
  // Join() decides, locally if need be.
  Result<FollowResult> Wait(std::string_view key, const Deadline& deadline,
                            std::chrono::milliseconds poll_interval = std::chrono::milliseconds(5),
                            const PartialFn& on_partial = nullptr) override;
  // The local backend's (Redis expires its keys itself); 0 without one.
  Result<int> Purge(int64_t now_ms) override;
  // The local backend's entries; nullopt without one (Redis cannot count
  // its in-flight keys cheaply).
  std::optional<int64_t> Entries() const override;

  // Joins that went to the local backend because Redis was unreachable
  // (for /metrics and /api/health).
  uint64_t fallbacks() const { return fallbacks_.load(std::memory_order_relaxed); }
  // This object's owner token as Redis stores it in leases: host, pid,
  // process start and a per-process object number.
  const std::string& token() const { return token_; }

 private:
  using Clock = std::chrono::steady_clock;
  // A key this object leads on Redis.
  struct Led {
    int64_t lease_ms = 0;
    Clock::time_point lease_until;  // the caller's lease: last Join/Heartbeat + lease_ms
    size_t published = 0;           // bytes of the text already on the stream
    uint64_t generation = 0;        // which Join made it (a later one replaces it)
  };
  // A key joined on the local backend while Redis was unreachable.
  struct LocalKey {
    Clock::time_point until;  // last Join/Heartbeat + lease_ms + linger_ms
    int64_t lease_ms = 0;
  };

  RedisInflight(std::shared_ptr<RedisLink> link, std::unique_ptr<InflightBackend> local, InflightOptions options,
                int64_t liveness_ms);

  // The local backend, if `key` was joined there and is still in its window.
  InflightBackend* LocalFor(std::string_view key);
  void RenewLoop();
  void RenewOnce();

  std::shared_ptr<RedisLink> link_;
  std::unique_ptr<InflightBackend> local_;
  const InflightOptions options_;
  const int64_t liveness_ms_;
  const std::string token_;
  std::atomic<uint64_t> fallbacks_{0};

  std::mutex mu_;  // guards everything below but renewer_
  std::map<std::string, Led, std::less<>> led_;              // by the caller's key
  std::map<std::string, LocalKey, std::less<>> local_keys_;  // by the caller's key
  uint64_t generation_ = 0;
  bool stopping_ = false;
  std::condition_variable wake_;
  std::thread renewer_;  // last: started once everything above exists
};

}  // namespace folio
