// circuit_breaker.h: the LLM circuit breaker, shared by every worker process.
// Its state is a page of lock-free atomics in a file mapped MAP_SHARED
// ($RUN_DIR/breaker.shm), so failures seen by one worker open it for all.
// Safe from any thread of any process. A CircuitBreaker owns its mapping
// (RAII, not copyable); the file outlives it. Times are unix milliseconds
// (UnixMs() in clock.h: the clock every process agrees on).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "shm_file.h"
#include "status.h"

namespace folio {

enum class BreakerState { kClosed, kOpen, kHalfOpen };

// "closed" | "open" | "half_open", for /api/health and metrics.
const char* BreakerStateName(BreakerState state);

struct CircuitBreakerOptions {
  // Consecutive upstream failures (across all processes) that open it.
  int failure_threshold = 5;
  // How long it stays open before one caller may try again (half-open).
  std::chrono::milliseconds cooldown{30000};
  // How long a half-open trial may take before another caller may try: a
  // trial holder that died or hung must not wedge the breaker. Set it to the
  // request timeout, the longest a trial call can legitimately run.
  std::chrono::milliseconds trial_lease{30000};
};

// A consistent-enough copy of the shared state (each field is read
// atomically, the set is not: good for health pages, not for decisions).
struct BreakerSnapshot {
  BreakerState state = BreakerState::kClosed;
  int64_t consecutive_failures = 0;
  int64_t open_until_ms = 0;    // 0 while closed
  int64_t last_change_ms = 0;   // last explicit open/close; 0 = never
  int64_t total_opens = 0;      // since the file was created
  bool trial_in_flight = false;  // half-open and a caller holds the trial lease
  bool key_rejected = false;     // the upstream answered 401/403 to our key
};

class CircuitBreaker {
 public:
  ~CircuitBreaker();
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // Maps `path`, creating it (0600) if needed. A file of the wrong size or
  // with a foreign magic/version (garbage, a crash mid-init, an older
  // layout) is re-initialised to "closed" — losing breaker state is always
  // safe. Initialisation is serialised across processes (shm_file.h).
  // Internal ("breaker_file") when the file cannot be opened or mapped.
  static Result<std::unique_ptr<CircuitBreaker>> Open(const std::string& path, CircuitBreakerOptions options = {});
  // The same breaker over private memory: per process, for tests and for
  // tools that run without a RUN_DIR.
  static std::unique_ptr<CircuitBreaker> InMemory(CircuitBreakerOptions options = {});

  // May a call go upstream now? Closed: true. Open: false (go straight to
  // the fallback, never wait). Half-open: true for exactly one caller in any
  // process (it takes the trial lease), false for the rest until that
  // caller records an outcome or its lease expires.
  bool Allow(int64_t now_ms);
  // An upstream call succeeded: closes the breaker (from any state; a late
  // success is still proof the upstream works) and clears key_rejected.
  void RecordSuccess(int64_t now_ms);
  // An upstream call failed in a way that is the upstream's fault
  // (connection, timeout, 429, 5xx, malformed answer). Opens the breaker at
  // the threshold; a failed half-open trial re-opens it for a new cooldown.
  // Callers must not record 400/401/403/404 or their own cancellations.
  void RecordFailure(int64_t now_ms);

  // Set on 401/403 (health shows "invalid key"); cleared by a success.
  // Independent of the open/closed state: a bad key is not an outage.
  void SetKeyRejected(bool rejected);
  bool key_rejected() const;

  BreakerState State(int64_t now_ms) const;
  BreakerSnapshot Snapshot(int64_t now_ms) const;
  const CircuitBreakerOptions& options() const { return options_; }
  // "" for an in-memory breaker.
  const std::string& path() const { return mapping_.path(); }

  struct Shared;  // the mapped layout; defined in the .cc

 private:
  CircuitBreaker(SharedMapping mapping, CircuitBreakerOptions options);

  SharedMapping mapping_;
  Shared* shared_;  // points into mapping_
  const CircuitBreakerOptions options_;
};

}  // namespace folio
