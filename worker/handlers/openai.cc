// openai.cc: the OpenAI-compatible front door — POST /v1/chat/completions and
// GET /v1/models — so any OpenAI SDK can use folio as a model. It retrieves
// for the last user message and answers in OpenAI's response, streaming-chunk
// (data: {...} … data: [DONE]) and error formats. Client "system" messages
// are ignored: folio's own system prompt and its rules stay in force.
#include "answer.h"
#include "handlers.h"
#include "http_client.h"
#include "json_body.h"
#include "log.h"
#include "coalesced_answer.h"
#include "sse.h"

namespace folio {

namespace {

constexpr char kModelId[] = "folio";
constexpr size_t kMaxMessages = 64, kMaxMessageChars = 2000;

// {"error":{"message","type","param","code"}} plus folio's request_id.
Response OpenAiError(const Status& status, const std::string& request_id) {
  int http = HttpStatusFor(status.code());
  const char* type = http == 401   ? "authentication_error"
                     : http == 404 ? "not_found_error"
                     : http == 429 ? "rate_limit_error"
                     : http >= 500 ? "api_error"
                                   : "invalid_request_error";
  return JsonResponse(http, {{"error", {{"message", status.message()}, {"type", type}, {"param", nullptr},
                                        {"code", status.error()}}},
                             {"request_id", request_id}});
}

struct CompletionRequest {
  std::string question;
  std::vector<ChatMessage> history;
  bool stream = false;
};

Result<CompletionRequest> ParseCompletionRequest(const Request& request) {
  Result<nlohmann::json> body = ParseJsonObject(request);
  if (!body.ok()) return body.status();
  auto messages = body->find("messages");
  if (messages == body->end() || !messages->is_array() || messages->empty())
    return Unprocessable("invalid_messages", "\"messages\" must be a non-empty array.");
  if (messages->size() > kMaxMessages) return Unprocessable("invalid_messages", "Too many messages (at most 64).");
  CompletionRequest out;
  for (const auto& m : *messages) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
        !m["content"].is_string())
      return Unprocessable("invalid_messages", "Each message needs a string \"role\" and a string \"content\".");
    std::string role = m["role"].get<std::string>();
    if (role != "system" && role != "user" && role != "assistant" && role != "developer")
      return Unprocessable("invalid_messages", "A message role must be system, user or assistant.");
    if (role == "user" || role == "assistant") out.history.push_back({role, m["content"].get<std::string>()});
  }
  if (out.history.empty() || out.history.back().role != "user")
    return Unprocessable("invalid_messages", "The last message must come from the user.");
  out.question = std::move(out.history.back().content);
  out.history.pop_back();
  if (IsBlank(out.question)) return Unprocessable("invalid_messages", "The last user message is empty.");
  if (Utf8Length(out.question) > kMaxMessageChars)
    return Unprocessable("invalid_messages", "The last user message is longer than 2000 characters.");
  auto stream = body->find("stream");
  if (stream != body->end() && !stream->is_null()) {
    if (!stream->is_boolean()) return Unprocessable("invalid_stream", "\"stream\" must be true or false.");
    out.stream = stream->get<bool>();
  }
  return out;
}

nlohmann::json Chunk(const std::string& id, int64_t created, const nlohmann::json& delta, const nlohmann::json& finish) {
  return {{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", kModelId},
          {"choices", {{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}}}};
}

std::string DataLine(const nlohmann::json& j) {
  return "data: " + j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}

nlohmann::json FolioExtension(const ChatOutput& out) {
  nlohmann::json sources = nlohmann::json::array();
  for (const Passage& p : out.sources) sources.push_back({{"source", p.source}, {"heading", p.heading}});
  return {{"sources", sources}, {"degraded", out.degraded}};
}

// The answer, plain or streamed (OpenAI's chunks), on a chat thread.
Response Complete(App& app, CompletionRequest parsed, const std::string& request_id, SteadyTime received_at,
                  const std::string& client) {
  ChatInput input{parsed.question, std::move(parsed.history), request_id, received_at};
  const std::string id = "chatcmpl-" + request_id;
  const int64_t created = UnixNow();

  if (!parsed.stream) {
    int retry_after = 0;
    Result<SharedAnswer> shared = AnswerFromAnywhere(app, input, client, nullptr, &retry_after);
    if (!shared.ok()) {
      Response r = OpenAiError(shared.status(), request_id);
      if (retry_after > 0) r.AddHeader("Retry-After", std::to_string(retry_after));
      return r;
    }
    const ChatOutput* out = &shared->output;
    return JsonResponse(200, {{"id", id},
                              {"object", "chat.completion"},
                              {"created", created},
                              {"model", kModelId},
                              {"choices", {{{"index", 0},
                                            {"message", {{"role", "assistant"}, {"content", out->text}}},
                                            {"finish_reason", "stop"}}}},
                              {"usage", {{"prompt_tokens", out->prompt_tokens},
                                         {"completion_tokens", out->completion_tokens},
                                         {"total_tokens", out->prompt_tokens + out->completion_tokens}}},
                              {"folio", FolioExtension(*out)}});
  }

  Response r;
  MakeEventStream(r);
  r.stream = [&app, input, id, created, client](StreamWriter& w) mutable {
    if (!w.Write(DataLine(Chunk(id, created, {{"role", "assistant"}, {"content", ""}}, nullptr))) || !w.Flush()) return;
    DeltaFn on_delta = [&](std::string_view delta) {
      return w.Write(DataLine(Chunk(id, created, {{"content", delta}}, nullptr))) && w.Flush();
    };
    int retry_after = 0;
    Result<SharedAnswer> shared = AnswerFromAnywhere(app, input, client, on_delta, &retry_after);
    Result<ChatOutput> out = shared.ok() ? Result<ChatOutput>(shared->output) : Result<ChatOutput>(shared.status());
    if (!out.ok()) {
      if (IsCancelled(out.status())) return;
      // OpenAI streams report a failure as an error object on a data line.
      w.Write(DataLine({{"error", {{"message", out.status().message()}, {"type", "api_error"},
                                   {"code", out.status().error()}}}}));
      w.Write("data: [DONE]\n\n");
      return;
    }
    nlohmann::json last = Chunk(id, created, nlohmann::json::object(), "stop");
    last["usage"] = {{"prompt_tokens", out->prompt_tokens}, {"completion_tokens", out->completion_tokens},
                     {"total_tokens", out->prompt_tokens + out->completion_tokens}};
    last["folio"] = FolioExtension(*out);
    w.Write(DataLine(last));
    w.Write("data: [DONE]\n\n");
  };
  return r;
}

}  // namespace

Response HandleModels(const Request& request, App& app) {
  return JsonResponse(200, {{"object", "list"},
                            {"data", {{{"id", kModelId}, {"object", "model"}, {"created", 1735689600},
                                       {"owned_by", "folio"}}}}});
}

Step HandleChatCompletions(const Request& request, App& app) {
  Result<CompletionRequest> parsed = ParseCompletionRequest(request);
  if (!parsed.ok()) return {OpenAiError(parsed.status(), request.request_id), {}};
  if (!app.llm) return {OpenAiError(Unavailable("not_ready", "This server is still starting."), request.request_id), {}};
  // Everything else runs on a chat thread: it may wait on the LLM.
  return {std::nullopt, [&app, parsed = std::move(parsed.value()), request_id = request.request_id,
                         received_at = request.received_at, client = ClientIdOf(request)]() mutable {
            return Complete(app, std::move(parsed), request_id, received_at, client);
          }};
}

}  // namespace folio
