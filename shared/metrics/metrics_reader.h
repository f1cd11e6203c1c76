// metrics_reader.h: a read-only look at $RUN_DIR/metrics.shm for operator
// tools — which processes hold a slot, whether they still live, and their
// request counts — without claiming a slot, taking the file lock or writing a
// byte (Metrics::Open does all three, and would count the tool as a worker).
// Stateless; safe from any thread. The file is mapped only during the call.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace folio {

// One claimed slot: a process that opened the metrics (a worker).
struct MetricsProcess {
  int slot = 0;
  int pid = 0;
  bool alive = false;     // IsAlive(its ProcessId), process.h: false until reclaimed
  int64_t requests = 0;   // every route and status class, since it started
  int64_t errors = 0;     // 5xx among them
  int64_t in_flight = 0;  // now
  int64_t in_flight_peak = 0;
  int64_t upstream_calls = 0;
};

struct MetricsFileView {
  std::vector<MetricsProcess> processes;  // claimed slots, in slot order
  int64_t retired_requests = 0;           // of processes that have gone (folded away)
  int64_t total_requests = 0;             // retired + every slot: what /metrics sums
};

// NotFound("metrics_not_found") if `path` does not exist (nothing is created);
// Unavailable("metrics_uninitialised") for a file of another size, magic or
// version (a worker re-initialises it at its next start); Internal
// ("metrics_file") on I/O errors. Each slot is read between seqlock checks,
// like Metrics::Read, so a concurrent fold is never seen halfway.
Result<MetricsFileView> ReadMetricsFile(const std::string& path);

}  // namespace folio
