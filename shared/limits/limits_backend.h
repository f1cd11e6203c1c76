// limits_backend.h: the per-client budgets (requests, expensive requests,
// new sessions, concurrent requests), the day's LLM token budget and the
// global cap on concurrent LLM calls, as one interface with two
// implementations: shared memory on one machine (client_limits.h) and Redis
// across instances (shared/redis_state/redis_limits.h). Tickets and slots are
// leases: a process that dies without releasing them gets them back
// reclaimed (by pid on one machine, by expiry on Redis).
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>
#include <utility>

#include "clock.h"
#include "status.h"

namespace folio {

struct LimitOptions {
  // Requests per client per window (CLIENT_RPM); 0 = unlimited. Counts up to
  // 65535 per window are exact, beyond that saturate.
  int client_rpm = 100;
  // Requests that call the LLM, per client per window (CLIENT_EXPENSIVE_RPM), counted by
  // AdmitExpensive() separately from client_rpm; 0 = unlimited.
  int client_expensive_rpm = 20;
  // New sessions per client per window (CLIENT_SESSIONS_PER_MIN), counted
  // by AdmitNewSession(); 0 = unlimited.
  int client_sessions_per_min = 10;
  // LLM tokens (prompt + completion, as the provider reports them) all
  // processes may spend per UTC day (LLM_DAILY_TOKEN_BUDGET); 0 = unlimited.
  int64_t daily_token_budget = 0;
  // Requests a client may have running at once (CLIENT_MAX_CONCURRENT);
  // 0 = unlimited. At most 15 of them may run in one process (4-bit counters).
  int client_max_concurrent = 5;
  // Upstream LLM calls in flight across all processes (MAX_CONCURRENT_LLM);
  // 0 = unlimited, at most 256.
  int max_concurrent_llm = 8;
  // The rate window. Rates use a fixed window weighted by the previous one
  // (see client_limits.cc); at least 1000.
  int64_t window_ms = 60000;
  // Client slots (rounded up to a power of two, 64..4M; 64 bytes each). Used
  // only when the file is created: an existing file keeps its own size.
  uint32_t table_slots = 16384;
};

enum class DenyReason { kNone, kRate, kConcurrent };
// "none" | "rate" | "concurrent", for logs and error bodies.
const char* DenyReasonName(DenyReason reason);

class LimitsBackend;

// What a HeldPlace holds, so that a ticket cannot stand where a slot is meant.
enum class PlaceKind { kTicket, kUpstreamSlot };

// A place held in a LimitsBackend, given back exactly once: by Release() or
// by the destructor. Move-only. Empty (held() false) when nothing was taken.
template <PlaceKind Kind>
class HeldPlace {
 public:
  HeldPlace() = default;
  HeldPlace(HeldPlace&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)), a_(other.a_), b_(other.b_) {}
  HeldPlace& operator=(HeldPlace&& other) noexcept {
    if (this != &other) {
      Release();
      owner_ = std::exchange(other.owner_, nullptr);
      a_ = other.a_;
      b_ = other.b_;
    }
    return *this;
  }
  HeldPlace(const HeldPlace&) = delete;
  HeldPlace& operator=(const HeldPlace&) = delete;
  ~HeldPlace() { Release(); }

  bool held() const { return owner_ != nullptr; }
  void Release();  // below LimitsBackend, whose release it calls

 private:
  friend class LimitsBackend;
  // `a` and `b` name the place to its owner (LimitsBackend::ReleaseTicket/ReleaseSlot).
  HeldPlace(LimitsBackend* owner, uint64_t a, uint64_t b) : owner_(owner), a_(a), b_(b) {}
  LimitsBackend* owner_ = nullptr;  // borrowed
  uint64_t a_ = 0, b_ = 0;
};

// One running request of one client. Releases its concurrency slot when
// destroyed or Release()d. Empty when the request was denied or the limit
// was not enforced (see Admit).
using ConcurrencyTicket = HeldPlace<PlaceKind::kTicket>;

struct Decision {
  bool allowed = true;
  DenyReason reason = DenyReason::kNone;
  // When denied: whole seconds until the limit admits again (≥ 1), for Retry-After.
  int retry_after_s = 0;
  // Admit() only: hold it for the life of the request.
  ConcurrencyTicket ticket;
};

// One of the max_concurrent_llm upstream slots. Released when destroyed or
// Release()d. Empty when the cap is 0 (unlimited).
using UpstreamSlot = HeldPlace<PlaceKind::kUpstreamSlot>;

// Field by field atomic, not as a set: for health pages and metrics.
struct LimitsSnapshot {
  int64_t upstream_in_use = 0;     // upstream slots held now
  int64_t upstream_peak = 0;       // most ever held at once (since the file was created)
  int64_t upstream_capacity = 0;   // this process's max_concurrent_llm
  int64_t shed = 0;                // AcquireUpstreamSlot() calls that timed out
  int64_t requests_in_flight = 0;  // concurrency tickets held now, all clients
  int64_t denied_rate = 0;
  int64_t denied_expensive = 0;
  int64_t denied_concurrent = 0;
  int64_t fail_open = 0;           // requests admitted unchecked: client table window full,
                                   // or no process slot (over 16 processes)
  int64_t fail_closed = 0;         // expensive requests and new sessions refused: client table window full
  int64_t denied_sessions = 0;     // new sessions refused (CLIENT_SESSIONS_PER_MIN)
  int64_t processes = 0;           // processes registered in the file
  int64_t clients_tracked = 0;     // client slots in use
  int64_t table_slots = 0;
  int64_t fallbacks = 0;           // decisions a shared backend (Redis) left to this machine's
                                   // limits because it could not be reached
};

class LimitsBackend {
 public:
  virtual ~LimitsBackend() = default;

  // General rate (client_rpm) and concurrency (client_max_concurrent) for
  // one request. Allowed: hold decision.ticket until the request ends. A
  // denied request is not counted.
  virtual Decision Admit(std::string_view client_id, int64_t now_ms) = 0;
  // The separate client_expensive_rpm budget, for a request about to call
  // the LLM (after Admit). Takes no ticket.
  virtual Decision AdmitExpensive(std::string_view client_id, int64_t now_ms) = 0;
  // The client_sessions_per_min budget, for a chat that starts a session.
  virtual Decision AdmitNewSession(std::string_view client_id, int64_t now_ms) = 0;
  // The global daily token budget: whether today's (UTC) spend has reached
  // it, and recording a call's tokens.
  virtual bool TokenBudgetSpent(int64_t now_ms) const = 0;
  virtual void SpendTokens(int64_t tokens, int64_t now_ms) = 0;
  virtual int64_t TokensSpentToday(int64_t now_ms) const = 0;
  // Takes a global upstream slot, waiting until one is free or `deadline`
  // passes: then Unavailable("shed"). Empty slot when the cap is 0.
  virtual Result<UpstreamSlot> AcquireUpstreamSlot(const Deadline& deadline) = 0;
  // Housekeeping: gives back the places of processes that died holding them.
  virtual int ReclaimDead() = 0;
  virtual LimitsSnapshot Snapshot() const = 0;
  virtual const LimitOptions& options() const = 0;

 protected:
  template <PlaceKind>
  friend class HeldPlace;
  static ConcurrencyTicket MakeTicket(LimitsBackend* owner, uint64_t a, uint64_t b) { return {owner, a, b}; }
  static UpstreamSlot MakeSlot(LimitsBackend* owner, uint64_t a, uint64_t b) { return {owner, a, b}; }
  // Called once per ticket or slot, with the words it was made with.
  virtual void ReleaseTicket(uint64_t a, uint64_t b) = 0;
  virtual void ReleaseSlot(uint64_t a, uint64_t b) = 0;
};

template <PlaceKind Kind>
void HeldPlace<Kind>::Release() {
  LimitsBackend* owner = std::exchange(owner_, nullptr);
  if (owner == nullptr) return;
  if constexpr (Kind == PlaceKind::kTicket) {
    owner->ReleaseTicket(a_, b_);
  } else {
    owner->ReleaseSlot(a_, b_);
  }
}

}  // namespace folio
