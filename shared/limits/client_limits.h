// client_limits.h: per-client rate and concurrency limits and the global cap on
// concurrent LLM calls, shared by every worker process through a file mapped
// MAP_SHARED ($RUN_DIR/limits.shm) of lock-free atomics; no call takes a lock
// or makes a syscall on its fast path (~0.1-0.3 µs). Safe from any thread of
// any process. ClientLimits owns its mapping; tickets and slots borrow it and
// must be destroyed before it. Times are unix milliseconds.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "clock.h"
#include "shm_file.h"
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

class ClientLimits;

// One running request of one client. Releases its concurrency slot when
// destroyed or Release()d; move-only. Empty (held() false) when the request
// was denied or the limit was not enforced (see Admit).
class ConcurrencyTicket {
 public:
  ConcurrencyTicket() = default;
  ConcurrencyTicket(ConcurrencyTicket&& other) noexcept;
  ConcurrencyTicket& operator=(ConcurrencyTicket&& other) noexcept;
  ConcurrencyTicket(const ConcurrencyTicket&) = delete;
  ConcurrencyTicket& operator=(const ConcurrencyTicket&) = delete;
  ~ConcurrencyTicket() { Release(); }

  bool held() const { return owner_ != nullptr; }
  void Release();

 private:
  friend class ClientLimits;
  ConcurrencyTicket(ClientLimits* owner, uint32_t slot, int process_index, uint64_t process_id)
      : owner_(owner), slot_(slot), process_index_(process_index), process_id_(process_id) {}
  ClientLimits* owner_ = nullptr;  // borrowed
  uint32_t slot_ = 0;
  int process_index_ = -1;
  uint64_t process_id_ = 0;  // the acquiring process: a fork()ed copy never releases it
};

struct Decision {
  bool allowed = true;
  DenyReason reason = DenyReason::kNone;
  // When denied: whole seconds until the limit admits again (≥ 1), for Retry-After.
  int retry_after_s = 0;
  // Admit() only: hold it for the life of the request.
  ConcurrencyTicket ticket;
};

// One of the max_concurrent_llm upstream slots. Released when destroyed or
// Release()d; move-only. Empty when the cap is 0 (unlimited).
class UpstreamSlot {
 public:
  UpstreamSlot() = default;
  UpstreamSlot(UpstreamSlot&& other) noexcept;
  UpstreamSlot& operator=(UpstreamSlot&& other) noexcept;
  UpstreamSlot(const UpstreamSlot&) = delete;
  UpstreamSlot& operator=(const UpstreamSlot&) = delete;
  ~UpstreamSlot() { Release(); }

  bool held() const { return owner_ != nullptr; }
  void Release();

 private:
  friend class ClientLimits;
  UpstreamSlot(ClientLimits* owner, uint32_t index, uint64_t process_id)
      : owner_(owner), index_(index), process_id_(process_id) {}
  ClientLimits* owner_ = nullptr;  // borrowed
  uint32_t index_ = 0;
  uint64_t process_id_ = 0;
};

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
};

class ClientLimits {
 public:
  ~ClientLimits();  // releases this process's registration
  ClientLimits(const ClientLimits&) = delete;
  ClientLimits& operator=(const ClientLimits&) = delete;

  // Maps `path`, creating it (0600) if needed. A file with a foreign header,
  // or left from an earlier boot, is re-initialised (losing limit state only
  // ever admits more). Internal("limits_file") if it cannot be opened or mapped.
  static Result<std::unique_ptr<ClientLimits>> Open(const std::string& path, LimitOptions options = {});

  // General rate (client_rpm) and concurrency (client_max_concurrent) for
  // one request. Allowed: hold decision.ticket until the request ends. A denied
  // request is not counted. Fails open (allowed, counted in fail_open) when
  // the client cannot get a table slot.
  Decision Admit(std::string_view client_id, int64_t now_ms);
  // The separate client_expensive_rpm budget, for a request about to call
  // the LLM (after Admit). Takes no ticket. Fails closed (denied, retry in
  // 1 s, counted in fail_closed) when the client cannot get a table slot.
  Decision AdmitExpensive(std::string_view client_id, int64_t now_ms);
  // The client_sessions_per_min budget, for a chat that starts a session.
  // Fails closed like AdmitExpensive.
  Decision AdmitNewSession(std::string_view client_id, int64_t now_ms);

  // The global daily token budget (daily_token_budget): whether today's
  // (UTC) spend across every process has reached it, and recording a call's
  // tokens. Calls already in
  // flight when it is reached still finish: the overshoot is bounded by
  // max_concurrent_llm calls.
  bool TokenBudgetSpent(int64_t now_ms) const;
  void SpendTokens(int64_t tokens, int64_t now_ms);
  int64_t TokensSpentToday(int64_t now_ms) const;

  // Takes a global upstream slot, waiting (futex on a shared word) until one
  // is free or `deadline` passes: then Unavailable("shed") — answer 503 with
  // Retry-After rather than queue. An expired deadline sheds at once.
  Result<UpstreamSlot> AcquireUpstreamSlot(const Deadline& deadline);

  // Releases every ticket and upstream slot held by processes that no longer
  // exist (pid gone, zombie, or pid reused). Returns how many processes and
  // orphaned upstream slots were reclaimed. ~10 µs per registered process;
  // call it every second or so from one thread per process, and after a
  // worker dies. Also runs when the process table is full.
  int ReclaimDead();

  LimitsSnapshot Snapshot() const;
  const LimitOptions& options() const { return options_; }

  struct Layout;      // the mapped file; defined in the .cc
  struct ClientSlot;  // one client's words in it

 private:
  friend class ConcurrencyTicket;
  friend class UpstreamSlot;
  ClientLimits(SharedMapping mapping, LimitOptions options);

  // This process's row in the process table, claimed on first use (and again
  // in a fork()ed child); -1 if all rows are held by live processes.
  int ProcessIndex(uint64_t self);
  // The slot of `hash`, claiming an empty or stale one; -1 when none is free.
  int64_t FindSlot(uint64_t hash, int64_t now_ms);
  uint64_t HashId(std::string_view client_id) const;
  Decision AdmitRate(std::atomic<uint64_t> ClientSlot::*word, int limit, std::atomic<int64_t>& denied,
                     std::string_view client_id, int64_t now_ms);
  void ReleaseConcurrency(uint32_t slot, int process_index, uint64_t process_id);
  void ReleaseUpstream(uint32_t index, uint64_t process_id);
  void ReleaseProcessRow(int index);  // REQUIRES: the row is marked reclaiming by us

  SharedMapping mapping_;
  Layout* layout_;
  const LimitOptions options_;
  std::mutex process_mu_;            // serializes claiming a process row
  std::atomic<uint64_t> row_owner_{0};  // the process id that claimed process_row_
  std::atomic<int> process_row_{-1};
};

}  // namespace folio
