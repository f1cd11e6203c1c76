// llm_client.cc: the request, one attempt (plain or streamed), the retry
// loop, and defensive parsing of what comes back.
//
// Retries follow retry_policy.h (what is retried, the backoff, Retry-After),
// with two rules of the LLM's own. A stream that broke before its first
// delta is retried like a lost connection; once a delta has reached the
// caller, its client has seen text, a retry would repeat or contradict it,
// so the failure is final. And the deadline covers the whole call: a
// Retry-After beyond it ends the call at once, since waiting it out could
// only end in a timeout the caller would have to wait for.
//
// Parsing. Only what we need is required (choices[0].message.content, or the
// content deltas and [DONE]); it is type-checked before every read, because
// nlohmann's get<T>() throws on a wrong type. Optional metadata (model,
// usage, finish_reason) is taken when well-typed and otherwise ignored.
#include "llm_client.h"

#include <algorithm>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "http_client.h"
#include "log.h"
#include "retry_policy.h"
#include "sse_parser.h"
#include "token_estimate.h"

namespace folio {

namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// Not thread-safe, so one per thread; a thread's calls reuse its connections.
HttpClient& ThreadClient() {
  static thread_local HttpClient client;
  return client;
}

bool IsSet(const std::atomic<bool>* flag) { return flag != nullptr && flag->load(std::memory_order_relaxed); }

Status CancelledStatus() { return Unavailable(Reason::kCancelled, "the LLM call was cancelled"); }

Status TimeoutStatus(const std::string& why) { return DeadlineExceeded(Reason::kTimeout, "the LLM did not answer in time: " + why); }

Status BadResponse(const std::string& why) {
  return Unavailable("upstream_bad_response", "the LLM API sent an unusable response: " + why);
}

// Sleeps `d` in short steps so a cancel is noticed promptly. False if cancelled.
bool SleepFor(milliseconds d, const std::atomic<bool>* cancel) {
  const auto until = std::chrono::steady_clock::now() + d;
  for (;;) {
    if (IsSet(cancel)) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) return true;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(until - now, milliseconds(10)));
  }
}

// "type/code" of an OpenAI error object: short machine tokens, safe to log
// and quote (unlike "message", which may echo our prompt back).
std::string ErrorTag(const json& error) {
  std::string tag;
  if (!error.is_object()) return "error";
  for (const char* key : {"type", "code"}) {
    auto it = error.find(key);
    if (it != error.end() && it->is_string()) tag += (tag.empty() ? "" : "/") + Excerpt(it->get<std::string>(), 40);
  }
  return tag.empty() ? "error" : tag;
}

std::string ErrorTagOfBody(const std::string& body) {
  json doc = json::parse(body, nullptr, false);
  if (!doc.is_object() || !doc.contains("error")) return "";
  return " (" + ErrorTag(doc["error"]) + ")";
}

// An error object in a 2xx body (some proxies do this; OpenAI does mid-stream).
Status CheckNoError(const json& doc) {
  auto it = doc.find("error");
  if (it == doc.end() || it->is_null()) return Status::Ok();
  return BadResponse("an error object in a 200 answer (" + ErrorTag(*it) + ")");
}

int NonNegativeInt(const json& obj, const char* key, int fallback) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer()) return fallback;
  const int64_t v = it->get<int64_t>();
  return v >= 0 && v <= INT32_MAX ? static_cast<int>(v) : fallback;
}

// Takes model and usage when present and well-typed; otherwise leaves *r
// as it was (token counts start at -1: "not sent").
void ReadMeta(const json& doc, LlmResult* r) {
  auto model = doc.find("model");
  if (model != doc.end() && model->is_string()) r->model = model->get<std::string>();
  auto usage = doc.find("usage");
  if (usage != doc.end() && usage->is_object()) {
    r->prompt_tokens = NonNegativeInt(*usage, "prompt_tokens", r->prompt_tokens);
    r->completion_tokens = NonNegativeInt(*usage, "completion_tokens", r->completion_tokens);
  }
}

void ReadFinishReason(const json& choice, LlmResult* r) {
  auto it = choice.find("finish_reason");
  if (it != choice.end() && it->is_string()) r->finish_reason = it->get<std::string>();
}

Status ParseCompletion(const std::string& body, LlmResult* r) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return BadResponse("not a JSON object");
  if (Status s = CheckNoError(doc); !s.ok()) return s;
  auto choices = doc.find("choices");
  if (choices == doc.end() || !choices->is_array() || choices->empty()) return BadResponse("no \"choices\"");
  const json& choice = (*choices)[0];
  if (!choice.is_object()) return BadResponse("choices[0] is not an object");
  auto message = choice.find("message");
  if (message == choice.end() || !message->is_object()) return BadResponse("choices[0] has no \"message\"");
  auto content = message->find("content");
  if (content == message->end() || !content->is_string()) return BadResponse("the message has no text content");
  r->text = content->get<std::string>();
  ReadFinishReason(choice, r);
  ReadMeta(doc, r);
  return Status::Ok();
}

// Consumes a streamed body: SSE events → content deltas → on_delta.
class StreamReader {
 public:
  StreamReader(const std::function<bool(std::string_view)>* on_delta, LlmResult* out)
      : on_delta_(on_delta), out_(out) {}

  // HttpClient's on_body. False aborts the transfer: the caller went away
  // (client_gone()) or the stream is unusable (error()).
  bool OnBody(std::string_view bytes) {
    if (done_) return true;  // after [DONE] nothing matters
    events_.clear();
    Status fed = parser_.Feed(bytes, &events_);
    for (const SseEvent& e : events_) {
      error_ = HandleEvent(e);
      if (!error_.ok() || client_gone_) return false;
      if (done_) return true;
    }
    if (!fed.ok()) {
      error_ = BadResponse(fed.message());
      return false;
    }
    return true;
  }

  bool done() const { return done_; }
  bool client_gone() const { return client_gone_; }
  int delivered() const { return delivered_; }
  const Status& error() const { return error_; }

 private:
  Status HandleEvent(const SseEvent& e) {
    if (e.data == "[DONE]") {
      done_ = true;
      return Status::Ok();
    }
    json doc = json::parse(e.data, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return BadResponse("a stream chunk is not a JSON object");
    if (Status s = CheckNoError(doc); !s.ok()) return s;
    ReadMeta(doc, out_);
    auto choices = doc.find("choices");
    if (choices == doc.end() || choices->is_null()) return Status::Ok();  // e.g. the usage chunk
    if (!choices->is_array()) return BadResponse("\"choices\" in a stream chunk is not an array");
    for (const json& choice : *choices) {
      if (!choice.is_object()) return BadResponse("a stream choice is not an object");
      // We ask for one choice (n=1); anything but index 0 is not ours.
      if (NonNegativeInt(choice, "index", 0) != 0) continue;
      ReadFinishReason(choice, out_);
      auto delta = choice.find("delta");
      if (delta == choice.end() || delta->is_null()) continue;
      if (!delta->is_object()) return BadResponse("a stream delta is not an object");
      auto content = delta->find("content");
      if (content == delta->end() || content->is_null()) continue;
      if (!content->is_string()) return BadResponse("a stream delta's content is not a string");
      const std::string& piece = content->get_ref<const std::string&>();
      if (piece.empty()) continue;
      out_->text += piece;
      ++delivered_;
      if (!Deliver(piece)) {
        client_gone_ = true;
        return Status::Ok();
      }
    }
    return Status::Ok();
  }

  // We are inside a curl callback: an exception must not unwind through C
  // frames. One escaping the caller's on_delta is treated as "client gone".
  bool Deliver(std::string_view piece) {
    try {
      return (*on_delta_)(piece);
    } catch (...) {
      LogError("llm_on_delta_threw");
      return false;
    }
  }

  const std::function<bool(std::string_view)>* on_delta_;
  LlmResult* out_;
  SseParser parser_;
  std::vector<SseEvent> events_;
  Status error_;
  bool done_ = false;
  bool client_gone_ = false;
  int delivered_ = 0;
};

// The Status for a non-2xx answer (classified by retry_policy.h).
Status HttpFailure(UpstreamAnswer answer, int code, const std::string& body, const std::string& who) {
  const std::string what = who + " answered HTTP " + std::to_string(code) + ErrorTagOfBody(body);
  switch (answer) {
    case UpstreamAnswer::kKeyRejected: return Unavailable(Reason::kUpstreamAuth, what + ": the API key was rejected");
    case UpstreamAnswer::kRateLimited: return Unavailable("upstream_rate_limited", what);
    case UpstreamAnswer::kUnavailable: return Unavailable("upstream_unavailable", what);
    case UpstreamAnswer::kRejected: break;
  }
  return Unavailable("upstream_rejected", what);
}

int EstimatePromptTokens(const std::vector<ChatMessage>& messages) {
  size_t n = 0;
  for (const ChatMessage& m : messages) n += EstimateTokens(m.content) + 4;  // ~4 tokens of chat framing each
  return static_cast<int>(std::min<size_t>(n, INT32_MAX));
}

}  // namespace

// The outcome of one HTTP call, classified for the retry loop and the breaker.
struct LlmClient::Attempt {
  Status status;              // OK: `result` holds the answer
  LlmResult result;
  bool retryable = false;     // another attempt may succeed
  bool upstream_fault = false;  // a breaker failure
  bool key_rejected = false;  // 401/403
  int http_status = 0;        // 0: no HTTP answer
  std::optional<int> retry_after_s;
};

LlmClient::LlmClient(LlmClientOptions options) : options_(std::move(options)), base_([this] {
  std::string b = options_.base_url;
  while (!b.empty() && b.back() == '/') b.pop_back();
  return b;
}()) {}

LlmClient::Attempt LlmClient::TryOnce(const std::string& body, const Deadline& deadline,
                                      const LlmCallContext& ctx) const {
  Attempt a;
  a.result.prompt_tokens = a.result.completion_tokens = -1;
  const bool streaming = static_cast<bool>(ctx.on_delta);
  HttpHeaders headers = {{"Content-Type", "application/json"},
                         {"Accept", streaming ? "text/event-stream" : "application/json"},
                         {"Authorization", "Bearer " + options_.api_key}};
  HttpCallOptions call;
  call.connect_timeout = options_.connect_timeout;
  call.deadline = deadline;
  call.cancel = ctx.cancel;
  std::optional<StreamReader> reader;
  if (streaming) {
    reader.emplace(&ctx.on_delta, &a.result);
    call.on_body = [&reader](std::string_view bytes) { return reader->OnBody(bytes); };
  }
  Result<HttpResult> r = ThreadClient().Post(base_ + "/chat/completions", headers, body, call);
  const bool delivered = reader && reader->delivered() > 0;

  if (reader && reader->client_gone()) {
    a.status = CancelledStatus();
  } else if (reader && !reader->error().ok()) {
    a.status = reader->error();
    a.upstream_fault = true;
  } else if (!r.ok()) {
    const Status& s = r.status();
    if (IsCancelled(s)) {
      a.status = CancelledStatus();
    } else if (s.code() == Code::kDeadlineExceeded) {
      a.status = TimeoutStatus(s.message());
      a.upstream_fault = true;
    } else if (s.code() == Code::kInvalidArgument) {  // bad_upstream_url: our configuration
      a.status = Unavailable(s.error(), s.message());
    } else {
      a.upstream_fault = true;
      // TLS and size failures would fail the same way again.
      a.retryable = !delivered && IsRetryableTransport(s);
      a.status = delivered ? Unavailable("upstream_stream_broken", "the LLM stream broke after it began: " + s.message())
                           : s;
    }
  } else if (r->status < 200 || r->status >= 300) {
    a.http_status = r->status;
    a.retry_after_s = r->retry_after_seconds;
    const UpstreamAnswer answer = ClassifyHttpStatus(r->status);
    a.status = HttpFailure(answer, r->status, r->body, "the LLM API");
    a.retryable = IsRetryable(answer);
    a.upstream_fault = a.retryable;
    a.key_rejected = answer == UpstreamAnswer::kKeyRejected;
  } else if (reader) {
    a.http_status = r->status;
    if (!reader->done()) {
      a.status = Unavailable("upstream_truncated", "the LLM stream ended without [DONE]");
      a.upstream_fault = true;
      a.retryable = !delivered;
    }
  } else {
    a.http_status = r->status;
    a.status = ParseCompletion(r->body, &a.result);
    a.upstream_fault = !a.status.ok();
  }
  return a;
}

Result<LlmResult> LlmClient::Complete(const std::vector<ChatMessage>& messages, int max_tokens,
                                      const Deadline& deadline, const LlmCallContext& ctx) const {
  if (!configured()) return Unavailable(Reason::kLlmNotConfigured, "no API key is configured for the LLM");
  json request = {{"model", options_.model}, {"temperature", options_.temperature}};
  json& msgs = request["messages"] = json::array();
  for (const ChatMessage& m : messages) msgs.push_back({{"role", m.role}, {"content", m.content}});
  if (max_tokens > 0) request["max_tokens"] = max_tokens;
  if (ctx.on_delta) {
    request["stream"] = true;
    request["stream_options"] = {{"include_usage", true}};
  }
  // User text may be invalid UTF-8: replace rather than throw.
  const std::string body = request.dump(-1, ' ', false, json::error_handler_t::replace);

  const auto started = std::chrono::steady_clock::now();
  int attempts = 0;
  auto fail = [&](Status s) -> Result<LlmResult> {
    if (!IsCancelled(s)) {
      const auto elapsed = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);
      LogWarn("llm_failed", {{"request_id", ctx.request_id},
                             {"error", s.error()},
                             {"detail", Excerpt(s.message(), 200)},
                             {"attempts", attempts},
                             {"elapsed_ms", elapsed.count()}});
    }
    return s;
  };

  Status last;
  for (int attempt = 0;; ++attempt) {
    if (IsSet(ctx.cancel)) return CancelledStatus();
    if (deadline.Expired()) return fail(TimeoutStatus("the deadline passed before the call"));
    if (ctx.breaker != nullptr && !ctx.breaker->Allow(UnixMs())) {
      return fail(attempt == 0 ? Unavailable(Reason::kBreakerOpen, "the LLM circuit breaker is open") : last);
    }
    ++attempts;
    Attempt a = TryOnce(body, deadline, ctx);
    if (ctx.breaker != nullptr) {
      if (a.status.ok()) ctx.breaker->RecordSuccess(UnixMs());
      else if (a.upstream_fault) ctx.breaker->RecordFailure(UnixMs());
      if (a.key_rejected) ctx.breaker->SetKeyRejected(true);
    }
    if (a.status.ok()) {
      LlmResult r = std::move(a.result);
      r.attempts = attempts;
      if (r.model.empty()) r.model = options_.model;
      r.usage_estimated = r.prompt_tokens < 0 || r.completion_tokens < 0;
      if (r.prompt_tokens < 0) r.prompt_tokens = EstimatePromptTokens(messages);
      if (r.completion_tokens < 0) r.completion_tokens = static_cast<int>(EstimateTokens(r.text));
      return r;
    }
    if (a.key_rejected) LogWarn("llm_key_rejected", {{"request_id", ctx.request_id}, {"http_status", a.http_status}});
    if (!a.retryable) return fail(a.status);

    const milliseconds left = deadline.Remaining();
    const RetryWait wait = NextRetryWait({options_.retries, options_.backoff_base, options_.backoff_cap}, attempt,
                                         a.retry_after_s, left);
    if (wait.kind == RetryWait::Kind::kRetryAfterTooLong) {
      return fail(Unavailable(a.status.error(), a.status.message() + "; it asked to retry after " +
                                                    std::to_string(*a.retry_after_s) + " s, beyond the " +
                                                    std::to_string(left.count()) + " ms left"));
    }
    // Out of retries, or the retry could not even start in time.
    if (wait.kind != RetryWait::Kind::kWait) return fail(a.status);
    const milliseconds delay = wait.delay;
    LogWarn("llm_retry", {{"request_id", ctx.request_id},
                          {"attempt", attempts},
                          {"reason", a.status.error()},
                          {"http_status", a.http_status},
                          {"delay_ms", delay.count()}});
    if (!SleepFor(delay, ctx.cancel)) return CancelledStatus();
    last = std::move(a.status);
  }
}

Status ParseCompletionBody(const std::string& body, LlmResult* r) { return ParseCompletion(body, r); }

Status ParseCompletionStream(const std::vector<std::string_view>& pieces,
                             const std::function<bool(std::string_view)>& on_delta, LlmResult* r) {
  StreamReader reader(&on_delta, r);
  for (std::string_view piece : pieces)
    if (!reader.OnBody(piece)) break;
  if (reader.client_gone()) return CancelledStatus();
  if (!reader.error().ok()) return reader.error();
  if (!reader.done()) return Unavailable("upstream_truncated", "the LLM stream ended without [DONE]");
  return Status::Ok();
}

Status LlmClient::CheckKey(const Deadline& deadline, CircuitBreaker* breaker) const {
  if (!configured()) return Unavailable(Reason::kLlmNotConfigured, "no API key is configured for the LLM");
  HttpCallOptions call;
  call.connect_timeout = options_.connect_timeout;
  call.deadline = deadline;
  Result<HttpResult> r = ThreadClient().Get(base_ + "/models", {{"Authorization", "Bearer " + options_.api_key}}, call);
  if (!r.ok()) {
    if (r.status().code() == Code::kDeadlineExceeded) return TimeoutStatus(r.status().message());
    return StatusFromToken(Code::kUnavailable, r.status().error(), r.status().message());
  }
  if (r->status >= 200 && r->status < 300) {
    if (breaker != nullptr) breaker->SetKeyRejected(false);
    return Status::Ok();
  }
  const UpstreamAnswer answer = ClassifyHttpStatus(r->status);
  if (answer == UpstreamAnswer::kKeyRejected) {
    if (breaker != nullptr) breaker->SetKeyRejected(true);
    LogWarn("llm_key_rejected", {{"http_status", r->status}});
  }
  return HttpFailure(answer, r->status, r->body, "GET /models");
}

}  // namespace folio
