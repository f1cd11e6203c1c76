// metrics.cc: per-process slots in one shared file, and their reclamation.
//
// Why slots: a counter shared by all workers would be one cache line bounced
// between every core on every request. Instead each process claims a slot
// (CAS on owner_pid, under flock at Open) and its threads add to that slot
// only, with relaxed atomics: no lock, no syscall, no cross-process traffic
// on the request path. A scrape sums the slots; it is rare and may be slow.
//
// Why a retired slot: a worker that dies (crash, OOM kill, restart) leaves
// its slot behind. Freeing it by zeroing would make every Prometheus counter
// drop, which rate() reads as a reset. So before a slot is reused its counts
// are folded into `retired`, which is summed like any slot. The fold adds to
// `retired` first and then subtracts the same amount from the slot: an add
// racing with it (a fork()ed child still holding the parent's object) stays
// in the slot, and a reclaimer killed halfway over-counts (counters stay
// monotonic) rather than losing counts.
//
// Readers and folds: a reader could sum a slot before the fold and `retired`
// after it (double count), or the reverse (a dip). fold_seq is a seqlock:
// odd during a fold; readers retry when it moved. Folds are rare (a process
// died), so readers almost never retry; writers never look at it.
//
// Liveness: a slot's owner is a ProcessId (pid and start time) and is dead
// by process.h's rule; an owner whose /proc entry cannot be read keeps its
// slot (its counts are summed meanwhile), never loses it while it writes.
#include "metrics.h"

#include <algorithm>
#include <cmath>
#include <new>
#include <thread>

#include "metrics_layout.h"

namespace folio {

namespace {

using Shared = Metrics::Shared;
constexpr auto kRelaxed = std::memory_order_relaxed;

// Moves slot `s`'s counts, peak and windows into `retired`, zeroes its
// gauges and frees it. REQUIRES: the file lock is held.
void RetireSlot(Shared* shared, MetricsSlot& s) {
  shared->fold_seq.fetch_add(1, kRelaxed);  // odd: readers retry
  std::atomic_thread_fence(std::memory_order_release);
  std::atomic<int64_t>* from = Flat(s.counts);
  std::atomic<int64_t>* to = Flat(shared->retired.counts);
  for (size_t i = 0; i < kCountFields; ++i) {
    const int64_t v = from[i].load(std::memory_order_acquire);
    if (v == 0) continue;
    to[i].fetch_add(v, kRelaxed);
    from[i].fetch_sub(v, kRelaxed);
  }
  const int64_t peak = s.in_flight_peak.exchange(0, kRelaxed);
  if (peak > shared->retired.in_flight_peak.load(kRelaxed)) shared->retired.in_flight_peak.store(peak, kRelaxed);
  FoldWindows(s, shared->retired);
  s.in_flight.store(0, kRelaxed);  // its requests died with it
  shared->fold_seq.fetch_add(1, std::memory_order_release);
  s.owner_start.store(0, kRelaxed);
  s.owner_pid.store(0, std::memory_order_release);
}

// Retires the slots of dead owners. REQUIRES: the file lock is held.
int ReclaimLocked(Shared* shared) {
  // A reclaimer killed mid-fold left fold_seq odd; its lock died with it.
  if (shared->fold_seq.load(std::memory_order_acquire) % 2 != 0) shared->fold_seq.fetch_add(1);
  int reclaimed = 0;
  for (MetricsSlot& s : shared->slots) {
    const int64_t pid = s.owner_pid.load(std::memory_order_acquire);
    if (pid == 0 || IsAlive(OwnerOf(s))) continue;
    RetireSlot(shared, s);
    ++reclaimed;
  }
  return reclaimed;
}

int64_t ToMicros(double seconds) {
  if (!(seconds > 0)) return 0;  // negative and NaN
  return static_cast<int64_t>(std::llround(std::min(seconds, 1e9) * 1e6));
}

int StatusClass(int status) {
  if (status >= 200 && status < 300) return 0;
  if (status >= 300 && status < 400) return 1;
  if (status >= 400 && status < 500) return 2;
  return 3;
}

// Probes and scrapes say nothing about load; see WindowStats().
}  // namespace

Metrics::Metrics(SharedMapping mapping, int slot)
    : mapping_(std::move(mapping)), shared_(static_cast<Shared*>(mapping_.data())), slot_(slot),
      owner_pid_(SelfProcessId().pid) {}

Result<std::unique_ptr<Metrics>> Metrics::Open(const std::string& path) {
  // The lock serialises initialisation, claims and folds across processes;
  // held until this function returns. A longer file (another layout) is
  // kept: a process still mapping it would die of SIGBUS if it shrank.
  Result<LockedFile> file = LockedFile::Open(path, "metrics_file");
  if (!file.ok()) return file.status();
  Result<SharedMapping> mapping = file->MapFormatted(kMetricsFormat);
  if (!mapping.ok()) return mapping.status();
  Shared* shared = static_cast<Shared*>(mapping->data());
  ReclaimLocked(shared);

  const ProcessId self = SelfProcessId();
  for (int i = 0; i < kMaxProcesses; ++i) {
    int64_t free_owner = 0;
    if (shared->slots[i].owner_pid.compare_exchange_strong(free_owner, self.pid, std::memory_order_acq_rel)) {
      // Until this store the owner's start is unknown (0), which IsAlive trusts.
      shared->slots[i].owner_start.store(static_cast<int64_t>(self.start_ticks), std::memory_order_release);
      return std::unique_ptr<Metrics>(new Metrics(std::move(*mapping), i));
    }
  }
  return Status(Code::kResourceExhausted, "metrics_slots_full",
                path + ": all " + std::to_string(kMaxProcesses) + " slots belong to live processes");
}

std::unique_ptr<Metrics> Metrics::InMemory() {
  SharedMapping mapping = SharedMapping::Private(kMetricsFormat);
  static_cast<Shared*>(mapping.data())->slots[0].owner_pid.store(SelfProcessId().pid);
  return std::unique_ptr<Metrics>(new Metrics(std::move(mapping), 0));
}

Metrics::~Metrics() {
  // A fork()ed child destroying its copy must not free the parent's slot.
  if (mapping_.path().empty() || SelfProcessId().pid != owner_pid_) return;
  // If the file cannot be locked the slot stays claimed until this process
  // dies; its counts are summed meanwhile.
  Result<LockedFile> lock = mapping_.Lock("metrics_file");
  if (!lock.ok()) return;
  MetricsSlot& s = shared_->slots[slot_];
  if (s.owner_pid.load(std::memory_order_acquire) == owner_pid_) RetireSlot(shared_, s);
}

int Metrics::ReclaimDeadSlots() {
  Result<LockedFile> lock = mapping_.Lock("metrics_file");
  return lock.ok() ? ReclaimLocked(shared_) : 0;
}

void Metrics::RecordRequestAt(Route route, int status, double seconds, int64_t now_ms, bool in_window) {
  MetricsSlot& s = shared_->slots[slot_];
  const int r = static_cast<int>(route);
  const int cls = StatusClass(status);
  const int bucket = LatencyBucket(seconds);
  const int64_t us = ToMicros(seconds);
  s.counts.requests[r][cls].fetch_add(1, kRelaxed);
  if (status == 429) s.counts.overload[r][0].fetch_add(1, kRelaxed);
  if (status == 503) s.counts.overload[r][1].fetch_add(1, kRelaxed);
  s.counts.latency[r][bucket].fetch_add(1, kRelaxed);
  s.counts.latency_sum_us[r].fetch_add(us, kRelaxed);
  if (!in_window) return;
  WindowBucket* w = WindowBucketFor(s.ring, now_ms / (kWindowBucketS * 1000));
  if (w == nullptr) return;  // the window is approximate; totals above are not
  w->v[kWinRequests].fetch_add(1, kRelaxed);
  if (cls == 3) w->v[kWinErrors].fetch_add(1, kRelaxed);
  if (status == 429) w->v[kWinThrottled].fetch_add(1, kRelaxed);
  w->v[kWinSumUs].fetch_add(us, kRelaxed);
  w->v[kWinHist + bucket].fetch_add(1, kRelaxed);
}

void Metrics::Add(Counter counter, int64_t n) {
  if (n <= 0) return;  // counters never go down
  shared_->slots[slot_].counts.counters[static_cast<int>(counter)].fetch_add(n, kRelaxed);
}

void Metrics::ObserveRedis(bool ok, double seconds) {
  auto& c = shared_->slots[slot_].counts;
  c.counters[static_cast<int>(Counter::kRedisCalls)].fetch_add(1, kRelaxed);
  if (!ok) c.counters[static_cast<int>(Counter::kRedisErrors)].fetch_add(1, kRelaxed);
  if (seconds < 0) return;  // failed fast: no latency to count
  c.redis_latency[LatencyBucket(seconds)].fetch_add(1, kRelaxed);
  c.redis_latency_sum_us.fetch_add(ToMicros(seconds), kRelaxed);
}

void Metrics::ObserveUpstream(double seconds) {
  SharedCounts& c = shared_->slots[slot_].counts;
  c.upstream_latency[LatencyBucket(seconds)].fetch_add(1, kRelaxed);
  c.upstream_latency_sum_us.fetch_add(ToMicros(seconds), kRelaxed);
}

Metrics::InFlightGuard::InFlightGuard(Metrics& metrics) {
  MetricsSlot& s = metrics.shared_->slots[metrics.slot_];
  in_flight_ = &s.in_flight;
  const int64_t now = in_flight_->fetch_add(1, kRelaxed) + 1;
  int64_t peak = s.in_flight_peak.load(kRelaxed);
  while (now > peak && !s.in_flight_peak.compare_exchange_weak(peak, now, kRelaxed)) {
  }
}

Metrics::InFlightGuard::~InFlightGuard() { in_flight_->fetch_sub(1, kRelaxed); }

MetricsSnapshot Metrics::Read() const {
  // Bounded: a fold takes microseconds; after many retries (a reclaimer
  // stopped mid-fold) a slightly inconsistent sum beats hanging a scrape.
  constexpr int kMaxAttempts = 100;
  MetricsSnapshot out;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    const int64_t seq = shared_->fold_seq.load(std::memory_order_acquire);
    if (seq % 2 != 0 && attempt + 1 < kMaxAttempts) {
      std::this_thread::yield();
      continue;
    }
    out = MetricsSnapshot{};
    int64_t* sum = Flat(out.counts);
    auto add = [&](const MetricsSlot& s) {
      const std::atomic<int64_t>* from = Flat(s.counts);
      for (size_t i = 0; i < kCountFields; ++i) sum[i] += from[i].load(kRelaxed);
      out.in_flight_peak = std::max(out.in_flight_peak, s.in_flight_peak.load(kRelaxed));
    };
    add(shared_->retired);
    for (const MetricsSlot& s : shared_->slots) {
      // Free slots too: zero after their fold, unless a fork()ed child still
      // adds through its parent's object.
      add(s);
      if (s.owner_pid.load(kRelaxed) == 0) continue;
      ++out.processes;
      out.in_flight += std::max<int64_t>(0, s.in_flight.load(kRelaxed));
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (shared_->fold_seq.load(kRelaxed) == seq) break;
  }
  return out;
}

}  // namespace folio
