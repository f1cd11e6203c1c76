// probes.cc: GET /ping and GET /ready — the cheapest answers a worker gives.
// Neither touches the index, the store or the LLM: a keep-alive cron and a
// platform health check must never cost tokens or wait behind a chat.
#include "handlers.h"

namespace folio {

Response HandlePing(const Request& request, App& app) {
  Response r;
  r.body = R"({"status":"ok","timestamp":")" + IsoTimestampNow() + R"("})";
  return r;
}

Response HandleReady(const Request& request, App& app) {
  std::string reason = app.NotReadyReason();
  if (reason.empty()) {
    // Ready on the index in service, but a newer one on disk failed to open.
    if (Status kb = app.index.status(); !kb.ok() && request.operator_view)
      return JsonResponse(200, {{"ready", true}, {"warning", kb.message()}});
    Response r;
    r.body = R"({"ready":true})";
    return r;
  }
  // The reason names paths and settings: for operators (access.h) only.
  if (!request.operator_view) return JsonResponse(503, {{"ready", false}});
  return JsonResponse(503, {{"ready", false}, {"reason", reason}});
}

}  // namespace folio
