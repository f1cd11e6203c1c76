// routes.cc: the table of every endpoint. Read this to know what folio serves.
#include "handlers/handlers.h"
#include "router.h"

namespace folio {

Router MakeRouter() {
  Router r;
  r.Add("GET", "/ping", HandlePing);
  r.Add("GET", "/ready", HandleReady);
  r.Add("GET", "/api/health", HandleHealth);
  r.Add("GET", "/api/health/scaling", HandleScaling);
  r.Add("POST", "/api/search", HandleSearch);
  r.Add("POST", "/api/chat", HandleChat, RouteKind::kSlow, TryChatFromMemory);
  r.Add("GET", "/api/sessions/*", HandleGetSession);
  r.Add("POST", "/v1/chat/completions", HandleChatCompletions, RouteKind::kSlow);
  r.Add("GET", "/v1/models", HandleModels);
  r.Add("GET", "/metrics", HandleMetrics);
  r.Add("GET", "/api/cache/stats", HandleCacheStats);
  r.Add("DELETE", "/api/sessions/*", HandleDeleteSession);
  return r;
}

}  // namespace folio
