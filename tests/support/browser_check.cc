// browser_check.cc: running a tests/browser/ check and reading its report.
#include "browser_check.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "stack.h"

namespace folio::test {

namespace {

const std::string kBrowserDir = FOLIO_SOURCE_DIR "/tests/browser";

std::string Quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

const nlohmann::json* BrowserRun::Scenario(const std::string& prefix) const {
  for (const auto& r : results)
    if (r.is_object() && r.value("name", "").rfind(prefix, 0) == 0) return &r;
  return nullptr;
}

std::string BrowserSetupProblem() {
  std::string out;
  if (RunCommand("node --version", &out) != 0) return "node is not installed: run scripts/bootstrap browser";
  if (!std::filesystem::exists("/usr/bin/chromium")) return "/usr/bin/chromium is missing: run scripts/bootstrap browser";
  for (const char* package : {"playwright-core", "axe-core"})
    if (!std::filesystem::exists(kBrowserDir + "/node_modules/" + package + "/package.json"))
      return std::string(package) + " is not installed in tests/browser: run scripts/bootstrap browser";
  return "";
}

BrowserRun RunBrowserCheck(const std::string& script, std::map<std::string, std::string> env) {
  env.emplace("SCREENSHOT_DIR", FOLIO_BINARY_DIR "/screenshots");
  std::string command = "cd " + Quoted(kBrowserDir) + " && env";
  for (const auto& [k, v] : env) command += " " + k + "=" + Quoted(v);
  command += " node " + Quoted(script);
  BrowserRun run;
  run.exit_code = RunCommand(command, &run.output);
  std::istringstream lines(run.output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("RESULTS ", 0) != 0) continue;
    auto parsed = nlohmann::json::parse(line.substr(8), nullptr, false);
    if (parsed.is_array()) run.results = parsed;
  }
  return run;
}

void CheckBrowserReport(const std::string& setup_problem, const BrowserRun* run) {
  ASSERT_EQ(setup_problem, "");
  ASSERT_NE(run, nullptr) << "the stacks did not start";
  ASSERT_FALSE(run->results.empty()) << "no report from the browser check:\n" << run->output;
}

nlohmann::json ExpectScenarioPassed(const BrowserRun& run, const std::string& prefix) {
  const nlohmann::json* s = run.Scenario(prefix);
  if (!s) {
    ADD_FAILURE() << "no scenario \"" << prefix << "\" in the browser check's report:\n" << run.output;
    return nlohmann::json::object();
  }
  EXPECT_TRUE(s->value("ok", false)) << prefix << ": " << s->value("error", std::string("?"));
  return *s;
}

}  // namespace folio::test
