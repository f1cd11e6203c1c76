// proc_util.h: small helpers the test stacks share — files, the process
// tree read from /proc, shell quoting.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace folio::test {

std::string ReadFile(const std::string& path);  // "" if unreadable
pid_t ParentOf(pid_t pid);                      // -1 if the process is gone
std::vector<pid_t> AllPids();                   // every pid in /proc now
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

}  // namespace folio::test
