// client_limits.h: per-client rate and concurrency limits and the global cap on
// concurrent LLM calls, shared by every worker process through a file mapped
// MAP_SHARED ($RUN_DIR/limits.shm) of lock-free atomics; no call takes a lock
// or makes a syscall on its fast path (~0.1-0.3 µs). Safe from any thread of
// any process. ClientLimits owns its mapping; tickets and slots borrow it and
// must be destroyed before it. The interface is limits_backend.h. Times are unix milliseconds.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "clock.h"
#include "limits_backend.h"
#include "shm_file.h"
#include "status.h"

namespace folio {

class ClientLimits : public LimitsBackend {
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
  Decision Admit(std::string_view client_id, int64_t now_ms) override;
  // The separate client_expensive_rpm budget, for a request about to call
  // the LLM (after Admit). Takes no ticket. Fails closed (denied, retry in
  // 1 s, counted in fail_closed) when the client cannot get a table slot.
  Decision AdmitExpensive(std::string_view client_id, int64_t now_ms) override;
  // The client_sessions_per_min budget, for a chat that starts a session.
  // Fails closed like AdmitExpensive.
  Decision AdmitNewSession(std::string_view client_id, int64_t now_ms) override;

  // The global daily token budget (daily_token_budget): whether today's
  // (UTC) spend across every process has reached it, and recording a call's
  // tokens. Calls already in
  // flight when it is reached still finish: the overshoot is bounded by
  // max_concurrent_llm calls.
  bool TokenBudgetSpent(int64_t now_ms) const override;
  void SpendTokens(int64_t tokens, int64_t now_ms) override;
  int64_t TokensSpentToday(int64_t now_ms) const override;

  // Takes a global upstream slot, waiting (futex on a shared word) until one
  // is free or `deadline` passes: then Unavailable("shed") — answer 503 with
  // Retry-After rather than queue. An expired deadline sheds at once.
  Result<UpstreamSlot> AcquireUpstreamSlot(const Deadline& deadline) override;

  // Releases every ticket and upstream slot held by processes that no longer
  // exist (pid gone, zombie, or pid reused). Returns how many processes and
  // orphaned upstream slots were reclaimed. ~10 µs per registered process;
  // call it every second or so from one thread per process, and after a
  // worker dies. Also runs when the process table is full.
  int ReclaimDead() override;

  LimitsSnapshot Snapshot() const override;
  const LimitOptions& options() const override { return options_; }

  struct Layout;      // the mapped file; defined in the .cc
  struct ClientSlot;  // one client's words in it

 private:
  ClientLimits(SharedMapping mapping, LimitOptions options);

  // This process's row in the process table, claimed on first use (and again
  // in a fork()ed child); -1 if all rows are held by live processes.
  int ProcessIndex(uint64_t self);
  // The slot of `hash`, claiming an empty or stale one; -1 when none is free.
  int64_t FindSlot(uint64_t hash, int64_t now_ms);
  uint64_t HashId(std::string_view client_id) const;
  Decision AdmitRate(std::atomic<uint64_t> ClientSlot::*word, int limit, std::atomic<int64_t>& denied,
                     std::string_view client_id, int64_t now_ms);
  // A ticket's words: its client slot and process row, and the process
  // that took it (a fork()ed copy never releases it). A slot's: its index
  // and the process.
  void ReleaseTicket(uint64_t a, uint64_t b) override;
  void ReleaseSlot(uint64_t a, uint64_t b) override;
  void ReleaseProcessRow(int index);  // REQUIRES: the row is marked reclaiming by us

  SharedMapping mapping_;
  Layout* layout_;
  const LimitOptions options_;
  std::mutex process_mu_;            // serializes claiming a process row
  std::atomic<uint64_t> row_owner_{0};  // the process id that claimed process_row_
  std::atomic<int> process_row_{-1};
};

}  // namespace folio
