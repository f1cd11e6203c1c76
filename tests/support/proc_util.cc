// proc_util.cc: see proc_util.h.
#include "proc_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

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

std::string ProcessName(pid_t pid) {
  std::string comm = ReadFile("/proc/" + std::to_string(pid) + "/comm");
  if (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm;
}

bool ProcessAlive(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
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

namespace {

void ReapOrphans() {
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

}  // namespace

ProcessTree::ProcessTree() { prctl(PR_SET_CHILD_SUBREAPER, 1); }

ProcessTree::~ProcessTree() { Stop(); }

void ProcessTree::Spawn(char* const argv[], char* const envp[], const std::string& log_path,
                        const std::function<bool()>& prepare) {
  const char* log = log_path.c_str();
  root_ = fork();
  if (root_ != 0) return;
  setpgid(0, 0);
  int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  dup2(fd, 1);
  dup2(fd, 2);
  int devnull = open("/dev/null", O_RDONLY);
  dup2(devnull, 0);
  if (prepare && !prepare()) _exit(126);
  prctl(PR_SET_PDEATHSIG, SIGTERM);  // after `prepare`: a change of user clears it
  execve(argv[0], argv, envp);
  _exit(127);
}

std::vector<pid_t> ProcessTree::Descendants() const {
  if (root_ <= 0) return {};
  std::set<pid_t> family = {root_};
  const std::vector<pid_t> all = AllPids();
  for (bool grew = true; grew;) {
    grew = false;
    for (pid_t p : all)
      if (!family.count(p) && family.count(ParentOf(p))) family.insert(p), grew = true;
  }
  family.erase(root_);
  return {family.begin(), family.end()};
}

bool ProcessTree::Exited(int* status) {
  if (root_ <= 0 || waitpid(root_, status, WNOHANG) != root_) return false;
  root_ = -1;
  return true;
}

int ProcessTree::Terminate(std::chrono::milliseconds deadline) {
  if (root_ <= 0) return -1;
  kill(root_, SIGTERM);
  const auto until = std::chrono::steady_clock::now() + deadline;
  int status = 0;
  while (std::chrono::steady_clock::now() < until) {
    if (Exited(&status)) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

void ProcessTree::KillEverything() {
  if (root_ <= 0) return;
  const std::vector<pid_t> all = Descendants();
  kill(root_, SIGKILL);  // first: it must not restart what dies below
  for (pid_t p : all) kill(p, SIGKILL);
  waitpid(root_, nullptr, 0);
  root_ = -1;
  for (pid_t p : all)
    while (ProcessAlive(p)) {
      ReapOrphans();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

void ProcessTree::Stop() {
  const std::vector<pid_t> started = Descendants();
  if (root_ > 0) Terminate(std::chrono::seconds(20));
  for (pid_t p : started)
    if (ProcessAlive(p)) kill(p, SIGKILL);
  if (root_ > 0) {
    kill(root_, SIGKILL);
    waitpid(root_, nullptr, 0);
    root_ = -1;
  }
  ReapOrphans();
}

}  // namespace folio::test
