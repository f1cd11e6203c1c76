// metrics.cc: GET /metrics — every worker process's counters and histograms
// summed (shared/metrics.h), in the Prometheus text format. No per-user or
// per-path labels: a fixed, small set of series.
#include "handlers.h"
#include "metrics.h"
#include "proc_stats.h"

namespace folio {

Response HandleMetrics(const Request& request, App& app) {
  app.metrics->ReclaimDeadSlots();  // a killed worker's in-flight count must not linger
  MetricsSnapshot snapshot = app.metrics->Read();
  ExtraGauges extra;
  if (app.breaker) extra.breaker_state = static_cast<int64_t>(app.breaker->State(CircuitBreaker::NowMs()));
  int64_t rss_kb = 0;
  for (const ProcessMemory& p : PoolMemory()) rss_kb += p.rss_kb;
  extra.rss_bytes = rss_kb * 1024;
  if (Knowledge::Current kb = app.knowledge.Get(); kb.index) extra.index_chunks = kb.index->manifest().chunks;
  Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = RenderPrometheus(snapshot, extra);
  return r;
}

}  // namespace folio
