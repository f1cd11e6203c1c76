// redis_limits.h: the limits of limits_backend.h kept in Redis, so every
// folio instance behind a load balancer counts against one set of budgets.
// Each decision is one Lua script, atomic in Redis and timed by the Redis
// server's clock (the callers' now_ms is ignored while Redis answers, so
// instances with skewed clocks agree). While Redis is unreachable every
// decision comes from `local` (this machine's ClientLimits) and is counted
// in Snapshot().fallbacks. Safe from any thread; open it in the process that
// uses it (after fork()). Tickets and slots borrow it and must be destroyed
// before it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "clock.h"
#include "limits_backend.h"
#include "redis_link.h"
#include "status.h"

namespace folio {

struct RedisLimitsOptions {
  // How long a concurrency ticket holds its place in Redis unless released
  // first: the longest a request can run (REQUEST_TIMEOUT and then some). A
  // ticket of an instance that died, or whose release found Redis down,
  // comes back after this long.
  int64_t ticket_lease_ms = 120000;
  // The same for an upstream slot: the longest an LLM call can run.
  int64_t slot_lease_ms = 120000;
  // How long TokenBudgetSpent() and TokensSpentToday() may answer from this
  // process's last reading instead of asking Redis (≤ 1000 keeps the
  // overshoot of the daily budget to about a second of spending).
  int64_t token_cache_ms = 1000;
};

class RedisLimits : public LimitsBackend {
 public:
  RedisLimits(const RedisLimits&) = delete;
  RedisLimits& operator=(const RedisLimits&) = delete;

  // Never touches Redis (it may be down at startup: decisions then come from
  // `local`). `local` should have been opened with the same `options`.
  // InvalidArgument("redis_limits") when `link` or `local` is missing.
  static Result<std::unique_ptr<RedisLimits>> Open(std::shared_ptr<RedisLink> link,
                                                   std::unique_ptr<LimitsBackend> local, LimitOptions options,
                                                   RedisLimitsOptions redis_options = {});

  // As in limits_backend.h, across every instance sharing the Redis and the
  // key prefix. Admit is one round trip (rate and concurrency in one script);
  // an allowed request's ticket is a lease of ticket_lease_ms. A budget of 0
  // costs no round trip.
  Decision Admit(std::string_view client_id, int64_t now_ms) override;
  Decision AdmitExpensive(std::string_view client_id, int64_t now_ms) override;
  Decision AdmitNewSession(std::string_view client_id, int64_t now_ms) override;

  // Today is the Redis server's UTC day. The two readers may answer from a
  // reading up to token_cache_ms old; SpendTokens refreshes it.
  bool TokenBudgetSpent(int64_t now_ms) const override;
  void SpendTokens(int64_t tokens, int64_t now_ms) override;
  int64_t TokensSpentToday(int64_t now_ms) const override;

  // Tries, then retries with a backoff of 5 ms doubling to 50 ms (sooner
  // when a slot of this process is released) until `deadline`: then
  // Unavailable("shed"). An expired deadline gets one try. If Redis becomes
  // unreachable while waiting, the rest of the wait is local's.
  Result<UpstreamSlot> AcquireUpstreamSlot(const Deadline& deadline) override;

  // local's ReclaimDead(): Redis leases expire by themselves.
  int ReclaimDead() override;

  // local's counters (this machine) plus this process's Redis-side ones;
  // upstream_in_use is the Redis count of live slots (all instances) when
  // Redis answers; requests_in_flight counts this machine's local tickets
  // and this process's Redis ones.
  LimitsSnapshot Snapshot() const override;
  const LimitOptions& options() const override { return options_; }

 private:
  RedisLimits(std::shared_ptr<RedisLink> link, std::unique_ptr<LimitsBackend> local, LimitOptions options,
              RedisLimitsOptions redis_options);

  Decision AdmitRate(std::string_view budget, int limit, std::atomic<int64_t>& denied, std::string_view client_id,
                     int64_t now_ms, Decision (LimitsBackend::*fallback)(std::string_view, int64_t));
  // The day's spend from Redis, or from local when Redis fails.
  int64_t SpentToday(int64_t now_ms) const;
  // The key of one client's budget ("req", "exp", "ses", "run"), from the
  // 64-bit hash of its id (the ticket's first word).
  std::string ClientKey(uint64_t client_hash, std::string_view budget) const;
  // A ticket's or slot's member in its sorted set: this object's random
  // token and the serial number (a ticket's second word).
  std::string Member(uint64_t serial) const;
  // A ticket's words: the client's hash and the serial. A slot's: 0 and the serial.
  void ReleaseTicket(uint64_t client_hash, uint64_t serial) override;
  void ReleaseSlot(uint64_t unused, uint64_t serial) override;
  void CountFallback(const Status& why) const;

  const std::shared_ptr<RedisLink> link_;
  const std::unique_ptr<LimitsBackend> local_;
  const LimitOptions options_;
  const RedisLimitsOptions redis_options_;
  const std::string token_;  // 16 random hex digits: this object's tickets among all instances'
  std::atomic<uint64_t> serial_{0};

  // This process's Redis-side counts (Snapshot).
  mutable std::atomic<int64_t> fallbacks_{0};
  std::atomic<int64_t> denied_rate_{0}, denied_expensive_{0}, denied_sessions_{0}, denied_concurrent_{0};
  std::atomic<int64_t> shed_{0}, tickets_held_{0}, upstream_peak_{0};

  // The last reading of the day's spend and when (steady ms), for the readers.
  mutable std::atomic<int64_t> spent_cached_{0};
  mutable std::atomic<int64_t> spent_read_at_{INT64_MIN / 2};  // long ago, without overflowing a subtraction

  // Wakes this process's waiters for an upstream slot when one of its own is released.
  std::mutex slot_mu_;
  std::condition_variable slot_released_;
  uint64_t slot_releases_ = 0;  // guarded by slot_mu_
};

}  // namespace folio
