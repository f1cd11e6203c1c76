// stack.cc: starting and stopping a TestStack.
#include "stack.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <regex>
#include <thread>

#include "poll_until.h"

namespace folio::test {

constexpr std::chrono::milliseconds kLogPollEvery(20);

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

std::string WaitUntilReady(ProcessTree& tree, int port, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (tree.Exited(&status)) return "exited early (status " + std::to_string(status) + ")";
    if (Http(port, "GET", "/ready", "", {{}, std::chrono::milliseconds(1000)}).status == 200) return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return "not ready within deadline";
}

void ExpectNoSanitizerReports(const std::string& log_dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(log_dir, ec)) {
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

double SampleValue(const std::string& exposition, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(exposition, m, std::regex("(^|\n)" + name + " ([0-9.e+-]+)"))) return -1;
  return std::stod(m[2]);
}

std::unique_ptr<TestStack> TestStack::Start(const std::map<std::string, std::string>& env, std::string* error,
                                            std::chrono::milliseconds ready_within, bool wait_ready) {
  // A port FreePort() found free can be taken before nginx binds it (by
  // any connection's ephemeral port on a busy machine): then the stack is
  // started again on other ports, and only then.
  for (int attempt = 1;; ++attempt) {
    std::unique_ptr<TestStack> stack = StartOnce(env, error, ready_within, wait_ready);
    if (stack || attempt == 3 || error->find("Address already in use") == std::string::npos) return stack;
    std::fprintf(stderr, "[ stack    ] a port was taken before nginx bound it; starting again on others\n");
  }
}

std::unique_ptr<TestStack> TestStack::StartOnce(const std::map<std::string, std::string>& env, std::string* error,
                                                std::chrono::milliseconds ready_within, bool wait_ready) {
  std::unique_ptr<TestStack> stack(new TestStack());
  chmod(stack->dir().c_str(), 0755);  // nginx workers (nobody) must reach RUN_DIR
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

  const std::string start_log = stack->dir_.path("start.log");
  const ExecEnvironment environment(stack->env_);
  char start[] = FOLIO_SOURCE_DIR "/scripts/start";
  char* const argv[] = {start, nullptr};
  stack->processes_.Spawn(argv, environment.envp(), start_log);
  if (!wait_ready) return stack;

  const std::string problem = WaitUntilReady(stack->processes_, stack->port_, ready_within);
  if (problem.empty()) return stack;
  *error = "scripts/start " + problem + ":\n" + ReadFile(start_log) + ReadFile(stack->log_dir() + "/supervisord.log") +
           ReadFile(stack->log_dir() + "/nginx-error.log");
  return nullptr;  // the destructor stops what was started
}

TestStack::~TestStack() {
  processes_.Stop();
  ExpectNoSanitizerReports(log_dir());
}

HttpResponse TestStack::Get(const std::string& path, const HttpOptions& options) const {
  return Http(port_, "GET", path, "", options);
}

HttpResponse TestStack::Post(const std::string& path, const std::string& body, const HttpOptions& options) const {
  return Http(port_, "POST", path, body, options);
}

std::vector<pid_t> TestStack::WorkerPids() const {
  std::vector<pid_t> out;
  for (pid_t p : AllPids())
    if (ParentOf(p) == supervisord_pid() && ProcessName(p) == "folio-worker") out.push_back(p);
  return out;
}

double TestStack::Metric(const std::string& name) const { return SampleValue(Get("/metrics").body, name); }

std::vector<pid_t> TestStack::NginxPids() const {
  std::vector<pid_t> out;
  for (pid_t p : Descendants())
    if (ProcessName(p) == "nginx") out.push_back(p);
  return out;
}

std::string TestStack::ReadLog(const std::string& name) const { return ReadFile(log_dir() + "/" + name); }

bool TestStack::WaitForLog(const std::string& name, const std::string& needle,
                           std::chrono::milliseconds deadline) const {
  return PollUntil([&] { return ReadLog(name).find(needle) != std::string::npos; }, deadline, kLogPollEvery);
}

bool TestStack::WaitForWorkerLog(const std::string& needle, std::chrono::milliseconds deadline) const {
  return PollUntil(
      [&] {
        for (const auto& entry : std::filesystem::directory_iterator(log_dir())) {
          const std::string name = entry.path().filename().string();
          if (name.rfind("worker-", 0) == 0 && ReadLog(name).find(needle) != std::string::npos) return true;
        }
        return false;
      },
      deadline, kLogPollEvery);
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
