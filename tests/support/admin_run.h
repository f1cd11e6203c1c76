// admin_run.h: one run of the folio-admin binary for integration tests, with
// an environment of the test's choosing (a stack's, with overrides): its exit
// code, stdout and stderr kept apart, since stdout must be exactly the
// answer (one JSON document under --json) and messages go to stderr.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace folio::test {

inline const std::string kAdminBinary = FOLIO_BINARY_DIR "/bin/folio-admin";

struct AdminRun {
  int exit_code = -1;
  std::string out, err;
  // stdout as exactly one JSON document (discarded value otherwise: a log
  // line or a second document on stdout makes it fail to parse).
  nlohmann::json Json() const { return nlohmann::json::parse(out, nullptr, false); }
};

// `args` as one shell-quoted string ("status --json"); `env` is the whole
// set of variables passed on top of the test's own environment.
AdminRun RunAdmin(const std::string& args, const std::map<std::string, std::string>& env);

}  // namespace folio::test
