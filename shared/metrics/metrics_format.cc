// metrics_format.cc: label names and the Prometheus text exposition.
//
// Every series of the fixed schema is written, zeros included: a series that
// appears only after its first event makes rate() and absent() alerts lie.
// Counters are integers; durations are stored in microseconds and written
// in seconds with six exact decimals, cost in micro-dollars as dollars.
#include <array>
#include <cinttypes>
#include <cstdio>
#include <string>

#include "metrics.h"

namespace folio {

namespace {

constexpr auto kRouteNames = std::to_array<const char*>({
    "ping", "ready", "health", "search", "chat", "chat_stream", "sessions",
    "v1_chat", "v1_models", "metrics", "cache_stats", "scaling", "other",
});
static_assert(kRouteNames.size() == kRouteCount);
constexpr const char* kClassNames[kStatusClassCount] = {"2xx", "3xx", "4xx", "5xx"};
constexpr const char* kOverloadNames[kOverloadCount] = {"429", "503"};

struct CounterInfo {
  const char* name;  // without the folio_ prefix and the _total suffix
  const char* help;
  bool micro;  // stored in millionths of the unit in the name
};
// Indexed by Counter.
constexpr auto kCounters = std::to_array<CounterInfo>({
    {"cache_hits", "Answers served from the response cache.", false},
    {"cache_misses", "Cache lookups that found nothing usable.", false},
    {"cache_coalesced", "Requests that waited for an identical request already in flight.", false},
    {"cache_upstream_calls_saved", "Upstream calls avoided by cache hits and coalescing.", false},
    {"cache_evictions", "Cache entries evicted to stay within the size limit.", false},
    {"cache_expirations", "Cache entries dropped because their TTL passed.", false},
    {"upstream_calls", "Calls made to the LLM upstream, retries included.", false},
    {"upstream_errors", "LLM upstream calls that failed.", false},
    {"upstream_retries", "LLM upstream calls that were retries.", false},
    {"upstream_prompt_tokens", "Prompt tokens sent to the LLM upstream.", false},
    {"upstream_completion_tokens", "Completion tokens received from the LLM upstream.", false},
    {"upstream_cost_dollars", "Estimated LLM spend in US dollars, from the configured prices.", true},
    {"degraded_answers", "Answers given without the LLM (none configured, breaker open, upstream failed, budget spent).", false},
    {"breaker_opens", "Times the LLM circuit breaker opened.", false},
    {"sessions_evicted", "Sessions evicted, least recently used first, to keep the session store from filling.", false},
    {"llm_budget_refusals", "Answers given from the knowledge base because the day's token budget was spent.", false},
    {"redis_calls", "Round trips to the Redis state backend (STATE_BACKEND=redis://...).", false},
    {"redis_errors", "Redis round trips that failed (unreachable, timed out, refused); answers then use local state.", false},
});
static_assert(kCounters.size() == kCounterCount);

class Writer {
 public:
  void Family(const std::string& name, const char* type, const char* help) {
    out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  // `labels` is `k="v",...` or empty.
  void Sample(const std::string& name, const std::string& labels, int64_t value) {
    Line(name, labels, std::to_string(value));
  }
  // A value stored in millionths, written with six exact decimals.
  void SampleMicro(const std::string& name, const std::string& labels, int64_t micros) {
    char buf[32];
    const char* sign = micros < 0 ? "-" : "";
    const uint64_t m = micros < 0 ? 0 - static_cast<uint64_t>(micros) : static_cast<uint64_t>(micros);
    std::snprintf(buf, sizeof buf, "%s%" PRIu64 ".%06" PRIu64, sign, m / 1000000, m % 1000000);
    Line(name, labels, buf);
  }
  // A histogram from per-bucket counts: buckets cumulative, then _sum, _count.
  void Histogram(const std::string& name, const std::string& labels, const int64_t* buckets, int64_t sum_us) {
    const std::string prefix = labels.empty() ? "" : labels + ",";
    int64_t cumulative = 0;
    for (int i = 0; i < kLatencyBucketCount; ++i) {
      cumulative += buckets[i];
      char le[32];
      if (i + 1 < kLatencyBucketCount) {
        std::snprintf(le, sizeof le, "%g", kLatencyBounds[i]);
      } else {
        std::snprintf(le, sizeof le, "+Inf");
      }
      Sample(name + "_bucket", prefix + "le=\"" + le + "\"", cumulative);
    }
    SampleMicro(name + "_sum", labels, sum_us);
    Sample(name + "_count", labels, cumulative);
  }
  std::string Take() { return std::move(out_); }

 private:
  void Line(const std::string& name, const std::string& labels, const std::string& value) {
    out_ += name;
    if (!labels.empty()) out_ += "{" + labels + "}";
    out_ += " " + value + "\n";
  }
  std::string out_;
};

std::string RouteLabel(int r) { return std::string("route=\"") + kRouteNames[r] + "\""; }

int64_t Sum(const int64_t* values, int n) {
  int64_t total = 0;
  for (int i = 0; i < n; ++i) total += values[i];
  return total;
}

}  // namespace

const char* RouteName(Route route) {
  const int r = static_cast<int>(route);
  return r >= 0 && r < kRouteCount ? kRouteNames[r] : "other";
}

int64_t MetricsSnapshot::Requests(Route route) const {
  return Sum(counts.requests[static_cast<int>(route)], kStatusClassCount);
}
int64_t MetricsSnapshot::LatencyCount(Route route) const {
  return Sum(counts.latency[static_cast<int>(route)], kLatencyBucketCount);
}
int64_t MetricsSnapshot::UpstreamLatencyCount() const { return Sum(counts.upstream_latency, kLatencyBucketCount); }

std::string RenderPrometheus(const MetricsSnapshot& snapshot, const ExtraGauges& extra) {
  const MetricsCounts& c = snapshot.counts;
  Writer w;
  w.Family("folio_http_requests_total", "counter", "HTTP requests answered, by route and status class.");
  for (int r = 0; r < kRouteCount; ++r) {
    for (int k = 0; k < kStatusClassCount; ++k) {
      w.Sample("folio_http_requests_total", RouteLabel(r) + ",code=\"" + kClassNames[k] + "\"", c.requests[r][k]);
    }
  }
  w.Family("folio_http_overload_responses_total", "counter",
           "Requests refused for overload (429 rate limited, 503 unavailable); also in folio_http_requests_total.");
  for (int r = 0; r < kRouteCount; ++r) {
    for (int k = 0; k < kOverloadCount; ++k) {
      w.Sample("folio_http_overload_responses_total", RouteLabel(r) + ",code=\"" + kOverloadNames[k] + "\"",
               c.overload[r][k]);
    }
  }
  w.Family("folio_http_request_duration_seconds", "histogram", "Time from request start to the last byte, by route.");
  for (int r = 0; r < kRouteCount; ++r) {
    w.Histogram("folio_http_request_duration_seconds", RouteLabel(r), c.latency[r], c.latency_sum_us[r]);
  }
  for (int i = 0; i < kCounterCount; ++i) {
    const std::string name = std::string("folio_") + kCounters[i].name + "_total";
    w.Family(name, "counter", kCounters[i].help);
    if (kCounters[i].micro) {
      w.SampleMicro(name, "", c.counters[i]);
    } else {
      w.Sample(name, "", c.counters[i]);
    }
  }
  w.Family("folio_upstream_request_duration_seconds", "histogram", "Duration of each LLM upstream call.");
  w.Histogram("folio_upstream_request_duration_seconds", "", c.upstream_latency, c.upstream_latency_sum_us);
  w.Family("folio_redis_call_duration_seconds", "histogram", "Duration of each Redis round trip that reached the network.");
  w.Histogram("folio_redis_call_duration_seconds", "", c.redis_latency, c.redis_latency_sum_us);

  w.Family("folio_http_requests_in_flight", "gauge", "Requests being handled now, all worker processes.");
  w.Sample("folio_http_requests_in_flight", "", snapshot.in_flight);
  w.Family("folio_http_requests_in_flight_peak", "gauge",
           "Most requests one worker process has handled at once since the metrics file was created.");
  w.Sample("folio_http_requests_in_flight_peak", "", snapshot.in_flight_peak);
  w.Family("folio_worker_processes", "gauge", "Worker processes holding a metrics slot.");
  w.Sample("folio_worker_processes", "", snapshot.processes);

  auto gauge = [&](const char* name, const char* help, const std::optional<int64_t>& v) {
    if (!v) return;
    w.Family(name, "gauge", help);
    w.Sample(name, "", *v);
  };
  gauge("folio_breaker_state", "LLM circuit breaker: 0 closed, 1 open, 2 half-open.", extra.breaker_state);
  gauge("folio_resident_memory_bytes", "Resident memory of the worker pool in bytes.", extra.rss_bytes);
  gauge("folio_index_chunks", "Chunks in the loaded search index.", extra.index_chunks);
  gauge("folio_cache_entries", "Entries in the response cache.", extra.cache_entries);
  gauge("folio_cache_bytes", "Bytes held by the response cache.", extra.cache_bytes);
  gauge("folio_inflight_entries", "Records in the in-flight table: questions being answered, or answered in the last seconds.",
        extra.inflight_entries);
  gauge("folio_upstream_slots_in_use", "Global LLM upstream slots held now (MAX_CONCURRENT_LLM).",
        extra.upstream_slots_in_use);
  gauge("folio_upstream_slots", "Global LLM upstream slots (MAX_CONCURRENT_LLM).", extra.upstream_slots);
  gauge("folio_client_tickets_in_use", "Per-client concurrency tickets held now, all clients (CLIENT_MAX_CONCURRENT).",
        extra.client_tickets_in_use);
  gauge("folio_llm_tokens_today", "LLM tokens spent today (UTC), all worker processes.", extra.llm_tokens_today);
  gauge("folio_llm_daily_token_budget", "LLM_DAILY_TOKEN_BUDGET: tokens a day before answers come from the knowledge base only (0: no budget).",
        extra.llm_daily_token_budget);
  auto counter = [&](const char* name, const char* help, const std::optional<int64_t>& v) {
    if (!v) return;
    w.Family(name, "counter", help);
    w.Sample(name, "", *v);
  };
  counter("folio_upstream_shed_total", "Requests answered 503 for want of an upstream slot.", extra.shed_total);
  counter("folio_session_refusals_total", "New sessions refused: a client over CLIENT_SESSIONS_PER_MIN.",
          extra.session_refusals_total);
  return w.Take();
}

}  // namespace folio
