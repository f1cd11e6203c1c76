// admin_run.cc: folio-admin through sh, stderr captured to a temp file.
#include "admin_run.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "proc_util.h"
#include "stack.h"

namespace folio::test {

AdminRun RunAdmin(const std::string& args, const std::map<std::string, std::string>& env) {
  char tmpl[] = "/tmp/folio-admin-err-XXXXXX";
  const int fd = mkstemp(tmpl);
  close(fd);
  std::string command = "{ env";
  for (const auto& [k, v] : env) command += " " + k + "=" + ShellQuote(v);
  command += " " + kAdminBinary + " " + args + " 2>" + tmpl + "; }";
  AdminRun run;
  run.exit_code = RunCommand(command, &run.out);
  run.err = ReadFile(tmpl);
  std::filesystem::remove(tmpl);
  return run;
}

}  // namespace folio::test
