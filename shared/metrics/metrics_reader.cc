// metrics_reader.cc: ReadMetricsFile over a PROT_READ mapping. Atomic loads
// from a read-only mapping are plain loads on every target we build for; no
// store, CAS or lock ever touches the file from here.
#include "metrics_reader.h"

#include <algorithm>
#include <thread>

#include "metrics.h"
#include "metrics_layout.h"

namespace folio {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

// Requests of every route and class, and the 5xx among them (class index 3).
void CountRequests(const MetricsSlot& s, int64_t* all, int64_t* errors) {
  *all = *errors = 0;
  for (int r = 0; r < kRouteCount; ++r) {
    for (int c = 0; c < kStatusClassCount; ++c) *all += s.counts.requests[r][c].load(kRelaxed);
    *errors += s.counts.requests[r][kStatusClassCount - 1].load(kRelaxed);
  }
}

MetricsFileView ReadView(const Metrics::Shared* shared) {
  // Bounded like Metrics::Read: after many retries a slightly inconsistent
  // view beats hanging an operator's command.
  constexpr int kMaxAttempts = 100;
  MetricsFileView view;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    const int64_t seq = shared->fold_seq.load(std::memory_order_acquire);
    if (seq % 2 != 0 && attempt + 1 < kMaxAttempts) {
      std::this_thread::yield();
      continue;
    }
    view = MetricsFileView{};
    int64_t errors = 0;
    CountRequests(shared->retired, &view.retired_requests, &errors);
    view.total_requests = view.retired_requests;
    for (int i = 0; i < Metrics::kMaxProcesses; ++i) {
      const MetricsSlot& s = shared->slots[i];
      MetricsProcess p;
      CountRequests(s, &p.requests, &p.errors);
      view.total_requests += p.requests;  // free slots too: see Metrics::Read
      const int64_t pid = s.owner_pid.load(std::memory_order_acquire);
      if (pid == 0) continue;
      p.slot = i;
      p.pid = static_cast<int>(pid);
      p.in_flight = std::max<int64_t>(0, s.in_flight.load(kRelaxed));
      p.in_flight_peak = s.in_flight_peak.load(kRelaxed);
      p.upstream_calls = s.counts.counters[static_cast<int>(Counter::kUpstreamCalls)].load(kRelaxed);
      p.alive = IsAlive(OwnerOf(s));
      view.processes.push_back(p);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (shared->fold_seq.load(kRelaxed) == seq) break;
  }
  return view;
}

}  // namespace

Result<MetricsFileView> ReadMetricsFile(const std::string& path) {
  Result<SharedMapping> mapping = SharedMapping::OpenReadOnly(path, "metrics_file");
  if (!mapping.ok() && mapping.status().code() == Code::kNotFound) {
    return NotFound("metrics_not_found", "no metrics file at " + path);
  }
  if (!mapping.ok()) return mapping.status();
  if (mapping->size() != kMetricsFileSize || !HasHeader(mapping->data(), kMetricsFormat)) {
    return Unavailable("metrics_uninitialised", path + " is not a metrics file of this version");
  }
  return ReadView(static_cast<const Metrics::Shared*>(mapping->data()));
}

}  // namespace folio
