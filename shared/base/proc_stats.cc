// proc_stats.cc: /proc parsing. Files vanish between listing and reading
// (a worker may die); every read tolerates that and skips the process.
#include "proc_stats.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace folio {

namespace {

std::string ReadSmall(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Value in kB of "Name:   123 kB" in smaps_rollup/status text.
int64_t FieldKb(const std::string& text, const std::string& name) {
  size_t at = text.find("\n" + name + ":");
  if (at == std::string::npos) at = text.rfind(name + ":", 0) == 0 ? 0 : std::string::npos;
  if (at == std::string::npos) return 0;
  at = text.find(':', at) + 1;
  return std::strtoll(text.c_str() + at, nullptr, 10);
}

ProcessMemory ReadProcess(int pid) {
  ProcessMemory m;
  m.pid = pid;
  std::string base = "/proc/" + std::to_string(pid);
  m.rss_kb = FieldKb(ReadSmall(base + "/status"), "VmRSS");
  m.pss_kb = FieldKb(ReadSmall(base + "/smaps_rollup"), "Pss");
  return m;
}

// (ppid, comm) from /proc/PID/stat; comm may contain spaces and ')'.
bool ParentAndName(int pid, int* ppid, std::string* comm) {
  std::string stat = ReadSmall("/proc/" + std::to_string(pid) + "/stat");
  size_t open = stat.find('('), close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 4 > stat.size()) return false;
  *comm = stat.substr(open + 1, close - open - 1);
  *ppid = std::atoi(stat.c_str() + close + 4);  // ") S ppid"
  return true;
}

int64_t ReadNumber(const std::string& path) {
  std::string s = ReadSmall(path);
  if (s.empty() || s.rfind("max", 0) == 0) return -1;
  return std::strtoll(s.c_str(), nullptr, 10);
}

}  // namespace

ProcessMemory SelfMemory() { return ReadProcess(getpid()); }

std::vector<ProcessMemory> PoolMemory() {
  std::vector<ProcessMemory> out;
  int my_ppid = getppid();
  int self_ppid;
  std::string my_comm;
  if (!ParentAndName(getpid(), &self_ppid, &my_comm)) return {SelfMemory()};
  DIR* dir = opendir("/proc");
  if (!dir) return {SelfMemory()};
  while (dirent* e = readdir(dir)) {
    int pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    int ppid;
    std::string comm;
    if (ParentAndName(pid, &ppid, &comm) && ppid == my_ppid && comm == my_comm) out.push_back(ReadProcess(pid));
  }
  closedir(dir);
  return out;
}

int64_t CgroupMemoryBytes() {
  int64_t usage = ReadNumber("/sys/fs/cgroup/memory.current");
  std::string stat = ReadSmall("/sys/fs/cgroup/memory.stat");
  const char* inactive_key = "inactive_file ";
  if (usage < 0) {  // cgroup v1
    usage = ReadNumber("/sys/fs/cgroup/memory/memory.usage_in_bytes");
    stat = ReadSmall("/sys/fs/cgroup/memory/memory.stat");
    inactive_key = "total_inactive_file ";
  }
  if (usage < 0) return -1;
  size_t at = stat.rfind(std::string("\n") + inactive_key);
  if (at == std::string::npos && stat.rfind(inactive_key, 0) == 0) at = 0; else if (at != std::string::npos) ++at;
  int64_t inactive = at == std::string::npos ? 0 : std::strtoll(stat.c_str() + at + std::strlen(inactive_key), nullptr, 10);
  return usage > inactive ? usage - inactive : 0;
}

int64_t CgroupMemoryLimitBytes() {
  int64_t v = ReadNumber("/sys/fs/cgroup/memory.max");
  if (v < 0) v = ReadNumber("/sys/fs/cgroup/memory/memory.limit_in_bytes");
  // cgroup v1 reports "unlimited" as a huge number.
  return v > (int64_t{1} << 50) ? -1 : v;
}

}  // namespace folio
