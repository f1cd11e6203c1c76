// redis_health.cc: see redis_health.h. The probe time and the down flag are
// atomics so that a call while up, and a call failing fast, take no lock;
// the rest changes only when the link goes down or up, under mu_.
#include "redis_health.h"

#include <algorithm>
#include <chrono>

#include "clock.h"

namespace folio {

namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

RedisHealth::RedisHealth(int64_t backoff_min_ms, int64_t backoff_max_ms)
    : backoff_min_ms_(std::max<int64_t>(backoff_min_ms, 1)),
      backoff_max_ms_(std::max(backoff_max_ms, backoff_min_ms_)),
      backoff_ms_(backoff_min_ms_) {}

bool RedisHealth::MayTry(bool* probe) {
  *probe = false;
  if (!down_.load(std::memory_order_acquire)) return true;
  int64_t at = next_probe_ms_.load();
  const int64_t now = SteadyMs();
  if (now < at) return false;
  int64_t backoff;
  {
    std::lock_guard<std::mutex> lock(mu_);
    backoff = backoff_ms_;
  }
  if (!next_probe_ms_.compare_exchange_strong(at, now + backoff)) return false;
  *probe = true;
  return true;
}

void RedisHealth::MarkDown(uint64_t seen_epoch, bool probe, const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (epoch_.load() != seen_epoch) return;
  epoch_.fetch_add(1, std::memory_order_acq_rel);
  last_error_ = why;
  if (!down_.load()) {
    down_since_ms_ = UnixMs();
    backoff_ms_ = backoff_min_ms_;
  } else if (probe) {
    backoff_ms_ = std::min(backoff_ms_ * 2, backoff_max_ms_);
  }
  next_probe_ms_.store(SteadyMs() + backoff_ms_);
  down_.store(true, std::memory_order_release);
}

void RedisHealth::MarkUp() {
  if (!down_.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(mu_);
  backoff_ms_ = backoff_min_ms_;
  down_since_ms_ = 0;
  next_probe_ms_.store(0);
  down_.store(false, std::memory_order_release);
}

bool RedisHealth::FailingFast() const {
  return down_.load(std::memory_order_acquire) && SteadyMs() < next_probe_ms_.load();
}

RedisHealth::Snapshot RedisHealth::Read() const {
  std::lock_guard<std::mutex> lock(mu_);
  Snapshot s;
  s.up = !down_.load();
  s.last_error = last_error_;
  s.down_since_ms = down_since_ms_;
  if (!s.up) s.next_attempt_in_ms = std::max<int64_t>(0, next_probe_ms_.load() - SteadyMs());
  return s;
}

}  // namespace folio
