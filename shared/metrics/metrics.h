// metrics.h: request, cache and upstream counters, latency histograms and
// in-flight gauges, summed across every worker process with no lock on the
// request path. Each process owns one slot of a file mapped MAP_SHARED
// ($RUN_DIR/metrics.shm); its threads add to that slot with relaxed atomics.
// Safe from any thread; open one Metrics per process, after fork().
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "clock.h"
#include "shm_file.h"
#include "status.h"

namespace folio {

// The schema is fixed at compile time: every label value below is known, so
// the series count is bounded (no label is ever taken from a request).

// One value per endpoint family; the router maps paths to these.
enum class Route : uint8_t {
  kPing, kReady, kHealth, kSearch, kChat, kChatStream, kSessions,
  kV1Chat, kV1Models, kMetrics, kCacheStats, kScaling, kOther,
};
inline constexpr int kRouteCount = 13;
static_assert(static_cast<int>(Route::kOther) + 1 == kRouteCount);
// The `route` label value: "ping", "chat_stream", "v1_chat", ...
const char* RouteName(Route route);

// Status classes counted per route. 1xx and anything outside 100-599
// count as 5xx: a response we could not classify is our fault.
inline constexpr int kStatusClassCount = 4;  // 2xx, 3xx, 4xx, 5xx
// Overload answers, counted per route on top of their class.
inline constexpr int kOverloadCount = 2;  // [0] = 429, [1] = 503

// Plain counters. Add(counter, n) with n >= 0 only: these are Prometheus
// counters, which never go down.
enum class Counter : uint8_t {
  kCacheHits, kCacheMisses, kCacheCoalesced,  // coalesced: waited on another caller's fill
  kCacheUpstreamSaved,                        // upstream calls a hit or coalescing avoided
  kCacheEvictions, kCacheExpirations,
  kUpstreamCalls, kUpstreamErrors, kUpstreamRetries,  // calls = attempts, retries included
  kPromptTokens, kCompletionTokens,
  kCostMicroDollars,  // computed by the caller from its price table
  kDegradedAnswers,   // answered without the LLM (none configured, breaker open, upstream failed, budget spent)
  kBreakerOpens,
  kSessionsEvicted,   // least recently used sessions deleted to keep the store from filling
  kBudgetRefusals,    // answers from the knowledge base because the day's token budget was spent
  kRedisCalls, kRedisErrors,  // round trips to a Redis state backend, and those that failed
};
inline constexpr int kCounterCount = 18;
static_assert(static_cast<int>(Counter::kRedisErrors) + 1 == kCounterCount);

// Latency bucket upper bounds in seconds (`le`), shared by every histogram.
// From 0.5 ms (a cache hit) to 30 s (the longest an LLM answer may take).
inline constexpr std::array<double, 15> kLatencyBounds = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
// Per-bucket (not cumulative) counts: one per bound, plus the overflow (+Inf).
inline constexpr int kLatencyBucketCount = static_cast<int>(kLatencyBounds.size()) + 1;

// All counts of one process. The mapped file holds BasicCounts<std::atomic<
// int64_t>>, so the field order is the file ABI: change it, bump the version
// in metrics_layout.h. Histogram sums are integer microseconds (atomic add, exact).
template <typename T>
struct BasicCounts {
  T requests[kRouteCount][kStatusClassCount];
  T overload[kRouteCount][kOverloadCount];
  T latency[kRouteCount][kLatencyBucketCount];
  T latency_sum_us[kRouteCount];
  T counters[kCounterCount];
  T upstream_latency[kLatencyBucketCount];
  T upstream_latency_sum_us;
  T redis_latency[kLatencyBucketCount];
  T redis_latency_sum_us;
};
using MetricsCounts = BasicCounts<int64_t>;

// Sums over every slot plus the retired accumulator, read without stopping
// writers: each field is exact at some instant, the set is not one instant.
struct MetricsSnapshot {
  MetricsCounts counts{};
  int64_t in_flight = 0;       // now, summed over live processes
  int64_t in_flight_peak = 0;  // the most any one process has had at once
  int processes = 0;           // slots with an owner (live or not yet reclaimed)

  int64_t counter(Counter c) const { return counts.counters[static_cast<int>(c)]; }
  int64_t Requests(Route route) const;  // all classes
  int64_t LatencyCount(Route route) const;
  int64_t UpstreamLatencyCount() const;
};

// Gauges the caller owns (breaker, process, index, cache); unset ones are
// left out of the exposition rather than reported as 0.
struct ExtraGauges {
  std::optional<int64_t> breaker_state;  // 0 closed, 1 open, 2 half-open
  std::optional<int64_t> rss_bytes;
  std::optional<int64_t> index_chunks;
  std::optional<int64_t> cache_entries;
  std::optional<int64_t> cache_bytes;
  std::optional<int64_t> inflight_entries;   // in-flight table records (pending or lingering results)
  std::optional<int64_t> upstream_slots_in_use, upstream_slots;  // MAX_CONCURRENT_LLM slots
  std::optional<int64_t> client_tickets_in_use;  // CLIENT_MAX_CONCURRENT tickets held, all clients
  std::optional<int64_t> shed_total;             // requests shed for want of an upstream slot
  std::optional<int64_t> llm_tokens_today, llm_daily_token_budget;  // LLM_DAILY_TOKEN_BUDGET (0: none)
  std::optional<int64_t> session_refusals_total;     // new sessions refused (CLIENT_SESSIONS_PER_MIN)
};

// Recent load for the scaling advisor, from 10-second buckets: the last
// ceil(window_s / 10) whole ones plus the current, partial one.
struct WindowSummary {
  int64_t covered_ms = 0;  // the span those buckets cover: rates divide by it
  int64_t requests = 0;
  int64_t errors = 0;     // 5xx
  int64_t throttled = 0;  // 429
  double requests_per_second = 0;
  double error_rate = 0;  // errors / requests; 0 when idle
  double avg_seconds = 0;
  double p95_seconds = 0;  // interpolated inside its histogram bucket
};

class Metrics {
 public:
  ~Metrics();  // folds this process's slot into the retired totals, frees it
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Maps `path` (created 0600 if missing; a garbage, short or foreign-version
  // file is re-initialised) and claims a free slot, first reclaiming the
  // slots of dead processes. Serialised across processes with flock(2).
  // Internal ("metrics_file") on I/O errors; ResourceExhausted
  // ("metrics_slots_full") when kMaxProcesses live processes hold slots.
  static Result<std::unique_ptr<Metrics>> Open(const std::string& path);
  // One process's metrics in private memory: tests, tools without RUN_DIR.
  static std::unique_ptr<Metrics> InMemory();
  static constexpr int kMaxProcesses = 64;

  // The request path; each is a handful of relaxed atomic adds, no syscall
  // beyond a vDSO clock read. `seconds` < 0 counts as 0.
  // One answered request. `in_window`: it also counts in the 5-minute
  // window /api/health/scaling reads (the API's traffic; not the probes and
  // operator endpoints, which would dilute its latency and error rate).
  void RecordRequest(Route route, int status, double seconds, bool in_window = true) {
    RecordRequestAt(route, status, seconds, UnixMsCoarse(), in_window);
  }
  // The same at an explicit unix-ms time (window bucketing only; tests).
  void RecordRequestAt(Route route, int status, double seconds, int64_t now_ms, bool in_window = true);
  void Add(Counter counter, int64_t n = 1);
  void ObserveUpstream(double seconds);  // one upstream call's latency
  // One Redis call: counted, and its latency (seconds < 0: it failed fast,
  // without reaching the network, and has none).
  void ObserveRedis(bool ok, double seconds);

  // Counts a request in flight for its lifetime. REQUIRES: the Metrics
  // outlives the guard.
  class InFlightGuard {
   public:
    explicit InFlightGuard(Metrics& metrics);
    ~InFlightGuard();
    InFlightGuard(const InFlightGuard&) = delete;
    InFlightGuard& operator=(const InFlightGuard&) = delete;

   private:
    std::atomic<int64_t>* in_flight_;
  };

  // Totals over every process, dead ones included (never decrease).
  MetricsSnapshot Read() const;
  // Requests, errors and latency over about the last `window_s` seconds
  // (clamped to 10..kMaxWindowS), all processes. Probe and scrape routes
  // (ping, ready, health, metrics, cache_stats, scaling) are left out so a
  // busy monitor cannot make the pool look fast and idle.
  WindowSummary WindowStats(int window_s) const { return WindowStatsAt(window_s, UnixMsCoarse()); }
  WindowSummary WindowStatsAt(int window_s, int64_t now_ms) const;
  static constexpr int kWindowBucketS = 10;
  static constexpr int kMaxWindowS = 300;

  // Folds the slots of dead processes into the retired totals and frees
  // them (Open does this too). Takes the file lock; for the /metrics
  // handler or a housekeeping thread, never the request path. Returns the
  // number of slots reclaimed; 0 for an in-memory Metrics.
  int ReclaimDeadSlots();

  int slot() const { return slot_; }
  const std::string& path() const { return mapping_.path(); }  // "" in memory

  struct Shared;  // the mapped layout; defined in metrics_layout.h

 private:
  Metrics(SharedMapping mapping, int slot);

  SharedMapping mapping_;
  Shared* shared_;  // points into mapping_
  const int slot_;
  const int owner_pid_;  // the process that claimed slot_; a fork()ed child is not it
};

// Prometheus text exposition (format 0.0.4) of `snapshot`: folio_-prefixed
// families with HELP and TYPE, counters ending in _total, histograms with
// cumulative `le` buckets, +Inf, _sum in seconds and _count.
std::string RenderPrometheus(const MetricsSnapshot& snapshot, const ExtraGauges& extra = {});

}  // namespace folio
