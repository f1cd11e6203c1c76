// process.h: who a process is across pid reuse, and whether it still runs.
// The shared tables (metrics slots, in-flight leaders, limit tickets and
// upstream slots) record their owners as ProcessIds, and free what a dead
// owner held: this file is the one definition of "dead". Safe from any
// thread; SelfProcessId() stays right in a fork()ed child.
#pragma once

#include <compare>
#include <cstdint>

namespace folio {

// A process, told apart from a later one that reuses its pid by its start
// time in clock ticks after boot (/proc/<pid>/stat field 22).
struct ProcessId {
  int32_t pid = 0;           // 0: nobody
  uint64_t start_ticks = 0;  // 0: unknown (IsAlive then trusts the pid alone)
  friend bool operator==(const ProcessId&, const ProcessId&) = default;
  friend auto operator<=>(const ProcessId&, const ProcessId&) = default;
};

// This process. The first call reads /proc/self/stat (~4 µs); later ones
// are a relaxed atomic load. A fork()ed child gets its own id: a
// pthread_atfork handler clears the cache in the child.
ProcessId SelfProcessId();

// False when `id` is certainly gone: no such pid (kill(pid, 0) fails with
// ESRCH), a zombie, or a process that started at another time than
// id.start_ticks (the pid was reused). ~5-10 µs for another process; this
// process answers from the cache.
//
// The one rule for an unreadable /proc/<pid>/stat while the pid exists (no
// /proc mounted, hidepid, out of file descriptors, or the process exiting
// between the two checks): ALIVE. A wrongly kept owner is always recovered —
// the next check reads /proc again (limits and metrics reclaim every few
// seconds), an in-flight lease still runs out, and a reused pid only delays
// the reclaim — while a wrongly reclaimed one breaks the kill -9 invariants:
// a live worker's upstream slot or concurrency ticket is handed to another
// (the caps are exceeded, its later release frees someone else's holding),
// its metrics slot is folded while it still writes, and a live leader's
// question is asked of the provider twice.
bool IsAlive(const ProcessId& id);

// A ProcessId in one word, for atomics that record an owner: the pid in the
// low 22 bits (PID_MAX_LIMIT is 2^22), start_ticks in the next 41 (2^41
// ticks at USER_HZ = 100 is 697 years of uptime), so the packing is lossless.
// Bit 63 is always 0: callers may use it as a flag. Packs to 0 only for pid 0.
uint64_t PackProcessId(const ProcessId& id);
ProcessId UnpackProcessId(uint64_t word);  // ignores bit 63

}  // namespace folio
