// proc_util.cc: see proc_util.h.
#include "proc_util.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace folio::test {

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

pid_t ParentOf(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 4 > stat.size()) return -1;
  return std::atoi(stat.c_str() + close + 4);
}

std::vector<pid_t> AllPids() {
  std::vector<pid_t> pids;
  DIR* d = opendir("/proc");
  while (dirent* e = d ? readdir(d) : nullptr) {
    pid_t pid = std::atoi(e->d_name);
    if (pid > 0) pids.push_back(pid);
  }
  if (d) closedir(d);
  return pids;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

ExecEnvironment::ExecEnvironment(const std::map<std::string, std::string>& overrides, bool inherit) {
  for (char** e = environ; inherit && *e != nullptr; ++e) {
    const std::string entry = *e;
    if (!overrides.count(entry.substr(0, entry.find('=')))) entries_.push_back(entry);
  }
  for (const auto& [name, value] : overrides) entries_.push_back(name + "=" + value);
  for (std::string& entry : entries_) pointers_.push_back(entry.data());
  pointers_.push_back(nullptr);
}

}  // namespace folio::test
