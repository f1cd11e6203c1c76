// proc_util.h: what the test stacks share about processes — files and the
// process tree read from /proc, shell quoting, an environment for execve(),
// and ProcessTree: a started process and everything below it, stopped by
// PID even when the test failed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace folio::test {

std::string ReadFile(const std::string& path);  // "" if unreadable
pid_t ParentOf(pid_t pid);                      // -1 if the process is gone
std::vector<pid_t> AllPids();                   // every pid in /proc now
std::string ProcessName(pid_t pid);             // /proc/PID/comm, "" if gone
bool ProcessAlive(pid_t pid);                   // exists and is not a zombie
std::string ShellQuote(const std::string& s);   // one word for sh, whatever s holds

// This process's environment with `overrides` applied, ready for execve().
// Built before fork(): a child of a threaded process (the in-process mock
// LLM's threads) may only make async-signal-safe calls, and setenv() or any
// allocation there can deadlock on a lock another thread held at the fork
// (seen under ASan's allocator).
class ExecEnvironment {
 public:
  // inherit=false: `overrides` is the whole environment.
  explicit ExecEnvironment(const std::map<std::string, std::string>& overrides, bool inherit = true);
  ExecEnvironment(const ExecEnvironment&) = delete;
  ExecEnvironment& operator=(const ExecEnvironment&) = delete;
  char* const* envp() const { return pointers_.data(); }

 private:
  std::vector<std::string> entries_;
  std::vector<char*> pointers_;  // into entries_, then nullptr
};

// A child of this process (a stack's supervisord) and every process below
// it. Constructing one makes this process a child subreaper, so that
// orphans below the root (an nginx whose supervisord died) come back to it
// and can still be found, stopped and reaped. Not thread-safe.
class ProcessTree {
 public:
  ProcessTree();
  ~ProcessTree();  // Stop()
  ProcessTree(const ProcessTree&) = delete;
  ProcessTree& operator=(const ProcessTree&) = delete;

  // Starts argv[0] (an absolute path) with exactly `envp` as the tree's
  // root: its own process group, stdin /dev/null, stdout and stderr
  // written to `log_path`, SIGTERM when this process dies. In the child,
  // `prepare` (when given) runs just before the exec: async-signal-safe
  // calls only; false ends the child with status 126. REQUIRES: no root yet.
  void Spawn(char* const argv[], char* const envp[], const std::string& log_path,
             const std::function<bool()>& prepare = nullptr);
  pid_t root() const { return root_; }
  bool running() const { return root_ > 0; }
  // Every process below the root now.
  std::vector<pid_t> Descendants() const;
  // True (with its wait status in *status) once the root has exited; it is
  // reaped and the tree holds no root any more.
  bool Exited(int* status);
  // SIGTERM to the root; waits up to `deadline` for it to exit. Returns its
  // exit status (128 + the signal that ended it), or -1 if it did not exit
  // in time or there is no root.
  int Terminate(std::chrono::milliseconds deadline);
  // SIGKILL to the root and every process below it at once (a power cut of
  // the processes, not of the disk); returns once all are gone.
  void KillEverything();
  // Terminate() with 20 s to drain, then SIGKILL to whatever the root had
  // started that is still alive; reaps the root and every orphan.
  void Stop();

 private:
  pid_t root_ = -1;
};

}  // namespace folio::test
