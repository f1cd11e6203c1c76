// metrics_window.cc: the per-10-second rings behind Metrics::WindowStats.
//
// Each slot keeps kWindowRing buckets indexed by period (unix_ms / 10000)
// modulo the ring size. The first thread of a process to record in a new
// period recycles the bucket: it CASes the epoch to "resetting", zeroes the
// values, then publishes the new epoch. Threads that meet a bucket being
// reset spin briefly and then drop their sample; the window is a load
// estimate for the scaling advisor, and the cumulative totals never drop.
// A reader sums the buckets whose epoch is in its window across all slots,
// and skips a bucket whose epoch changed while it read it.
#include <algorithm>
#include <cmath>
#include <thread>

#include "metrics_layout.h"

namespace folio {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;
constexpr int64_t kBucketMs = Metrics::kWindowBucketS * 1000;
// Zeroing a bucket is ~20 stores; a resetter gone longer than this was
// descheduled, and the sample is not worth waiting for.
constexpr int kMaxSpins = 200;

struct WindowSums {
  int64_t v[kWinFields] = {};
};

// p-quantile of a per-bucket histogram, interpolated linearly inside the
// bucket it falls in (as Prometheus's histogram_quantile does). The overflow
// bucket has no upper bound: report its lower one.
double Quantile(const int64_t* hist, int64_t count, double p) {
  if (count <= 0) return 0;
  const double target = p * static_cast<double>(count);
  int64_t below = 0;
  for (int i = 0; i < kLatencyBucketCount; ++i) {
    const int64_t here = hist[i];
    if (static_cast<double>(below + here) >= target && here > 0) {
      if (i == kLatencyBucketCount - 1) return kLatencyBounds.back();
      const double lower = i == 0 ? 0.0 : kLatencyBounds[i - 1];
      const double fraction = (target - static_cast<double>(below)) / static_cast<double>(here);
      return lower + (kLatencyBounds[i] - lower) * std::clamp(fraction, 0.0, 1.0);
    }
    below += here;
  }
  return kLatencyBounds.back();
}

// Adds `slot`'s buckets for periods [first, last] to `sums`.
void SumSlot(const MetricsSlot& slot, int64_t first, int64_t last, WindowSums* sums) {
  for (int64_t e = first; e <= last; ++e) {
    const WindowBucket& b = slot.ring[e % kWindowRing];
    if (b.epoch.load(std::memory_order_acquire) != e) continue;
    int64_t v[kWinFields];
    for (int i = 0; i < kWinFields; ++i) v[i] = b.v[i].load(kRelaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (b.epoch.load(kRelaxed) != e) continue;  // recycled while we read it
    for (int i = 0; i < kWinFields; ++i) sums->v[i] += v[i];
  }
}

}  // namespace

WindowBucket* WindowBucketFor(WindowBucket* ring, int64_t epoch) {
  if (epoch < 0) return nullptr;
  WindowBucket& b = ring[epoch % kWindowRing];
  const int64_t resetting = -epoch - 1;
  int64_t cur = b.epoch.load(std::memory_order_acquire);
  for (int spin = 0;; ++spin) {
    if (cur == epoch) return &b;
    if (cur == resetting) {
      if (spin >= kMaxSpins) return nullptr;
      cur = b.epoch.load(std::memory_order_acquire);
      continue;
    }
    if (cur < 0 || cur > epoch) return nullptr;  // another period is being set up, or ours is stale
    if (b.epoch.compare_exchange_weak(cur, resetting, std::memory_order_acquire)) break;
  }
  for (std::atomic<int64_t>& v : b.v) v.store(0, kRelaxed);
  b.epoch.store(epoch, std::memory_order_release);
  return &b;
}

void FoldWindows(MetricsSlot& from, MetricsSlot& to) {
  for (WindowBucket& b : from.ring) {
    const int64_t e = b.epoch.load(std::memory_order_acquire);
    if (e < 0) {
      // Its owner died while recycling it: without this the next owner
      // would find it "being reset" forever and drop every sample in it.
      for (std::atomic<int64_t>& v : b.v) v.store(0, kRelaxed);
      b.epoch.store(0, std::memory_order_release);
      continue;
    }
    int64_t v[kWinFields];
    bool any = false;
    for (int i = 0; i < kWinFields; ++i) any |= (v[i] = b.v[i].load(kRelaxed)) != 0;
    if (!any) continue;
    // nullptr: `to` already holds a newer period there; this one is too old
    // to be in any window.
    if (WindowBucket* t = WindowBucketFor(to.ring, e)) {
      for (int i = 0; i < kWinFields; ++i) t->v[i].fetch_add(v[i], kRelaxed);
    }
    for (int i = 0; i < kWinFields; ++i) b.v[i].fetch_sub(v[i], kRelaxed);
  }
}

WindowSummary Metrics::WindowStatsAt(int window_s, int64_t now_ms) const {
  window_s = std::clamp(window_s, kWindowBucketS, kMaxWindowS);
  const int64_t whole = (window_s + kWindowBucketS - 1) / kWindowBucketS;
  const int64_t now_epoch = now_ms / kBucketMs;
  WindowSums sums;
  // The same seqlock as Read(): a fold moves buckets into `retired`.
  constexpr int kMaxAttempts = 100;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    const int64_t seq = shared_->fold_seq.load(std::memory_order_acquire);
    if (seq % 2 != 0 && attempt + 1 < kMaxAttempts) {
      std::this_thread::yield();
      continue;
    }
    sums = WindowSums{};
    SumSlot(shared_->retired, now_epoch - whole, now_epoch, &sums);
    for (const MetricsSlot& s : shared_->slots) SumSlot(s, now_epoch - whole, now_epoch, &sums);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (shared_->fold_seq.load(kRelaxed) == seq) break;
  }

  WindowSummary out;
  out.covered_ms = whole * kBucketMs + now_ms % kBucketMs;
  out.requests = sums.v[kWinRequests];
  out.errors = sums.v[kWinErrors];
  out.throttled = sums.v[kWinThrottled];
  if (out.requests > 0) {
    const double n = static_cast<double>(out.requests);
    out.requests_per_second = n * 1000.0 / static_cast<double>(out.covered_ms);
    out.error_rate = static_cast<double>(out.errors) / n;
    out.avg_seconds = static_cast<double>(sums.v[kWinSumUs]) / 1e6 / n;
    out.p95_seconds = Quantile(&sums.v[kWinHist], out.requests, 0.95);
  }
  return out;
}

}  // namespace folio
