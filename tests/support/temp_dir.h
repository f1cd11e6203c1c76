// temp_dir.h: a fresh directory under /tmp for one test, fixture or stack,
// removed with everything in it when its TempDir goes. With
// FOLIO_KEEP_TEST_DIRS set it is kept instead, to be looked at after a
// failure (the test stacks keep theirs the same way). Not thread-safe.
#pragma once

#include <string>

namespace folio::test {

class TempDir {
 public:
  // Creates /tmp/<prefix>-XXXXXX (mode 0700); a test failure if it cannot.
  explicit TempDir(const std::string& prefix = "folio-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + relative; nothing is created.
  std::string path(const std::string& relative) const { return path_ + "/" + relative; }

 private:
  std::string path_;
};

}  // namespace folio::test
