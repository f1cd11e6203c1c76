// chat.cc: POST /api/chat {"message", "session_id"?, "stream"?} — folio's main
// job. parse → session → retrieve → answer (chat.h) → commit the turn →
// answer as JSON, or as Server-Sent Events (meta, token…, done | error).
// Runs on a chat thread (RouteKind::kSlow): it may wait seconds on the LLM.
#include "chat.h"
#include "shared_answer.h"

#include "handlers.h"
#include "json_body.h"
#include "log.h"
#include "sse.h"

namespace folio {

namespace {

constexpr size_t kMaxMessageChars = 2000;

struct ChatRequest {
  std::string message;
  std::string session_id;  // "" = start a new session
  bool stream = false;
};

Result<ChatRequest> ParseChatRequest(const Request& request) {
  Result<nlohmann::json> body = ParseJsonObject(request);
  if (!body.ok()) return body.status();
  ChatRequest out;
  auto message = body->find("message");
  if (message == body->end() || !message->is_string())
    return Unprocessable("invalid_message", "\"message\" must be a string.");
  out.message = message->get<std::string>();
  if (IsBlank(out.message)) return Unprocessable("invalid_message", "\"message\" must not be empty.");
  if (Utf8Length(out.message) > kMaxMessageChars)
    return Unprocessable("invalid_message", "\"message\" is longer than 2000 characters.");
  auto session = body->find("session_id");
  if (session != body->end() && !session->is_null()) {
    if (!session->is_string() || !IsValidSessionId(session->get<std::string>()))
      return InvalidArgument("invalid_session_id", "\"session_id\" is not a session id folio issued.");
    out.session_id = session->get<std::string>();
  }
  auto stream = body->find("stream");
  if (stream != body->end() && !stream->is_null()) {
    if (!stream->is_boolean()) return Unprocessable("invalid_stream", "\"stream\" must be true or false.");
    out.stream = stream->get<bool>();
  }
  out.stream = out.stream || AcceptsEventStream(request);
  return out;
}

nlohmann::json SourcesJson(const std::vector<Passage>& sources) {
  nlohmann::json out = nlohmann::json::array();
  for (const Passage& p : sources)
    out.push_back({{"source", p.source}, {"heading", p.heading}, {"score", std::round(p.score * 10000) / 10000}});
  return out;
}

nlohmann::json UsageJson(const ChatOutput& out) {
  return {{"prompt_tokens", out.prompt_tokens}, {"completion_tokens", out.completion_tokens}};
}

// Stores the turn (a new session is created with it: one synced write per
// chat); a failure is logged, never shown: the answer exists.
void CommitTurn(App& app, const std::string& session_id, bool new_session, const std::string& message,
                const ChatOutput& out, const std::string& request_id) {
  Status s = new_session ? app.sessions->StartWithTurn(session_id, message, out.text, UnixNow())
                         : app.sessions->AppendTurn(session_id, message, out.text, UnixNow());
  if (!s.ok())
    LogError("session_commit_failed", {{"request_id", request_id}, {"session", session_id.substr(0, 6)},
                                       {"reason", s.message()}});
}

}  // namespace

Response HandleChat(const Request& request, App& app) {
  Result<ChatRequest> parsed = ParseChatRequest(request);
  if (!parsed.ok()) return ErrorResponse(parsed.status(), request.request_id);
  if (!app.sessions || !app.llm)
    return ErrorResponse(Unavailable("not_ready", "This server is still starting."), request.request_id);

  ChatInput input{parsed->message, {}, request.request_id, request.received_at};
  std::string session_id = parsed->session_id;
  const bool new_session = session_id.empty();
  if (new_session) {
    Result<std::string> id = NewSessionId();  // stored with its first turn
    if (!id.ok()) return ErrorResponse(id.status(), request.request_id);
    session_id = id.value();
  } else {
    Result<Session> session = app.sessions->Get(session_id, UnixNow());
    if (!session.ok()) return ErrorResponse(session.status(), request.request_id);
    for (const Message& m : session->messages) input.history.push_back({std::string(RoleName(m.role)), m.content});
  }
  const std::string client = ClientIdOf(request);

  if (!parsed->stream) {
    int retry_after = 0;
    Result<SharedAnswer> shared = AnswerShared(app, input, client, nullptr, &retry_after);
    if (!shared.ok()) {
      Response r = ErrorResponse(shared.status(), request.request_id);
      if (retry_after > 0) r.AddHeader("Retry-After", std::to_string(retry_after));
      return r;
    }
    const ChatOutput& out = shared->output;
    CommitTurn(app, session_id, new_session, input.message, out, request.request_id);
    return JsonResponse(200, {{"response", out.text},
                              {"session_id", session_id},
                              {"sources", SourcesJson(out.sources)},
                              {"cached", shared->cached},
                              {"degraded", out.degraded},
                              {"usage", UsageJson(out)},
                              {"request_id", request.request_id}});
  }

  Response r;
  MakeEventStream(r);
  r.stream = [&app, input, session_id, new_session, client](StreamWriter& w) mutable {
    // meta (session id, sources) goes out as soon as the sources are known,
    // before the first token; done repeats the sources of the final answer.
    SourcesFn on_sources = [&](const std::vector<Passage>& sources) {
      return w.Write(SseEvent("meta", {{"session_id", session_id}, {"sources", SourcesJson(sources)},
                                       {"request_id", input.request_id}})) &&
             w.Flush();
    };
    DeltaFn on_delta = [&w](std::string_view delta) {
      return w.Write(SseEvent("token", {{"text", delta}})) && w.Flush();
    };
    int retry_after = 0;
    Result<SharedAnswer> shared = AnswerShared(app, input, client, on_delta, &retry_after, on_sources);
    Result<ChatOutput> out = shared.ok() ? Result<ChatOutput>(shared->output) : Result<ChatOutput>(shared.status());
    if (!out.ok()) {
      if (out.status().error() == "cancelled") {
        LogInfo("chat_cancelled", {{"request_id", input.request_id}});
        return;
      }
      w.Write(SseEvent("error", {{"error", {{"code", out.status().error()}, {"message", out.status().message()}}},
                                 {"request_id", input.request_id}}));
      return;
    }
    CommitTurn(app, session_id, new_session, input.message, *out, input.request_id);
    w.Write(SseEvent("done", {{"usage", UsageJson(*out)}, {"cached", shared->cached}, {"degraded", out->degraded},
                              {"sources", SourcesJson(out->sources)}, {"session_id", session_id}}));
  };
  return r;
}

}  // namespace folio
