// process_identity.h: who a process is, across pid reuse: its pid plus its
// start time in clock ticks after boot (/proc/<pid>/stat field 22). Used by
// the shared tables (in-flight, limits) to tell a dead owner from a live one.
// Stateless; safe from any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace folio {

struct ProcStat {
  char state = '?';          // field 3: R, S, D, Z (zombie), ...
  uint64_t start_ticks = 0;  // field 22
};

// nullopt if the process does not exist. Plain read(2): ~4 µs.
std::optional<ProcStat> ReadProcStat(pid_t pid);

}  // namespace folio
