// process.cc: /proc/<pid>/stat without iostreams (a plain read(2), ~4 µs),
// the cached identity of this process, and the liveness rule of process.h.
#include "process.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace folio {
namespace {

constexpr uint64_t kPidMask = (uint64_t{1} << 22) - 1;
constexpr uint64_t kStartMask = (uint64_t{1} << 41) - 1;

struct ProcStat {
  char state = '?';          // field 3: R, S, D, Z (zombie), X (dead), ...
  uint64_t start_ticks = 0;  // field 22
};

// nullopt when the file cannot be opened or parsed.
std::optional<ProcStat> ReadProcStat(pid_t pid) {
  char path[32], buf[1024];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  buf[n] = '\0';
  char* rest = std::strrchr(buf, ')');  // comm may hold spaces and ')': fields resume after the last one
  if (rest == nullptr) return std::nullopt;
  ProcStat st;
  char* save = nullptr;
  int field = 3;
  for (char* tok = strtok_r(rest + 1, " ", &save); tok != nullptr; tok = strtok_r(nullptr, " ", &save), ++field) {
    if (field == 3) st.state = tok[0];
    if (field == 22) {
      st.start_ticks = std::strtoull(tok, nullptr, 10);
      return st;
    }
  }
  return std::nullopt;
}

// PackProcessId(this process), or 0 until computed (again in a fork()ed child).
std::atomic<uint64_t> g_self{0};

}  // namespace

uint64_t PackProcessId(const ProcessId& id) {
  return (static_cast<uint64_t>(id.pid) & kPidMask) | ((id.start_ticks & kStartMask) << 22);
}

ProcessId UnpackProcessId(uint64_t word) {
  return ProcessId{static_cast<int32_t>(word & kPidMask), (word >> 22) & kStartMask};
}

ProcessId SelfProcessId() {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, [] { g_self.store(0, std::memory_order_relaxed); });
    return true;
  }();
  (void)registered;
  uint64_t word = g_self.load(std::memory_order_relaxed);
  if (word == 0) {
    const pid_t pid = ::getpid();
    const std::optional<ProcStat> st = ReadProcStat(pid);
    word = PackProcessId(ProcessId{static_cast<int32_t>(pid), st ? st->start_ticks : 0});
    g_self.store(word, std::memory_order_relaxed);
  }
  return UnpackProcessId(word);
}

bool IsAlive(const ProcessId& id) {
  if (id.pid <= 0) return false;
  const ProcessId self = SelfProcessId();
  if (id.pid == self.pid) {
    // An earlier process with this pid is dead; an unknown start cannot tell.
    return id.start_ticks == 0 || self.start_ticks == 0 || id.start_ticks == self.start_ticks;
  }
  if (::kill(id.pid, 0) != 0 && errno == ESRCH) return false;  // EPERM: it exists, another user's
  const std::optional<ProcStat> st = ReadProcStat(id.pid);
  if (!st) return true;  // the rule of process.h: unknown counts as alive
  if (st->state == 'Z' || st->state == 'X') return false;  // will never write or release anything again
  return id.start_ticks == 0 || (st->start_ticks & kStartMask) == id.start_ticks;
}

}  // namespace folio
