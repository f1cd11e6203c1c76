// metrics_layout.h: the layout of $RUN_DIR/metrics.shm, private to
// metrics*.cc. Everything after the header is lock-free std::atomic<int64_t>,
// so one mapped word is one atomic object for every process mapping it.
// Field order is the file ABI: change anything, bump kMetricsVersion.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

#include "metrics.h"
#include "process.h"
#include "shm_file.h"

namespace folio {

inline constexpr uint64_t kMetricsMagic = 0x5254454d494c4f46ull;  // "FOLIMETR" little-endian
inline constexpr uint32_t kMetricsVersion = 3;

// Ring of per-10-second buckets for WindowStats. 32 buckets: 30 for the
// longest window, the current one, and a spare so the bucket a writer is
// recycling for the next period is never one a reader sums.
inline constexpr int kWindowRing = 32;
static_assert(Metrics::kMaxWindowS / Metrics::kWindowBucketS + 2 <= kWindowRing);

// Value indices inside a window bucket.
enum WindowField : int { kWinRequests, kWinErrors, kWinThrottled, kWinSumUs, kWinHist, kWinFields = kWinHist + kLatencyBucketCount };

// One 10-second period of one process. `epoch` is unix_ms / 10000 of the
// period held; -(epoch + 1) while a thread is zeroing it for that period.
struct WindowBucket {
  std::atomic<int64_t> epoch;
  std::atomic<int64_t> v[kWinFields];
};

using SharedCounts = BasicCounts<std::atomic<int64_t>>;
inline constexpr size_t kCountFields = sizeof(MetricsCounts) / sizeof(int64_t);

// One process's slot. alignas(64): two processes never share a cache line.
struct alignas(64) MetricsSlot {
  std::atomic<int64_t> owner_pid;    // 0 = free
  std::atomic<int64_t> owner_start;  // the owner's ProcessId::start_ticks; 0 = unknown
  std::atomic<int64_t> in_flight;
  std::atomic<int64_t> in_flight_peak;
  SharedCounts counts;
  WindowBucket ring[kWindowRing];
};

struct Metrics::Shared {
  SharedFileHeader header;  // shm_file.h
  // Odd while a reclaimer folds a dead slot into `retired`; readers retry
  // around it (a seqlock), so a fold never shows as a dip or a double count.
  std::atomic<int64_t> fold_seq;
  MetricsSlot retired;  // counts of every process that has gone; no owner
  MetricsSlot slots[Metrics::kMaxProcesses];
};

inline constexpr size_t kMetricsFileSize = (sizeof(Metrics::Shared) + 4095) / 4096 * 4096;

// Every slot free, no counts: the state of a new file, or of one that was
// garbage, short or of another version. A longer file is kept as it is.
inline constexpr SharedFileFormat kMetricsFormat{kMetricsMagic, kMetricsVersion,
                                                 static_cast<uint32_t>(kMetricsFileSize), FileSize::kAtLeast,
                                                 [](void* at) { new (at) Metrics::Shared(); }};

static_assert(std::atomic<int64_t>::is_always_lock_free, "cross-process atomics must be lock-free");
static_assert(sizeof(std::atomic<int64_t>) == sizeof(int64_t), "atomic must have the plain layout");
static_assert(sizeof(SharedCounts) == sizeof(MetricsCounts), "counts are walked as flat arrays");
static_assert(std::is_standard_layout_v<Metrics::Shared>, "the mapped layout must be standard layout");

// The counts as flat arrays of kCountFields: folding and summing treat every
// field alike, so a field added to BasicCounts needs no code here.
inline std::atomic<int64_t>* Flat(SharedCounts& c) { return reinterpret_cast<std::atomic<int64_t>*>(&c); }
inline const std::atomic<int64_t>* Flat(const SharedCounts& c) {
  return reinterpret_cast<const std::atomic<int64_t>*>(&c);
}
inline int64_t* Flat(MetricsCounts& c) { return reinterpret_cast<int64_t*>(&c); }

// The owner of `slot` (pid 0: free).
inline ProcessId OwnerOf(const MetricsSlot& slot) {
  return ProcessId{static_cast<int32_t>(slot.owner_pid.load(std::memory_order_acquire)),
                   static_cast<uint64_t>(slot.owner_start.load(std::memory_order_relaxed))};
}

// The index of the latency bucket for `seconds` (`le` is inclusive).
inline int LatencyBucket(double seconds) {
  for (int i = 0; i < static_cast<int>(kLatencyBounds.size()); ++i) {
    if (seconds <= kLatencyBounds[i]) return i;
  }
  return kLatencyBucketCount - 1;
}

// Bucket of `ring` ready to take additions for period `epoch`, recycling it
// if it holds an older period; nullptr when the addition should be dropped
// (another thread is still zeroing it, or it holds a newer period because
// the clock stepped back). Zeroing happens before the release store of the
// epoch, so an add made after seeing the epoch is never wiped.
WindowBucket* WindowBucketFor(WindowBucket* ring, int64_t epoch);

// Moves every window bucket of `from` into `to` (same period) and leaves
// `from`'s buckets at zero. REQUIRES: the caller holds the file lock and
// has made fold_seq odd; `to` has no other writer.
void FoldWindows(MetricsSlot& from, MetricsSlot& to);

}  // namespace folio
