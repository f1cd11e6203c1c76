// metrics_test.cc: counts summed across threads, mappings and fork()ed
// processes; dead processes' slots reclaimed without losing counts; garbage
// files re-initialised; the Prometheus text checked by promtool; window
// statistics on injected times.
#include "metrics.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <list>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "child.h"
#include "temp_dir.h"

namespace folio {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;  // unix ms, a multiple of 10 s

std::vector<int64_t> Fields(const MetricsSnapshot& s) {
  std::vector<int64_t> v(sizeof(MetricsCounts) / sizeof(int64_t));
  std::memcpy(v.data(), &s.counts, sizeof(MetricsCounts));
  return v;
}

int64_t Total(const MetricsSnapshot& s) {
  int64_t n = 0;
  for (int r = 0; r < kRouteCount; ++r) n += s.Requests(static_cast<Route>(r));
  return n;
}

class MetricsTest : public ::testing::Test {
 protected:

  std::unique_ptr<Metrics> OpenMetrics() {
    auto m = Metrics::Open(path_);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? std::move(m).value() : nullptr;
  }

  // A child process that opens the file, records `n` chat requests (and a
  // little of everything else), holds one request in flight, reports ready
  // and then waits to be killed (SIGKILLed with the fixture otherwise).
  // Returns it once it is ready.
  test::Child& SpawnRecorder(int n, int64_t now_ms = kT0) {
    test::Pipe ready;
    test::Child& recorder = recorders_.emplace_back([&] {
      auto m = Metrics::Open(path_);
      if (!m.ok()) return 2;
      for (int i = 0; i < n; ++i) (*m)->RecordRequestAt(Route::kChat, 200, 0.02, now_ms);
      (*m)->Add(Counter::kPromptTokens, n);
      (*m)->ObserveUpstream(0.5);
      Metrics::InFlightGuard busy(**m);
      ready.Signal();
      for (;;) pause();
    });
    EXPECT_EQ(ready.Wait(), '!') << "recorder exited before it was ready";
    return recorder;
  }

  const test::TempDir dir_{"folio-metrics"};
  const std::string path_ = dir_.path("metrics.shm");
  std::list<test::Child> recorders_;
};

TEST_F(MetricsTest, CountsAddUpAcrossThreads) {
  auto m = OpenMetrics();
  constexpr int kThreads = 8, kEach = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        m->RecordRequest(Route::kChat, 200, 0.003);
        m->Add(Counter::kCacheHits);
        m->Add(Counter::kCostMicroDollars, 7);
      }
    });
  }
  for (auto& t : threads) t.join();
  MetricsSnapshot s = m->Read();
  const int64_t n = kThreads * kEach;
  EXPECT_EQ(s.counts.requests[static_cast<int>(Route::kChat)][0], n);
  EXPECT_EQ(s.LatencyCount(Route::kChat), n);
  EXPECT_EQ(s.counts.latency_sum_us[static_cast<int>(Route::kChat)], n * 3000);
  EXPECT_EQ(s.counter(Counter::kCacheHits), n);
  EXPECT_EQ(s.counter(Counter::kCostMicroDollars), 7 * n);
}

TEST_F(MetricsTest, StatusesCountInTheirClassAndOverloadOnTop) {
  struct Case { int status; int cls; int overload; };  // overload: -1 none, 0 = 429, 1 = 503
  const Case cases[] = {{200, 0, -1}, {204, 0, -1}, {302, 1, -1}, {404, 2, -1}, {429, 2, 0},
                        {499, 2, -1}, {500, 3, -1}, {503, 3, 1},  {0, 3, -1},   {600, 3, -1}};
  for (const Case& c : cases) {
    auto m = Metrics::InMemory();
    m->RecordRequest(Route::kSearch, c.status, 0.01);
    MetricsSnapshot s = m->Read();
    const int r = static_cast<int>(Route::kSearch);
    for (int k = 0; k < kStatusClassCount; ++k) EXPECT_EQ(s.counts.requests[r][k], k == c.cls ? 1 : 0) << c.status;
    for (int k = 0; k < kOverloadCount; ++k) EXPECT_EQ(s.counts.overload[r][k], k == c.overload ? 1 : 0) << c.status;
  }
}

TEST_F(MetricsTest, NegativeAddsAreIgnored) {
  auto m = Metrics::InMemory();
  m->Add(Counter::kCacheHits, 5);
  m->Add(Counter::kCacheHits, -3);
  EXPECT_EQ(m->Read().counter(Counter::kCacheHits), 5);
}

TEST_F(MetricsTest, TwoMappingsOfOneFileSumTogether) {
  auto a = OpenMetrics(), b = OpenMetrics();
  EXPECT_NE(a->slot(), b->slot());
  for (int i = 0; i < 3; ++i) a->RecordRequest(Route::kPing, 200, 0.0001);
  for (int i = 0; i < 5; ++i) b->RecordRequest(Route::kPing, 200, 0.0001);
  b->Add(Counter::kUpstreamCalls, 2);
  for (Metrics* m : {a.get(), b.get()}) {
    MetricsSnapshot s = m->Read();
    EXPECT_EQ(s.Requests(Route::kPing), 8);
    EXPECT_EQ(s.counter(Counter::kUpstreamCalls), 2);
    EXPECT_EQ(s.processes, 2);
  }
}

TEST_F(MetricsTest, ForkedChildCountsAreSummedAndKeptAfterItExits) {
  auto parent = OpenMetrics();
  parent->RecordRequest(Route::kChat, 200, 0.1);
  ASSERT_EQ(test::RunInChild([&] {
              auto m = Metrics::Open(path_);
              if (!m.ok()) return 2;
              for (int i = 0; i < 7; ++i) (*m)->RecordRequest(Route::kChat, 200, 0.1);
              (void)m->release();  // its destructor does not run: as good as a crash
              return 0;
            }),
            0);
  EXPECT_EQ(parent->Read().Requests(Route::kChat), 8);
  EXPECT_EQ(parent->Read().processes, 2);  // until someone reclaims it
  auto next = OpenMetrics();                // Open reclaims the dead slot
  MetricsSnapshot s = parent->Read();
  EXPECT_EQ(s.Requests(Route::kChat), 8);
  EXPECT_EQ(s.processes, 2);  // parent and next
}

TEST_F(MetricsTest, KilledProcessSlotIsReclaimedAndItsCountsKept) {
  auto m = OpenMetrics();
  m->RecordRequestAt(Route::kChat, 500, 0.2, kT0);
  test::Child& child = SpawnRecorder(40);
  MetricsSnapshot before = m->Read();
  EXPECT_EQ(before.Requests(Route::kChat), 41);
  EXPECT_EQ(before.in_flight, 1);
  EXPECT_EQ(before.processes, 2);
  const WindowSummary window_before = m->WindowStatsAt(60, kT0 + 1000);
  EXPECT_EQ(window_before.requests, 41);

  child.Kill();
  EXPECT_EQ(m->ReclaimDeadSlots(), 1);
  EXPECT_EQ(m->ReclaimDeadSlots(), 0);
  MetricsSnapshot after = m->Read();
  EXPECT_EQ(Fields(after), Fields(before));  // moved to "retired", not lost
  EXPECT_EQ(after.in_flight, 0);             // its request died with it
  EXPECT_EQ(after.in_flight_peak, 1);
  EXPECT_EQ(after.processes, 1);
  const WindowSummary window_after = m->WindowStatsAt(60, kT0 + 1000);
  EXPECT_EQ(window_after.requests, 41);
  EXPECT_EQ(window_after.errors, 1);

  // The freed slot is reusable and starts empty.
  auto reuse = OpenMetrics();
  reuse->Add(Counter::kPromptTokens, 1);
  EXPECT_EQ(m->Read().counter(Counter::kPromptTokens), 41);
}

TEST_F(MetricsTest, TotalsNeverDecreaseWhileSlotsAreReclaimed) {
  auto m = OpenMetrics();
  constexpr int kChildren = 6, kEach = 1000;
  std::vector<test::Child*> recorders;
  for (int i = 0; i < kChildren; ++i) recorders.push_back(&SpawnRecorder(kEach));
  std::atomic<bool> done{false};
  std::atomic<int64_t> reads{0}, decreases{0};
  std::thread reader([&] {
    int64_t last = 0;
    while (!done.load()) {
      const int64_t now = Total(m->Read());
      if (now < last) decreases.fetch_add(1);
      last = now;
      reads.fetch_add(1);
    }
  });
  for (test::Child* recorder : recorders) {
    // Let the reader get going first, so every fold races a read.
    const int64_t seen = reads.load();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (reads.load() < seen + 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    recorder->Kill();
    EXPECT_EQ(m->ReclaimDeadSlots(), 1);
    m->RecordRequest(Route::kOther, 200, 0.001);
  }
  done.store(true);
  reader.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(decreases.load(), 0);
  EXPECT_EQ(Total(m->Read()), kChildren * kEach + kChildren);
}

TEST_F(MetricsTest, DestroyedMetricsFreesItsSlotAndKeepsItsCounts) {
  {
    auto gone = OpenMetrics();
    gone->RecordRequest(Route::kSessions, 404, 0.01);
  }
  auto m = OpenMetrics();
  MetricsSnapshot s = m->Read();
  EXPECT_EQ(s.Requests(Route::kSessions), 1);
  EXPECT_EQ(s.processes, 1);
}

TEST_F(MetricsTest, ForkedChildDroppingInheritedObjectLeavesParentSlot) {
  auto m = OpenMetrics();
  ASSERT_EQ(test::RunInChild([&] {
              m.reset();  // a child's exit path running the parent's destructor
              return 0;
            }),
            0);
  EXPECT_EQ(m->Read().processes, 1);
  auto other = OpenMetrics();
  EXPECT_NE(other->slot(), m->slot());
}

TEST_F(MetricsTest, SlotsRunOutAsResourceExhausted) {
  std::vector<std::unique_ptr<Metrics>> all;
  for (int i = 0; i < Metrics::kMaxProcesses; ++i) all.push_back(OpenMetrics());
  auto more = Metrics::Open(path_);
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.status().code(), Code::kResourceExhausted);
  all.pop_back();
  EXPECT_TRUE(Metrics::Open(path_).ok());
}

TEST_F(MetricsTest, GarbageOrShortFileIsReinitialised) {
  std::mt19937_64 rng(42);
  for (size_t size : {size_t{0}, size_t{3}, size_t{4096}, size_t{2} << 20}) {
    {
      std::ofstream f(path_, std::ios::binary | std::ios::trunc);
      for (size_t i = 0; i < size; ++i) f.put(static_cast<char>(rng()));
    }
    auto m = OpenMetrics();
    ASSERT_NE(m, nullptr);
    MetricsSnapshot s = m->Read();
    for (int64_t v : Fields(s)) ASSERT_EQ(v, 0) << "file of " << size << " bytes";
    EXPECT_EQ(s.processes, 1);
    m->RecordRequest(Route::kHealth, 200, 0.001);
    EXPECT_EQ(m->Read().Requests(Route::kHealth), 1);
  }
}

TEST_F(MetricsTest, InFlightCountsGuardsAndKeepsPeak) {
  auto m = Metrics::InMemory();
  {
    Metrics::InFlightGuard a(*m), b(*m), c(*m);
    EXPECT_EQ(m->Read().in_flight, 3);
  }
  Metrics::InFlightGuard d(*m);
  MetricsSnapshot s = m->Read();
  EXPECT_EQ(s.in_flight, 1);
  EXPECT_EQ(s.in_flight_peak, 3);
}


// --- The Prometheus exposition -------------------------------------------

// Value of the sample line that starts with `series` followed by a space.
int64_t SampleValue(const std::string& text, const std::string& series) {
  size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::strtoll(text.c_str() + at + series.size() + 2, nullptr, 10);
}

MetricsSnapshot Assorted() {
  auto m = Metrics::InMemory();
  for (double s : {0.0004, 0.0005, 0.003, 31.0}) m->RecordRequest(Route::kSearch, 200, s);
  m->RecordRequest(Route::kChat, 429, 0.001);
  m->RecordRequest(Route::kV1Chat, 503, 2.0);
  m->Add(Counter::kCostMicroDollars, 1'234'567);
  m->Add(Counter::kPromptTokens, 900);
  m->ObserveUpstream(1.5);
  Metrics::InFlightGuard busy(*m);
  return m->Read();
}

TEST_F(MetricsTest, PrometheusTextPassesPromtool) {
  ASSERT_EQ(std::system("command -v promtool >/dev/null 2>&1"), 0)
      << "promtool not found: `apt-get install -y --no-install-recommends prometheus` "
         "(scripts/bootstrap installs it)";
  ExtraGauges extra;
  extra.breaker_state = 1;
  extra.rss_bytes = 123456789;
  extra.index_chunks = 4200;
  extra.cache_entries = 17;
  extra.cache_bytes = 65536;
  const std::string text = RenderPrometheus(Assorted(), extra);
  const std::string file = dir_.path("metrics.txt");
  std::ofstream(file) << text;
  FILE* p = popen(("promtool check metrics < " + file + " 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out << "\n--- text:\n" << text;
  EXPECT_EQ(out, "");
  EXPECT_NE(text.find("\nfolio_breaker_state 1\n"), std::string::npos);
  EXPECT_NE(text.find("\nfolio_upstream_cost_dollars_total 1.234567\n"), std::string::npos);
  EXPECT_EQ(RenderPrometheus(MetricsSnapshot{}).find("folio_breaker_state"), std::string::npos)
      << "unset extra gauges are left out";
}

TEST_F(MetricsTest, HistogramBucketsAreCumulative) {
  const std::string text = RenderPrometheus(Assorted());
  const std::string b = "folio_http_request_duration_seconds_bucket{route=\"search\",le=";
  EXPECT_EQ(SampleValue(text, b + "\"0.0005\"}"), 2);  // 0.0004 and 0.0005: le is inclusive
  EXPECT_EQ(SampleValue(text, b + "\"0.001\"}"), 2);
  EXPECT_EQ(SampleValue(text, b + "\"0.005\"}"), 3);
  EXPECT_EQ(SampleValue(text, b + "\"30\"}"), 3);
  EXPECT_EQ(SampleValue(text, b + "\"+Inf\"}"), 4);
  EXPECT_EQ(SampleValue(text, "folio_http_request_duration_seconds_count{route=\"search\"}"), 4);
  EXPECT_NE(text.find("\nfolio_http_request_duration_seconds_sum{route=\"search\"} 31.003900\n"), std::string::npos);
  // Every histogram series: non-decreasing buckets ending at _count.
  std::istringstream lines(text);
  std::string line, series;
  int64_t last = -1;
  int checked = 0;
  while (std::getline(lines, line)) {
    const size_t le = line.find(",le=\"") != std::string::npos ? line.find(",le=\"") : line.find("{le=\"");
    if (line.find("_bucket{") == std::string::npos || le == std::string::npos) continue;
    const std::string this_series = line.substr(0, le);
    const int64_t v = std::strtoll(line.c_str() + line.rfind(' ') + 1, nullptr, 10);
    if (this_series == series) {
      EXPECT_GE(v, last) << line;
      ++checked;
    }
    series = this_series;
    last = v;
  }
  // One series per route, the upstream's and Redis's.
  EXPECT_EQ(checked, (kRouteCount + 2) * (kLatencyBucketCount - 1));
}

// --- Window statistics ----------------------------------------------------

TEST_F(MetricsTest, WindowCoversRecentBucketsOfAllProcesses) {
  auto a = OpenMetrics(), b = OpenMetrics();
  for (int i = 0; i < 10; ++i) a->RecordRequestAt(Route::kChat, 200, 0.1, kT0 - 200'000);  // too old for 60 s
  for (int i = 0; i < 90; ++i) a->RecordRequestAt(Route::kSearch, 200, 0.1, kT0 - 30'000);
  for (int i = 0; i < 10; ++i) b->RecordRequestAt(Route::kChat, 502, 1.0, kT0 + 1'000);
  b->RecordRequestAt(Route::kChat, 429, 0.001, kT0 + 2'000);
  for (int i = 0; i < 50; ++i)  // probes: not load (their route row says so)
    b->RecordRequestAt(Route::kPing, 200, 0.0001, kT0, /*in_window=*/false);

  WindowSummary w = a->WindowStatsAt(60, kT0 + 5'000);
  EXPECT_EQ(w.covered_ms, 65'000);
  EXPECT_EQ(w.requests, 101);
  EXPECT_EQ(w.errors, 10);
  EXPECT_EQ(w.throttled, 1);
  EXPECT_NEAR(w.error_rate, 10.0 / 101, 1e-9);
  EXPECT_NEAR(w.requests_per_second, 101 / 65.0, 1e-9);
  EXPECT_NEAR(w.avg_seconds, (90 * 0.1 + 10 * 1.0 + 0.001) / 101, 1e-9);
  // 95.95th of 101: 1 in le=0.001, 90 in le=0.1, 10 in (0.5, 1]: 5th of 10.
  EXPECT_NEAR(w.p95_seconds, 0.5 + 0.5 * (0.95 * 101 - 91) / 10, 1e-9);

  EXPECT_EQ(a->WindowStatsAt(300, kT0 + 5'000).requests, 111);
  EXPECT_EQ(a->WindowStatsAt(60, kT0 + 100'000).requests, 0);
  EXPECT_EQ(a->WindowStatsAt(60, kT0 + 100'000).p95_seconds, 0);
}

TEST_F(MetricsTest, WindowBucketIsRecycledWhenTheRingWraps) {
  auto m = Metrics::InMemory();
  for (int i = 0; i < 5; ++i) m->RecordRequestAt(Route::kChat, 200, 0.01, kT0);
  // 320 s later the ring (32 × 10 s) comes back to the same bucket.
  m->RecordRequestAt(Route::kChat, 500, 0.01, kT0 + 320'000);
  WindowSummary w = m->WindowStatsAt(10, kT0 + 320'000);
  EXPECT_EQ(w.requests, 1);
  EXPECT_EQ(w.errors, 1);
  // A sample stamped with a period older than the bucket holds is dropped
  // (the clock stepped back), never mixed in.
  m->RecordRequestAt(Route::kChat, 200, 0.01, kT0);
  EXPECT_EQ(m->WindowStatsAt(10, kT0 + 320'000).requests, 1);
  EXPECT_EQ(m->Read().Requests(Route::kChat), 7);  // totals count everything
}

}  // namespace
}  // namespace folio
