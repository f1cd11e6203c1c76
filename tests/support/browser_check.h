// browser_check.h: runs one of the browser checks in tests/browser/ (node
// driving Debian's chromium through playwright-core) with the ports of the
// stacks a test started, and reads the RESULTS line it prints: one entry
// per scenario with its name, whether it passed, its figures or its error.
// The npm packages and chromium are installed by `scripts/bootstrap browser`
// (scripts/test does it); a missing piece is a failure that says so.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace folio::test {

struct BrowserRun {
  int exit_code = -1;
  std::string output;                            // stdout + stderr of node
  nlohmann::json results = nlohmann::json::array();  // the RESULTS line, [] if none

  // The scenario whose name starts with `prefix`; null when absent.
  const nlohmann::json* Scenario(const std::string& prefix) const;
};

// "" when node, /usr/bin/chromium and tests/browser/node_modules are there;
// otherwise what is missing and how to install it.
std::string BrowserSetupProblem();

// node tests/browser/<script> with `env` added to the environment
// (SCREENSHOT_DIR defaults to <build dir>/screenshots).
BrowserRun RunBrowserCheck(const std::string& script, std::map<std::string, std::string> env);

// For a fixture's SetUp: a fatal failure unless the browser setup was
// there (`setup_problem` empty), the stacks started (`run` set) and the
// check printed its report.
void CheckBrowserReport(const std::string& setup_problem, const BrowserRun* run);

// Fails the current test unless `run` has a passing scenario named
// `prefix`…; returns it (an empty object if absent) for figures.
nlohmann::json ExpectScenarioPassed(const BrowserRun& run, const std::string& prefix);

}  // namespace folio::test
