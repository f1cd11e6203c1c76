// stack.cc: starting and stopping a TestStack.
#include "stack.h"

#include "proc_util.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace folio::test {


int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

int RunCommand(const std::string& command, std::string* output) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  output->clear();
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) output->append(buf, n);
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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

std::unique_ptr<TestStack> TestStack::Start(const std::map<std::string, std::string>& env, std::string* error,
                                            std::chrono::milliseconds ready_within, bool wait_ready) {
  // Orphans of the stack (an nginx whose supervisord died) come back to us,
  // so the destructor can still find and stop them.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  std::unique_ptr<TestStack> stack(new TestStack());
  char tmpl[] = "/tmp/folio-test-XXXXXX";
  stack->dir_ = mkdtemp(tmpl);
  chmod(stack->dir_.c_str(), 0755);  // nginx workers (nobody) must reach RUN_DIR
  stack->port_ = FreePort();
  stack->tls_port_ = FreePort();
  stack->env_ = {{"PORT", std::to_string(stack->port_)},
                 {"TLS_PORT", std::to_string(stack->tls_port_)},
                 {"LISTEN_ADDR", "127.0.0.1"},
                 {"DATA_DIR", stack->data_dir()},
                 {"LOG_DIR", stack->log_dir()},
                 {"RUN_DIR", stack->run_dir()},
                 {"FOLIO_BIN", FOLIO_BINARY_DIR "/bin"},
                 {"LOG_LEVEL", "info"},
                 {"DRAIN_TIMEOUT_S", "5"},
                 // Per-client limits are tested on their own stacks; elsewhere
                 // every request of a test comes from one address.
                 {"CLIENT_RPM", "0"},
                 {"CLIENT_EXPENSIVE_RPM", "0"},
                 {"CLIENT_MAX_CONCURRENT", "0"},
                 {"CLIENT_SESSIONS_PER_MIN", "0"},
                 // Tests poll /ready and /ping far faster than any health check.
                 {"PROBE_RATE_LIMIT_RPS", "100000"},
                 {"PROBE_RATE_LIMIT_BURST", "100000"},
                 {"MAX_CONCURRENT_LLM", "256"}};
  for (const auto& [k, v] : env) stack->env_[k] = v;

  std::string start_log = stack->dir_ + "/start.log";
  const ExecEnvironment environment(stack->env_);
  char start_name[] = "start";
  char* const argv[] = {start_name, nullptr};
  pid_t pid = fork();
  if (pid == 0) {  // async-signal-safe calls only from here (ExecEnvironment)
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    int fd = open(start_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    execve(FOLIO_SOURCE_DIR "/scripts/start", argv, environment.envp());
    _exit(127);
  }
  stack->pid_ = pid;
  if (!wait_ready) return stack;

  auto until = std::chrono::steady_clock::now() + ready_within;
  while (std::chrono::steady_clock::now() < until) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      stack->pid_ = -1;
      *error = "scripts/start exited early (status " + std::to_string(status) + "):\n" + ReadFile(start_log);
      return nullptr;
    }
    if (stack->Get("/ready", {{}, std::chrono::milliseconds(1000)}).status == 200) return stack;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  *error = "not ready within deadline:\n" + ReadFile(start_log) + ReadFile(stack->log_dir() + "/supervisord.log");
  return nullptr;  // the destructor stops what was started
}

TestStack::~TestStack() {
  std::vector<pid_t> started = Descendants();
  if (pid_ > 0) Terminate(std::chrono::seconds(20));
  for (pid_t p : started)
    if (ProcessAlive(p)) kill(p, SIGKILL);
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }  // reap orphans reparented to us
  ExpectNoSanitizerReports();
  if (!getenv("FOLIO_KEEP_TEST_DIRS")) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

void TestStack::ExpectNoSanitizerReports() const {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(log_dir(), ec)) {
    const std::string name = e.path().filename().string();
    if (name.find(".stderr.log") == std::string::npos) continue;
    const std::string text = ReadFile(e.path().string());
    for (const char* mark : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer",
                             "runtime error:"}) {
      const size_t at = text.find(mark);
      if (at != std::string::npos) {
        ADD_FAILURE() << name << " has a sanitizer report:\n" << text.substr(at > 200 ? at - 200 : 0, 4000);
        break;
      }
    }
  }
}

int TestStack::Terminate(std::chrono::milliseconds deadline) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

void TestStack::KillEverything() {
  if (pid_ <= 0) return;
  std::vector<pid_t> all = Descendants();
  kill(pid_, SIGKILL);  // first: it must not restart what dies below
  for (pid_t p : all) kill(p, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  for (pid_t p : all)
    while (ProcessAlive(p)) {
      while (waitpid(-1, nullptr, WNOHANG) > 0) {
      }  // orphans reparented to us (PR_SET_CHILD_SUBREAPER)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

HttpResponse TestStack::Get(const std::string& path, const HttpOptions& options) const {
  return Http(port_, "GET", path, "", options);
}

HttpResponse TestStack::Post(const std::string& path, const std::string& body, const HttpOptions& options) const {
  return Http(port_, "POST", path, body, options);
}

std::vector<pid_t> TestStack::Descendants() const {
  std::vector<pid_t> out;
  if (pid_ <= 0) return out;
  std::set<pid_t> family = {pid_};
  bool grew = true;
  std::vector<pid_t> all = AllPids();
  while (grew) {
    grew = false;
    for (pid_t p : all)
      if (!family.count(p) && family.count(ParentOf(p))) family.insert(p), grew = true;
  }
  family.erase(pid_);
  out.assign(family.begin(), family.end());
  return out;
}

std::vector<pid_t> TestStack::WorkerPids() const {
  std::vector<pid_t> out;
  for (pid_t p : AllPids())
    if (ParentOf(p) == pid_ && ProcessName(p) == "folio-worker") out.push_back(p);
  return out;
}

std::vector<pid_t> TestStack::NginxPids() const {
  std::vector<pid_t> out;
  for (pid_t p : Descendants())
    if (ProcessName(p) == "nginx") out.push_back(p);
  return out;
}

std::string TestStack::ReadLog(const std::string& name) const { return ReadFile(log_dir() + "/" + name); }

bool TestStack::WaitForLog(const std::string& name, const std::string& needle,
                           std::chrono::milliseconds deadline) const {
  auto until = std::chrono::steady_clock::now() + deadline;
  do {
    if (ReadLog(name).find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < until);
  return false;
}

bool TestStack::WaitForWorkerLog(const std::string& needle, std::chrono::milliseconds deadline) const {
  auto until = std::chrono::steady_clock::now() + deadline;
  do {
    for (const auto& entry : std::filesystem::directory_iterator(log_dir())) {
      std::string name = entry.path().filename().string();
      if (name.rfind("worker-", 0) == 0 && ReadLog(name).find(needle) != std::string::npos) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < until);
  return false;
}

std::string TestStack::EnvPrefix() const {
  std::string prefix = "env";
  for (const auto& [k, v] : env_) prefix += " " + k + "=" + ShellQuote(v);
  prefix += " STOP_WAIT_S=10 FOLIO_WORKER=" FOLIO_BINARY_DIR "/bin/folio-worker WORKERS=" + (env_.count("WORKERS") ? env_.at("WORKERS") : std::string("2"));
  return prefix;
}

int TestStack::Supervisorctl(const std::string& args, std::string* output) const {
  return RunCommand(EnvPrefix() + " supervisorctl -c " FOLIO_SOURCE_DIR "/supervisord.conf " + args, output);
}

}  // namespace folio::test
