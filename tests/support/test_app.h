// test_app.h: an App for unit tests that call handlers directly — a real
// index of the sample KB and a real LMDB environment in a fresh temporary
// directory (removed when the TestApp goes), no processes, no network.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "app.h"
#include "temp_dir.h"

namespace folio::test {

// Config from defaults plus `env` (DATA_DIR and INDEX_DIR are set by TestApp).
Config TestConfig(const std::map<std::string, std::string>& env = {});

class TestApp {
 public:
  // with_state: open the LMDB store and the index, as a ready worker has.
  explicit TestApp(const std::map<std::string, std::string>& env = {}, bool with_state = true);
  ~TestApp();
  App& app() { return *app_; }
  const std::string& dir() const { return dir_.path(); }

 private:
  TempDir dir_{"folio-app"};  // declared first: outlives the App's environment
  std::unique_ptr<App> app_;
};

// The sample KB's index, built once per test process.
const std::string& SampleIndexDir();

}  // namespace folio::test
