// chat.cc: POST /api/chat {"message", "session_id"?, "stream"?} — folio's main
// job. parse → session → memory (canned, cache) → answer (coalesced_answer.h)
// → commit the turn → answer as JSON, or as Server-Sent Events (meta,
// token…, done | error). A slow route: its first part runs on the accept
// thread and answers what needs no wait (a bad request, a canned reply, a
// cache hit); the rest, with the parsed turn and its cache key, runs on a
// chat thread, where it may wait seconds on the LLM.
#include "handlers.h"

#include "answer.h"
#include "answer_record.h"
#include "coalesced_answer.h"
#include "http_client.h"
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

nlohmann::json UsageJson(const ChatOutput& out) {
  return {{"prompt_tokens", out.prompt_tokens}, {"completion_tokens", out.completion_tokens}};
}

void LogCommitFailure(const Status& s, const std::string& session_id, const std::string& request_id) {
  LogError("session_commit_failed",
           {{"request_id", request_id}, {"session", session_id.substr(0, 6)}, {"reason", s.message()}});
}

// Stores the turn (a new session is created with it), sharing a synced
// commit with the turns of concurrent chats. A failure is logged and the
// answer goes out all the same, saying `"saved": false`: the client then
// knows this turn is not part of the conversation it can read back.
bool CommitTurn(App& app, const std::string& session_id, bool new_session, const std::string& message,
                const std::string& answer, const std::string& request_id) {
  Status s = new_session ? app.sessions->StartWithTurn(session_id, message, answer, UnixNow())
                         : app.sessions->AppendTurn(session_id, message, answer, UnixNow());
  if (!s.ok()) LogCommitFailure(s, session_id, request_id);
  return s.ok();
}

// CommitTurn without the wait: `then(saved)` runs once the turn is durable
// or has failed.
void CommitTurnThen(App& app, const std::string& session_id, bool new_session, const std::string& message,
                    const std::string& answer, const std::string& request_id, std::function<void(bool)> then) {
  auto done = [session_id, request_id, then = std::move(then)](const Status& s) {
    if (!s.ok()) LogCommitFailure(s, session_id, request_id);
    then(s.ok());
  };
  if (new_session) {
    app.sessions->StartWithTurnAsync(session_id, message, answer, UnixNow(), std::move(done));
  } else {
    app.sessions->AppendTurnAsync(session_id, message, answer, UnixNow(), std::move(done));
  }
}

// A chat ready to answer: the request, its session and its history.
struct ChatTurn {
  ChatRequest request;
  ChatInput input;
  std::string session_id;
  bool new_session = false;
  std::string client;
};

// On error, *retry_after_s is set when the client should wait (429).
Result<ChatTurn> PrepareTurn(const Request& request, App& app, int* retry_after_s) {
  Result<ChatRequest> parsed = ParseChatRequest(request);
  if (!parsed.ok()) return parsed.status();
  if (!app.sessions || !app.llm) return Unavailable("not_ready", "This server is still starting.");
  ChatTurn turn;
  turn.request = std::move(parsed.value());
  turn.input = ChatInput{turn.request.message, {}, request.request_id, request.received_at};
  turn.session_id = turn.request.session_id;
  turn.new_session = turn.session_id.empty();
  if (turn.new_session) {
    Result<std::string> id = NewSessionId();  // stored with its first turn
    if (!id.ok()) return id.status();
    turn.session_id = id.value();
  } else {
    Result<Session> session = app.sessions->Get(turn.session_id, UnixNow());
    if (session.ok()) {
      // The prompt window: the transcript's last MAX_HISTORY_MESSAGES.
      const size_t window = static_cast<size_t>(app.settings.max_history_messages);
      const size_t first = session->messages.size() > window ? session->messages.size() - window : 0;
      for (size_t i = first; i < session->messages.size(); ++i)
        turn.input.history.push_back({std::string(RoleName(session->messages[i].role)), session->messages[i].content});
    } else if (session.status().code() == Code::kUnavailable) {
      // The store cannot be reached (a shared Redis down): the question is
      // answered on its own rather than not at all, and its turn says
      // whether it could be saved.
      LogWarn("session_unreadable", {{"request_id", request.request_id}, {"reason", session.status().message()}});
    } else {
      return session.status();
    }
  }
  turn.client = ClientIdOf(request);
  // Each new session costs its client one of CLIENT_SESSIONS_PER_MIN: one
  // client cannot fill the store with sessions.
  if (turn.new_session && app.limits) {
    Decision d = app.limits->AdmitNewSession(turn.client, UnixMsCoarse());
    if (!d.allowed) {
      *retry_after_s = d.retry_after_s;
      return ResourceExhausted("session_budget", "Too many new conversations from you; retry in " +
                                                     std::to_string(d.retry_after_s) + " s, or continue one.");
    }
  }
  return turn;
}

Response ErrorWithRetry(const Status& status, int retry_after, const std::string& request_id) {
  Response r = ErrorResponse(status, request_id);
  if (retry_after > 0) r.AddHeader("Retry-After", std::to_string(retry_after));
  return r;
}

// The answer as JSON, sent by the lifecycle once its turn is durable (the
// thread that made it moves on meanwhile). The answer's own members come
// from its record (a cache hit: as stored, nothing parsed or built) and the
// request's fields are added around them.
Response AnswerJson(App& app, const ChatTurn& turn, const SharedAnswer& shared) {
  AnswerRecordView view;
  const std::string members =
      !shared.record.empty() && ViewAnswerRecord(shared.record, &view) ? std::string(view.members) : AnswerJsonMembers(shared.output);
  Response r;
  r.body.reserve(members.size() + 128);
  r.body.append("{").append(members);
  r.body.append(",\"session_id\":\"").append(turn.session_id).append("\"");  // base64url: nothing to escape
  r.body.append(",\"cached\":").append(shared.cached ? "true" : "false");
  r.body.append(",\"request_id\":").append(nlohmann::json(turn.input.request_id).dump());
  r.hold_until = [&app, session_id = turn.session_id, new_session = turn.new_session, message = turn.input.message,
                  text = shared.output.text, request_id = turn.input.request_id](Response::Send send) {
    CommitTurnThen(app, session_id, new_session, message, text, request_id,
                   [send = std::move(send)](bool saved) { send(saved ? ",\"saved\":true}" : ",\"saved\":false}"); });
  };
  return r;
}

// Produces the answer for a stream: calls on_sources, then on_delta per piece.
using StreamAnswerFn = std::function<Result<SharedAnswer>(const DeltaFn& on_delta, const SourcesFn& on_sources)>;

// meta (session id, sources) goes out as soon as the sources are known,
// before the first token; done repeats the sources of the final answer. The
// turn is committed (durably) before done.
Response AnswerStream(App& app, ChatTurn turn, StreamAnswerFn answer) {
  Response r;
  MakeEventStream(r);
  r.stream = [&app, turn = std::move(turn), answer = std::move(answer)](StreamWriter& w) {
    const ChatInput& input = turn.input;
    SourcesFn on_sources = [&](const std::vector<Passage>& sources) {
      return w.Write(SseEvent("meta", {{"session_id", turn.session_id}, {"sources", SourcesJson(sources)},
                                       {"request_id", input.request_id}})) &&
             w.Flush();
    };
    DeltaFn on_delta = [&w](std::string_view delta) {
      return w.Write(SseEvent("token", {{"text", delta}})) && w.Flush();
    };
    Result<SharedAnswer> shared = answer(on_delta, on_sources);
    if (!shared.ok()) {
      if (IsCancelled(shared.status())) {
        LogInfo("chat_cancelled", {{"request_id", input.request_id}});
        return;
      }
      w.Write(SseEvent("error", {{"error", {{"code", shared.status().error()}, {"message", shared.status().message()}}},
                                 {"request_id", input.request_id}}));
      return;
    }
    const ChatOutput& out = shared->output;
    const bool saved = CommitTurn(app, turn.session_id, turn.new_session, input.message, out.text, input.request_id);
    w.Write(SseEvent("done", {{"usage", UsageJson(out)}, {"cached", shared->cached}, {"saved", saved}, {"degraded", out.degraded},
                              {"degraded_reason", DegradedReasonJson(out)}, {"sources", SourcesJson(out.sources)},
                              {"session_id", turn.session_id}}));
  };
  return r;
}

}  // namespace

Step HandleChat(const Request& request, App& app) {
  int retry_after = 0;
  Result<ChatTurn> parsed = PrepareTurn(request, app, &retry_after);
  if (!parsed.ok()) return {ErrorWithRetry(parsed.status(), retry_after, request.request_id), {}};
  ChatTurn turn = std::move(parsed.value());
  MemoryLookup memory = LookUpInMemory(app, turn.input);
  if (memory.answer) {  // a canned reply or a cache hit: answered here
    if (!turn.request.stream) return {AnswerJson(app, turn, *memory.answer), {}};
    return {AnswerStream(app, std::move(turn),
                         [known = std::move(*memory.answer)](const DeltaFn& on_delta, const SourcesFn& on_sources) {
                           return ReplayKnown(known, on_delta, on_sources);
                         }),
            {}};
  }
  // The rest may wait on the LLM or on another request's answer: a chat
  // thread takes it, with the parsed turn and its cache key.
  return {std::nullopt, [&app, turn = std::move(turn), key = std::move(memory.key)]() mutable -> Response {
            if (!turn.request.stream) {
              int retry_after = 0;
              Result<SharedAnswer> shared = AnswerShared(app, turn.input, key, turn.client, nullptr, &retry_after);
              if (!shared.ok()) return ErrorWithRetry(shared.status(), retry_after, turn.input.request_id);
              return AnswerJson(app, turn, *shared);
            }
            const ChatInput input = turn.input;
            const std::string client = turn.client;
            return AnswerStream(app, std::move(turn),
                                [&app, input, key, client](const DeltaFn& on_delta, const SourcesFn& on_sources) {
                                  int retry_after = 0;
                                  return AnswerShared(app, input, key, client, on_delta, &retry_after, on_sources);
                                });
          }};
}

}  // namespace folio
