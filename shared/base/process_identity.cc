// process_identity.cc: /proc/<pid>/stat parsing without iostreams.
#include "process_identity.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace folio {

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

}  // namespace folio
