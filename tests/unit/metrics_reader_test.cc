// metrics_reader_test.cc: ReadMetricsFile sees each process's slot (pid,
// liveness, requests) as the workers leave them, without claiming a slot,
// creating the file or changing a byte of it.
#include "metrics_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "child.h"
#include "metrics.h"
#include "temp_dir.h"

namespace folio {
namespace {

std::string Contents(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class MetricsReaderTest : public ::testing::Test {
 protected:
  const test::TempDir dir_{"folio-metrics-reader"};
  const std::string path_ = dir_.path("metrics.shm");
};

TEST_F(MetricsReaderTest, AbsentFileIsNotFoundAndNotCreated) {
  Result<MetricsFileView> view = ReadMetricsFile(path_);
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.status().error(), "metrics_not_found");
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(MetricsReaderTest, ShowsThisProcessSlotWithItsRequests) {
  Result<std::unique_ptr<Metrics>> metrics = Metrics::Open(path_);
  ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
  (*metrics)->RecordRequest(Route::kChat, 200, 0.01);
  (*metrics)->RecordRequest(Route::kSearch, 503, 0.01);
  (*metrics)->Add(Counter::kUpstreamCalls, 3);
  Result<MetricsFileView> view = ReadMetricsFile(path_);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  ASSERT_EQ(view->processes.size(), 1u);
  const MetricsProcess& p = view->processes[0];
  EXPECT_EQ(p.pid, getpid());
  EXPECT_TRUE(p.alive);
  EXPECT_EQ(p.slot, (*metrics)->slot());
  EXPECT_EQ(p.requests, 2);
  EXPECT_EQ(p.errors, 1);
  EXPECT_EQ(p.upstream_calls, 3);
  EXPECT_EQ(view->total_requests, 2);
}

TEST_F(MetricsReaderTest, ReadingChangesNothingInTheFile) {
  Result<std::unique_ptr<Metrics>> metrics = Metrics::Open(path_);
  ASSERT_TRUE(metrics.ok());
  (*metrics)->RecordRequest(Route::kPing, 200, 0.001);
  const std::string before = Contents(path_);
  ASSERT_TRUE(ReadMetricsFile(path_).ok());
  EXPECT_EQ(Contents(path_), before);
  EXPECT_EQ((*metrics)->Read().processes, 1);  // the reader claimed no slot
}

TEST_F(MetricsReaderTest, DeadProcessSlotIsShownNotAlive) {
  test::Child child([&] {
    Result<std::unique_ptr<Metrics>> m = Metrics::Open(path_);
    if (!m.ok()) return 1;
    (*m)->RecordRequest(Route::kChat, 200, 0.01);
    (void)m->release();  // no destructor: the slot stays claimed, as after a crash
    return 0;
  });
  const pid_t pid = child.pid();
  ASSERT_EQ(child.Wait(), 0);
  Result<MetricsFileView> view = ReadMetricsFile(path_);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  ASSERT_EQ(view->processes.size(), 1u);
  EXPECT_EQ(view->processes[0].pid, pid);
  EXPECT_FALSE(view->processes[0].alive);
  EXPECT_EQ(view->processes[0].requests, 1);
}

TEST_F(MetricsReaderTest, GarbageFileIsRefusedAndLeftAlone) {
  const std::string garbage(4096, 'x');
  std::ofstream(path_, std::ios::binary) << garbage;
  Result<MetricsFileView> view = ReadMetricsFile(path_);
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.status().error(), "metrics_uninitialised");
  EXPECT_EQ(Contents(path_), garbage);
}

}  // namespace
}  // namespace folio
