// test_app.cc: building the sample index once and wiring a ready App.
#include "test_app.h"

#include <gtest/gtest.h>

#include "index_writer.h"
#include "state.h"

namespace folio::test {

const std::string& SampleIndexDir() {
  static const TempDir root("folio-sample-index");  // removed at exit: one index per test process
  static const std::string dir = [] {
    std::string out = root.path("index");
    Result<BuildReport> built = BuildIndex(FOLIO_SOURCE_DIR "/kb", out, IndexBuildOptions{});
    if (!built.ok()) ADD_FAILURE() << built.status().ToString();
    return out;
  }();
  return dir;
}

Config TestConfig(const std::map<std::string, std::string>& env) {
  std::vector<std::string> problems;
  auto shared = std::make_shared<std::map<std::string, std::string>>(env);
  Result<Config> config = Config::Load(&problems, [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  });
  if (!config.ok()) ADD_FAILURE() << config.status().ToString();
  return std::move(config.value());
}

TestApp::TestApp(const std::map<std::string, std::string>& env, bool with_state) {
  std::map<std::string, std::string> all = {{"DATA_DIR", dir_.path()}, {"INDEX_DIR", SampleIndexDir()}};
  for (const auto& [k, v] : env) all[k] = v;
  app_ = std::make_unique<App>(TestConfig(all));
  if (!with_state) return;
  Status opened = OpenState(*app_);
  if (!opened.ok()) ADD_FAILURE() << opened.ToString();
  app_->readiness.SetReady();
  (void)app_->index.Load();  // tests of a missing index check the status themselves
}

TestApp::~TestApp() = default;

}  // namespace folio::test
