// inflight.h: request coalescing across worker processes. Identical concurrent
// requests (same cache key) make one upstream call: the first to Join() leads,
// the rest follow its result through the "inflight" table of a shared Store.
// Safe from any thread of any process; each call is one or two short
// transactions. The Store is borrowed and must outlive the table.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "clock.h"
#include "state_backend.h"
#include "status.h"
#include "store.h"

namespace folio {

// The named database this module owns; the Store must have been opened with it
// in StoreOptions::databases (the cache environment: kOnRequest, rebuildable).
inline constexpr const char* kInflightDb = "inflight";

struct InflightOptions {
  // How long a finished (done or failed) entry keeps answering Join() and
  // Wait(): long enough for followers polling every ≤ 20 ms to see it, short
  // enough that a failure is not served for long. Purge() removes it after.
  int64_t linger_ms = 5000;
  // Followers re-check that the leader process exists at most this often
  // (reads /proc/<pid>/stat, ~10 µs); a dead leader is noticed within it.
  int64_t liveness_check_ms = 100;
};

class InflightTable : public InflightBackend {
 public:
  // NotFound if `store` was opened without kInflightDb.
  // REQUIRES: store != nullptr and outlives the table.
  static Result<InflightTable> Open(Store* store, InflightOptions options = {});

  // Leader if the key has no entry, or its leader process is dead (pid gone,
  // zombie, or pid reused: start time differs), or its lease expired, or it
  // failed, or it finished more than linger_ms ago. Follower otherwise —
  // including when an answer is still lingering: Wait() then returns at once.
  // (A failure is shared with the followers already waiting, never with
  // questions that come after it.)
  // The decision to lead is taken inside one write transaction, so exactly one
  // caller in all processes leads a key at a time. lease_ms > 0.
  // InvalidArgument for an empty key or one over 256 bytes.
  Result<Role> Join(std::string_view key, int64_t lease_ms, int64_t now_ms) override;

  // The leader extends its lease to now_ms + lease_ms and publishes the text
  // streamed so far (the whole text, not a delta; "" keeps what is published).
  // NotFound("inflight_not_leader") if this process no longer leads the key
  // (its lease ran out and another took over): keep going and Complete anyway.
  Status Heartbeat(std::string_view key, int64_t now_ms, std::string_view partial_text) override;

  // Publishes the answer; followers receive it and so do joiners for
  // linger_ms. Accepted from any process while the entry is running or failed
  // (an answer for a key is an answer, whoever computed it); OK and ignored if
  // already done; NotFound("inflight_not_found") if the entry is gone.
  Status Complete(std::string_view key, std::string_view payload) override;
  // Publishes a failure kind (e.g. "upstream_timeout") that followers answer
  // with the same fallback instead of stampeding the upstream. Only from the
  // leading process: NotFound("inflight_not_leader") otherwise, so a stale
  // leader cannot fail a key another process is serving.
  Status Fail(std::string_view key, std::string_view failure) override;

  // For followers: polls (a ~1 µs read transaction every poll_interval,
  // backing off to 4× it) until the leader finishes, dies or loses its lease
  // (kTakeOver), or until `deadline` (DeadlineExceeded("inflight_deadline");
  // returns within a poll of the deadline, never later than it plus ~1 ms of
  // work). on_partial (may be empty) receives each new piece of the leader's
  // streamed text, in order, outside any transaction; pieces stop if the entry
  // changes leader mid-wait (the final payload is complete anyway).
  Result<FollowResult> Wait(std::string_view key, const Deadline& deadline,
                            std::chrono::milliseconds poll_interval = std::chrono::milliseconds(5),
                            const PartialFn& on_partial = nullptr) override;
  std::optional<int64_t> Entries() const override;

  // Deletes finished entries past their linger and running ones whose leader
  // is dead or whose lease expired. Returns how many. Call it every few
  // seconds from one housekeeping thread per process (any process will do).
  Result<int> Purge(int64_t now_ms) override;

  const InflightOptions& options() const { return options_; }

  // Whether `bytes` is a record this table writes (for consistency checks
  // of a stopped instance; the table itself treats any other as absent).
  static bool IsRecord(std::string_view bytes);

 private:
  InflightTable(Store* store, Db db, InflightOptions options) : store_(store), db_(db), options_(options) {}

  Store* store_;  // borrowed
  Db db_;
  InflightOptions options_;
};

}  // namespace folio
