// cache_stats.cc: GET /api/cache/stats — the shared response cache's totals
// (every worker process's), for operators.
#include "handlers.h"

namespace folio {

Response HandleCacheStats(const Request& request, App& app) {
  if (!app.cache) return JsonResponse(200, {{"enabled", false}, {"request_id", request.request_id}});
  // Hit/miss counts are batched per process; publish this one's first. Other
  // processes publish theirs within a few seconds (/metrics is exact).
  (void)app.cache->Flush();
  CacheStats s = app.cache->Stats();
  return JsonResponse(200, {{"enabled", !s.disabled},
                            {"hits", s.hits},
                            {"misses", s.misses},
                            {"hit_rate", s.hit_rate},
                            {"entries", s.entries},
                            {"bytes", s.bytes},
                            {"evictions", s.evictions},
                            {"expirations", s.expirations},
                            {"coalesced", s.coalesced},
                            {"upstream_saved", s.upstream_saved},
                            {"disabled_reason", s.disabled_reason},
                            {"put_count", s.put_count},
                            {"put_p50_us", s.put_p50_us},
                            {"put_p99_us", s.put_p99_us},
                            {"write_txn_count", s.txn_count},
                            {"write_txn_p50_us", s.txn_p50_us},
                            {"write_txn_p99_us", s.txn_p99_us},
                            {"request_id", request.request_id}});
}

}  // namespace folio
