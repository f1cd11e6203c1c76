// metrics.cc: GET /metrics — every worker process's counters and histograms
// summed (shared/metrics.h), in the Prometheus text format. No per-user or
// per-path labels: a fixed, small set of series.
#include "handlers.h"
#include "metrics.h"
#include "proc_stats.h"

namespace folio {

Response HandleMetrics(const Request& request, App& app) {
  // Killed workers' in-flight counts, tickets and slots are reclaimed by
  // every worker's housekeeper (startup.cc), not here: /metrics shows the
  // state as it is, so a test of the housekeeping can trust it.
  MetricsSnapshot snapshot = app.metrics->Read();
  ExtraGauges extra;
  if (app.breaker) extra.breaker_state = static_cast<int64_t>(app.breaker->State(UnixMs()));
  int64_t rss_kb = 0;
  for (const ProcessMemory& p : PoolMemory()) rss_kb += p.rss_kb;
  extra.rss_bytes = rss_kb * 1024;
  if (ServingIndex::Current kb = app.index.Get(); kb.index) extra.index_chunks = kb.index->manifest().chunks;
  if (app.cache) {
    CacheStats cache = app.cache->Stats();
    if (cache.error.empty()) {
      extra.cache_entries = static_cast<int64_t>(cache.entries);
      extra.cache_bytes = static_cast<int64_t>(cache.bytes);
    }
  }
  if (app.inflight) extra.inflight_entries = app.inflight->Entries();
  if (app.limits) {
    LimitsSnapshot limits = app.limits->Snapshot();
    extra.upstream_slots_in_use = limits.upstream_in_use;
    extra.upstream_slots = limits.upstream_capacity;
    extra.client_tickets_in_use = limits.requests_in_flight;
    extra.shed_total = limits.shed;
    extra.llm_tokens_today = app.limits->TokensSpentToday(UnixMsCoarse());
    extra.llm_daily_token_budget = app.limits->options().daily_token_budget;
    extra.session_refusals_total = limits.denied_sessions;
  }
  Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = RenderPrometheus(snapshot, extra);
  return r;
}

}  // namespace folio
