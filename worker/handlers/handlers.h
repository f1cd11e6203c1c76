// handlers.h: one function per endpoint, one endpoint per file in handlers/.
// Each reads like a recipe: parse → look up → call → answer, and returns a
// Response (errors included) rather than throwing; a slow route's returns a
// Step (routes.h): its answer now, or the rest of its work for a chat thread.
#pragma once

#include "app.h"
#include "request.h"
#include "routes.h"

namespace folio {

Response HandlePing(const Request& request, App& app);    // GET /ping
Response HandleReady(const Request& request, App& app);   // GET /ready
Response HandleHealth(const Request& request, App& app);  // GET /api/health
Step HandleSearch(const Request& request, App& app);           // POST /api/search (slow with a remote embedder)
Step HandleChat(const Request& request, App& app);             // POST /api/chat (slow)
Step HandleChatCompletions(const Request& request, App& app);  // POST /v1/chat/completions (slow)
Response HandleModels(const Request& request, App& app);           // GET /v1/models
Response HandleCacheStats(const Request& request, App& app);  // GET /api/cache/stats
Response HandleScaling(const Request& request, App& app);  // GET /api/health/scaling
Response HandleMetrics(const Request& request, App& app);  // GET /metrics
Response HandleGetSession(const Request& request, App& app);     // GET /api/sessions/{id}
Response HandleDeleteSession(const Request& request, App& app);  // DELETE /api/sessions/{id}

}  // namespace folio
