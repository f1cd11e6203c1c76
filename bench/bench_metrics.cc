// bench_metrics.cc: the cost of recording metrics on the request path (the
// budget is 200 ns per request), of a scrape, and of classifying a
// question's intent (every chat pays it before the cache lookup). Google Benchmark; runs on a
// real MAP_SHARED file in a temporary directory, removed once mapped.
//   bench-metrics --benchmark_min_time=0.2
// The Threads(N) variants show what N threads of one worker pay when they
// share its slot (same cache lines); processes never share slots.
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "intent.h"
#include "metrics.h"

namespace folio {
namespace {

// One Metrics for the whole program, as in a worker process.
Metrics& Shared() {
  static std::unique_ptr<Metrics> metrics = [] {
    char dir[] = "/tmp/folio_bench_metrics_XXXXXX";
    if (mkdtemp(dir) == nullptr) std::abort();
    const std::string path = std::string(dir) + "/metrics.shm";
    auto m = Metrics::Open(path);
    if (!m.ok()) {
      std::fprintf(stderr, "%s\n", m.status().ToString().c_str());
      std::abort();
    }
    ::unlink(path.c_str());  // the mapping stays valid; nothing to clean up
    ::rmdir(dir);
    return std::move(m).value();
  }();
  return *metrics;
}

void BM_RecordRequest(benchmark::State& state) {
  Metrics& m = Shared();
  double seconds = 0.0123;
  for (auto _ : state) {
    m.RecordRequest(Route::kChat, 200, seconds);
    benchmark::DoNotOptimize(seconds);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecordRequest)->Threads(1)->Threads(2)->Threads(4);

// Probe routes skip the window ring.
void BM_RecordRequestProbe(benchmark::State& state) {
  Metrics& m = Shared();
  for (auto _ : state) m.RecordRequest(Route::kPing, 200, 0.0002);
}
BENCHMARK(BM_RecordRequestProbe);

// What a chat request records in all: in flight, the request, an upstream
// call with its tokens and cost, a cache miss.
void BM_ChatRequestAll(benchmark::State& state) {
  Metrics& m = Shared();
  for (auto _ : state) {
    Metrics::InFlightGuard busy(m);
    m.Add(Counter::kCacheMisses);
    m.Add(Counter::kUpstreamCalls);
    m.ObserveUpstream(1.2);
    m.Add(Counter::kPromptTokens, 900);
    m.Add(Counter::kCompletionTokens, 200);
    m.Add(Counter::kCostMicroDollars, 450);
    m.RecordRequest(Route::kChat, 200, 1.3);
  }
}
BENCHMARK(BM_ChatRequestAll)->Threads(1)->Threads(2);

void BM_Add(benchmark::State& state) {
  Metrics& m = Shared();
  for (auto _ : state) m.Add(Counter::kCacheHits);
}
BENCHMARK(BM_Add);

void BM_InFlightGuard(benchmark::State& state) {
  Metrics& m = Shared();
  for (auto _ : state) Metrics::InFlightGuard busy(m);
}
BENCHMARK(BM_InFlightGuard);

// The built-in intent rules over a typical question, and over one at the
// classifier's length cap (it reads no further).
void BM_IntentClassify(benchmark::State& state) {
  static const IntentClassifier classifier = std::move(IntentClassifier::Load("").value());
  std::string message = "What companies has she worked for, and in which roles over the years?";
  if (state.range(0) == 1)
    while (message.size() < kMaxClassifiedBytes) message += " what did she build, with which tools?";
  for (auto _ : state) benchmark::DoNotOptimize(classifier.Classify(message));
}
BENCHMARK(BM_IntentClassify)->Arg(0)->Arg(1);

// A scrape: sum 65 slots, then format.
void BM_Read(benchmark::State& state) {
  Metrics& m = Shared();
  for (auto _ : state) benchmark::DoNotOptimize(m.Read());
}
BENCHMARK(BM_Read);

void BM_RenderPrometheus(benchmark::State& state) {
  const MetricsSnapshot snapshot = Shared().Read();
  for (auto _ : state) benchmark::DoNotOptimize(RenderPrometheus(snapshot));
}
BENCHMARK(BM_RenderPrometheus);

void BM_WindowStats(benchmark::State& state) {
  Metrics& m = Shared();
  for (auto _ : state) benchmark::DoNotOptimize(m.WindowStats(60));
}
BENCHMARK(BM_WindowStats);

}  // namespace
}  // namespace folio

BENCHMARK_MAIN();
