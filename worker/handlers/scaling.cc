// scaling.cc: GET /api/health/scaling — is this instance big enough? A
// snapshot over the last 5 minutes (concurrency now and peak, average and
// p95 response time, error rate, memory against the instance's limit) and a
// recommendation with the triggers that fired. Thresholds come from config
// (SCALE_*), defaults from the seeds: avg > 8 s, concurrency > 10,
// memory > 400 MB, errors > 5 %.
#include "handlers.h"
#include "proc_stats.h"

namespace folio {

namespace {

constexpr int kWindowS = 300;

// mvp below 1 GB, scaled below 3 GB, larger above.
const char* ProfileFor(double limit_mb) { return limit_mb < 1024 ? "mvp" : limit_mb < 3072 ? "scaled" : "larger"; }

}  // namespace

Response HandleScaling(const Request& request, App& app) {
  const Settings& c = app.settings;
  MetricsSnapshot now = app.metrics->Read();
  WindowSummary window = app.metrics->WindowStats(kWindowS);
  int64_t cgroup_limit = CgroupMemoryLimitBytes();
  double limit_mb = cgroup_limit > 0 ? cgroup_limit / 1048576.0 : static_cast<double>(c.memory_limit_mb);
  int64_t cgroup_used = cgroup_limit > 0 ? CgroupMemoryBytes() : -1;
  double used_mb = 0;
  if (cgroup_used > 0) {
    used_mb = cgroup_used / 1048576.0;
  } else {
    for (const ProcessMemory& p : PoolMemory()) used_mb += p.pss_kb / 1024.0;
  }

  nlohmann::json triggers = nlohmann::json::array();
  auto fire = [&](const char* name, double value, double threshold, const char* advice) {
    if (value > threshold) triggers.push_back({{"trigger", name}, {"value", value}, {"threshold", threshold}, {"advice", advice}});
  };
  fire("avg_response_time_s", window.avg_seconds, static_cast<double>(c.scale_avg_response_s),
       "answers are slow: check upstream latency in /metrics; more CHAT_THREADS will not help a slow provider");
  fire("concurrent_requests", static_cast<double>(now.in_flight), static_cast<double>(c.scale_concurrency),
       "many requests at once: raise WORKERS or CHAT_THREADS if memory allows, or a larger instance");
  fire("memory_mb", used_mb, static_cast<double>(c.scale_memory_mb),
       "memory is high: lower WORKERS or CACHE_MAX_MB, or move to a larger instance");
  fire("error_rate_pct", window.error_rate * 100.0, static_cast<double>(c.scale_error_rate_pct),
       "errors are frequent: read the worker log and the llm check of /api/health");
  std::string recommendation = triggers.empty()         ? "ok: the current instance is enough"
                               : triggers.size() == 1   ? "watch: one trigger fired"
                                                        : "scale up or out: several triggers fired";
  // Scaling out needs the state shared: say how from where this instance is.
  const StateHealth state = app.state_health();
  const std::string scale_out =
      state.backend == "redis"
          ? "instances share sessions, cache, coalescing and limits through Redis: add instances behind the load "
            "balancer to take more load (docs/OPERATIONS.md, Several instances)"
          : "this instance keeps its state to itself (LMDB): before running several behind a load balancer, "
            "set STATE_BACKEND=redis://host:port/db on each so they share sessions, cache, coalescing and limits "
            "(docs/OPERATIONS.md, Several instances)";
  return JsonResponse(200, {{"snapshot", {{"concurrent_requests", now.in_flight},
                                          {"peak_concurrent_requests", now.in_flight_peak},
                                          {"window_s", kWindowS},
                                          {"requests", window.requests},
                                          {"avg_response_time_s", window.avg_seconds},
                                          {"p95_response_time_s", window.p95_seconds},
                                          {"error_rate", window.error_rate},
                                          {"memory_used_mb", used_mb},
                                          {"memory_limit_mb", limit_mb},
                                          {"worker_processes", now.processes}}},
                            {"instance_profile", ProfileFor(limit_mb)},
                            {"recommendation", recommendation},
                            {"state_backend", state.backend},
                            {"scale_out", scale_out},
                            {"triggers", triggers},
                            {"request_id", request.request_id}});
}

}  // namespace folio
