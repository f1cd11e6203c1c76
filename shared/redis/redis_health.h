// redis_health.h: whether a RedisLink's server is reachable, as its calls
// have found it: up, or down since a failure and failing fast until a
// backoff has passed. Then exactly one caller probes (a compare-and-swap on
// the probe time); a failed probe doubles the backoff up to its maximum, a
// call that reaches the server resets it. Each failure raises an epoch, so
// connections made before it can be told apart and dropped. Safe from any
// thread; a call while up reads one atomic.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace folio {

class RedisHealth {
 public:
  RedisHealth(int64_t backoff_min_ms, int64_t backoff_max_ms);

  // Whether a call may go to the network now: always while up; while down,
  // only for the one caller that claims the probe once the backoff has
  // passed (*probe = true; the next probe moves a backoff ahead at once).
  bool MayTry(bool* probe);
  // Raised by every MarkDown() that counts; a connection records it.
  uint64_t epoch() const { return epoch_.load(std::memory_order_acquire); }
  // A connect or I/O failure (`why`, never a password) on a connection made
  // at `seen_epoch`. Ignored when the epoch has moved since: the link went
  // down after that connection was made, and this failure is part of it.
  void MarkDown(uint64_t seen_epoch, bool probe, const std::string& why);
  // A call reached the server.
  void MarkUp();
  // Down and inside the backoff: calls fail fast.
  bool FailingFast() const;

  struct Snapshot {
    bool up = true;
    std::string last_error;
    int64_t down_since_ms = 0;     // unix ms; 0 while up
    int64_t next_attempt_in_ms = 0;  // 0 while up or once a probe may go
  };
  Snapshot Read() const;

 private:
  const int64_t backoff_min_ms_, backoff_max_ms_;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<bool> down_{false};
  std::atomic<int64_t> next_probe_ms_{0};  // steady clock
  mutable std::mutex mu_;                  // the fields below
  int64_t backoff_ms_;
  std::string last_error_;
  int64_t down_since_ms_ = 0;
};

}  // namespace folio
