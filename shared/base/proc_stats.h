// proc_stats.h: memory figures of this process and its sibling workers, read
// from /proc (Linux). Each call reads files; cheap enough for /api/health,
// not for every request. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace folio {

struct ProcessMemory {
  int pid = 0;
  int64_t rss_kb = 0;  // resident pages, shared ones counted in full
  int64_t pss_kb = 0;  // proportional share: shared pages divided among users
};

// This process (rss from /proc/self/statm; pss from smaps_rollup).
ProcessMemory SelfMemory();

// Every process with the same parent and the same executable name as this
// one (the worker pool supervisord runs), this one included.
std::vector<ProcessMemory> PoolMemory();

// The cgroup's working set: usage minus inactive file pages (what the
// kernel cannot simply drop; the figure container platforms kill on), or -1.
int64_t CgroupMemoryBytes();
// The cgroup's limit (memory.max), or -1 when unlimited/unknown.
int64_t CgroupMemoryLimitBytes();

}  // namespace folio
