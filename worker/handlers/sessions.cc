// sessions.cc: GET and DELETE /api/sessions/{id} — a conversation's history,
// and forgetting it. Ids are only ever made by the server (chat.cc); a
// malformed one is 400, an unknown or expired one 404.
#include "handlers.h"

namespace folio {

namespace {

std::string IdFromPath(const std::string& path) {
  static const std::string kPrefix = "/api/sessions/";
  return path.substr(kPrefix.size());
}

}  // namespace

Response HandleGetSession(const Request& request, App& app) {
  if (!app.sessions) return ErrorResponse(Unavailable("not_ready", "The session store is not open."), request.request_id);
  std::string id = IdFromPath(request.path);
  if (!IsValidSessionId(id))
    return ErrorResponse(InvalidArgument("invalid_session_id", "That is not a session id."), request.request_id);
  Result<Session> session = app.sessions->Get(id, UnixNow());
  if (!session.ok()) return ErrorResponse(session.status(), request.request_id);
  nlohmann::json messages = nlohmann::json::array();
  for (const Message& m : session->messages)
    messages.push_back({{"role", RoleName(m.role)}, {"content", m.content}, {"timestamp", m.ts}});
  Response r = JsonResponse(200, {{"session_id", id},
                                  {"created_at", session->created},
                                  {"updated_at", session->updated},
                                  {"messages", messages},
                                  {"request_id", request.request_id}});
  // A conversation is private: no browser or shared cache keeps a copy.
  r.AddHeader("Cache-Control", "no-store");
  return r;
}

Response HandleDeleteSession(const Request& request, App& app) {
  if (!app.sessions) return ErrorResponse(Unavailable("not_ready", "The session store is not open."), request.request_id);
  std::string id = IdFromPath(request.path);
  if (!IsValidSessionId(id))
    return ErrorResponse(InvalidArgument("invalid_session_id", "That is not a session id."), request.request_id);
  Status deleted = app.sessions->Delete(id, UnixNow());
  if (!deleted.ok()) return ErrorResponse(deleted, request.request_id);
  return JsonResponse(200, {{"deleted", true}, {"session_id", id}, {"request_id", request.request_id}});
}

}  // namespace folio
