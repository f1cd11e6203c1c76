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

#include "proc_util.h"
#include "temp_dir.h"
#include "test_http.h"

namespace folio::test {

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// Runs a shell command line; returns its exit status and fills *output with
// stdout+stderr.
int RunCommand(const std::string& command, std::string* output);

// Polls GET /ready on 127.0.0.1:`port` until it answers 200 (→ ""), the
// root of `tree` exits or `deadline` passes (→ which of the two, for the
// start error).
std::string WaitUntilReady(ProcessTree& tree, int port, std::chrono::milliseconds deadline);

// A test failure for every sanitizer report (ASan, LSan, TSan, UBSan) in a
// *.stderr.log of `log_dir`: what an instrumented build's workers write.
void ExpectNoSanitizerReports(const std::string& log_dir);

// The value of the unlabelled sample `name` in a Prometheus text
// exposition ("folio_breaker_state 1"); -1 when it has none.
double SampleValue(const std::string& exposition, const std::string& name);

class TestStack {
 public:
  // Starts the stack with `env` on top of the test defaults and waits up to
  // `ready_within` for /ready to answer 200. On failure returns nullptr and
  // fills *error with the start log.
  static std::unique_ptr<TestStack> Start(const std::map<std::string, std::string>& env, std::string* error,
                                          std::chrono::milliseconds ready_within = std::chrono::seconds(20),
                                          bool wait_ready = true);
  ~TestStack();  // stops every process it started; ExpectNoSanitizerReports()
  TestStack(const TestStack&) = delete;
  TestStack& operator=(const TestStack&) = delete;

  int port() const { return port_; }
  int tls_port() const { return tls_port_; }
  const std::string& dir() const { return dir_.path(); }
  std::string log_dir() const { return dir_.path("logs"); }
  std::string data_dir() const { return dir_.path("data"); }
  std::string run_dir() const { return dir_.path("run"); }
  pid_t supervisord_pid() const { return processes_.root(); }
  const std::map<std::string, std::string>& env() const { return env_; }

  HttpResponse Get(const std::string& path, const HttpOptions& options = {}) const;
  HttpResponse Post(const std::string& path, const std::string& body, const HttpOptions& options = {}) const;

  // PIDs of the running worker processes / nginx processes (children of supervisord).
  std::vector<pid_t> WorkerPids() const;
  std::vector<pid_t> NginxPids() const;
  // Every process below supervisord.
  std::vector<pid_t> Descendants() const { return processes_.Descendants(); }
  // GET /metrics: the value of its unlabelled sample `name`, -1 if none.
  double Metric(const std::string& name) const;

  // The content of a log file in LOG_DIR ("nginx-access.log", "worker-0.log").
  std::string ReadLog(const std::string& name) const;
  // Polls every worker log until one contains `needle`, up to `deadline`.
  bool WaitForWorkerLog(const std::string& needle, std::chrono::milliseconds deadline) const;
  bool WaitForLog(const std::string& name, const std::string& needle, std::chrono::milliseconds deadline) const;

  // supervisorctl against this instance; returns exit status, fills *output.
  int Supervisorctl(const std::string& args, std::string* output) const;

  // SIGTERM to supervisord; waits up to `deadline` for it to exit.
  // Returns its exit status, or -1 if it did not exit in time.
  int Terminate(std::chrono::milliseconds deadline) { return processes_.Terminate(deadline); }
  // SIGKILL to supervisord and every process below it at once; returns
  // once all are gone. What is in DATA_DIR is then exactly what the
  // processes had committed.
  void KillEverything() { processes_.KillEverything(); }
  bool running() const { return processes_.running(); }

 private:
  TestStack() = default;
  static std::unique_ptr<TestStack> StartOnce(const std::map<std::string, std::string>& env, std::string* error,
                                              std::chrono::milliseconds ready_within, bool wait_ready);
  std::string EnvPrefix() const;

  TempDir dir_{"folio-test"};  // declared first: removed after the processes stopped
  ProcessTree processes_;      // supervisord and everything below it
  int port_ = 0, tls_port_ = 0;
  std::map<std::string, std::string> env_;
};

}  // namespace folio::test
