// stack.h: a whole private folio instance for integration tests — the real
// scripts/start, supervisord, nginx and workers — in a fresh temporary
// directory on free loopback ports. The destructor stops it by PID (SIGTERM,
// then SIGKILL of every process it started) even when the test failed; if
// the test process itself dies, supervisord gets SIGTERM (PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "test_http.h"

namespace folio::test {

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// Runs a shell command line; returns its exit status and fills *output with
// stdout+stderr.
int RunCommand(const std::string& command, std::string* output);

class TestStack {
 public:
  // Starts the stack with `env` on top of the test defaults and waits up to
  // `ready_within` for /ready to answer 200. On failure returns nullptr and
  // fills *error with the start log.
  static std::unique_ptr<TestStack> Start(const std::map<std::string, std::string>& env, std::string* error,
                                          std::chrono::milliseconds ready_within = std::chrono::seconds(20),
                                          bool wait_ready = true);
  ~TestStack();
  TestStack(const TestStack&) = delete;
  TestStack& operator=(const TestStack&) = delete;

  int port() const { return port_; }
  int tls_port() const { return tls_port_; }
  const std::string& dir() const { return dir_; }
  std::string log_dir() const { return dir_ + "/logs"; }
  std::string data_dir() const { return dir_ + "/data"; }
  std::string run_dir() const { return dir_ + "/run"; }
  pid_t supervisord_pid() const { return pid_; }
  const std::map<std::string, std::string>& env() const { return env_; }

  HttpResponse Get(const std::string& path, const HttpOptions& options = {}) const;
  HttpResponse Post(const std::string& path, const std::string& body, const HttpOptions& options = {}) const;

  // PIDs of the running worker processes / nginx processes (children of supervisord).
  std::vector<pid_t> WorkerPids() const;
  std::vector<pid_t> NginxPids() const;
  // Every process below supervisord.
  std::vector<pid_t> Descendants() const;

  // The content of a log file in LOG_DIR ("nginx-access.log", "worker-0.log").
  std::string ReadLog(const std::string& name) const;
  // Polls every worker log until one contains `needle`, up to `deadline`.
  bool WaitForWorkerLog(const std::string& needle, std::chrono::milliseconds deadline) const;
  bool WaitForLog(const std::string& name, const std::string& needle, std::chrono::milliseconds deadline) const;

  // supervisorctl against this instance; returns exit status, fills *output.
  int Supervisorctl(const std::string& args, std::string* output) const;

  // SIGTERM to supervisord; waits up to `deadline` for it to exit.
  // Returns its exit status, or -1 if it did not exit in time.
  int Terminate(std::chrono::milliseconds deadline);
  // SIGKILL to supervisord and every process below it at once (a power cut
  // of the processes, not of the disk); returns once all are gone. What is
  // in DATA_DIR is then exactly what the processes had committed.
  void KillEverything();
  // A test failure for every sanitizer report a worker wrote to its
  // stderr log (an ASan/UBSan/TSan build's workers); the destructor calls it.
  void ExpectNoSanitizerReports() const;
  bool running() const { return pid_ > 0; }

 private:
  TestStack() = default;
  std::string EnvPrefix() const;

  std::string dir_;
  int port_ = 0, tls_port_ = 0;
  pid_t pid_ = -1;
  std::map<std::string, std::string> env_;
};

// The running process's command name (/proc/PID/comm), "" if gone.
std::string ProcessName(pid_t pid);
bool ProcessAlive(pid_t pid);

}  // namespace folio::test
