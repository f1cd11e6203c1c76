// proc_util.h: small helpers the test stacks share — files, the process
// tree read from /proc, shell quoting.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace folio::test {

std::string ReadFile(const std::string& path);  // "" if unreadable
pid_t ParentOf(pid_t pid);                      // -1 if the process is gone
std::vector<pid_t> AllPids();                   // every pid in /proc now
std::string ShellQuote(const std::string& s);   // one word for sh, whatever s holds

}  // namespace folio::test
