// llm_client.h: chat completions from any OpenAI-compatible API (OpenAI,
// vLLM, Ollama, OpenRouter, the test mock), plain or streamed, with retries,
// a hard deadline, cancellation and the shared circuit breaker.
// An LlmClient is immutable after construction: safe from many threads at
// once. Each thread uses its own HttpClient (thread_local), so keep-alive
// connections and TLS sessions are reused per thread. The API key is sent in
// a header only: never logged, never in a Status.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "circuit_breaker.h"
#include "clock.h"
#include "prompt.h"
#include "status.h"

namespace folio {

struct LlmClientOptions {
  // Up to and including the version segment; "/chat/completions" and
  // "/models" are appended.
  std::string base_url = "https://api.openai.com/v1";
  // Sent as "Authorization: Bearer <key>". Empty: !configured(), and every
  // call fails at once with "llm_not_configured" (callers fall back).
  std::string api_key;
  std::string model = "gpt-4o-mini";
  // Extra attempts after the first, only for failures a retry can fix.
  int retries = 2;
  // TCP (+TLS) connect, per attempt; capped by the deadline.
  std::chrono::milliseconds connect_timeout{5000};
  // Backoff before retry n (0-based): uniform in [0, min(cap, base * 2^n)]
  // ("full jitter"), so workers that failed together do not retry together.
  // A Retry-After from the server raises the wait to what it asks.
  std::chrono::milliseconds backoff_base{250};
  std::chrono::milliseconds backoff_cap{4000};
  // Low: answers should stay close to the retrieved passages.
  double temperature = 0.2;
};

struct LlmCallContext {
  std::string request_id;  // for log lines only
  // Set: the call streams (stream:true, usage included) and every non-empty
  // content delta is handed here in order, on the calling thread, as it
  // arrives. Returning false means our client went away: the upstream
  // transfer is aborted and Complete() returns "cancelled". Must not throw
  // (it runs inside a libcurl callback; a throw is caught and cancels).
  std::function<bool(std::string_view delta)> on_delta;
  // Consulted before each attempt and told the outcome of each attempt.
  // Null: no breaker. Must outlive the call.
  CircuitBreaker* breaker = nullptr;
  // Polled during the transfer and the backoff waits; true aborts with
  // "cancelled". Null: never cancelled. Must outlive the call.
  const std::atomic<bool>* cancel = nullptr;
};

struct LlmResult {
  std::string text;
  int prompt_tokens = 0;
  int completion_tokens = 0;
  bool usage_estimated = false;  // the server sent no usage: token_estimate.h counts
  int attempts = 0;              // HTTP calls made, retries included
  std::string finish_reason;     // "stop", "length", ... ("" when not sent)
  std::string model;             // as the server names it (else the requested one)
};

// Status tokens (error()) Complete() returns. DeadlineExceeded means the
// request is out of time (answer 504); every other failure is Unavailable,
// meaning "no LLM answer, fall back to a degraded one"; the token says why:
//   DeadlineExceeded "timeout"                 the deadline passed (also while streaming)
//   Unavailable "cancelled"                    on_delta returned false or *cancel became true
//   Unavailable "llm_not_configured"           no API key
//   Unavailable "breaker_open"                 the breaker refused; no call was made
//   Unavailable "upstream_auth"                401/403: key rejected (breaker->key_rejected())
//   Unavailable "upstream_rate_limited"        429 after retries, or a Retry-After beyond the deadline
//   Unavailable "upstream_unavailable"         5xx after retries, or 5xx Retry-After beyond the deadline
//   Unavailable "upstream_rejected"            other 4xx (400, 404, 422): our request or config is wrong
//   Unavailable "upstream_bad_response"        malformed JSON, missing/wrongly typed fields, an error object in a 200
//   Unavailable "upstream_truncated"           the stream ended without [DONE]
//   Unavailable "upstream_stream_broken"       the connection failed after deltas were delivered
//   Unavailable "upstream_unreachable" | "upstream_connection_lost" | "upstream_tls" |
//               "upstream_response_too_large" | "upstream_error" | "bad_upstream_url"
//                                              transport failures, as http_client.h names them
// Retried (while time remains, up to `retries` times): connection errors,
// 429, 5xx, and a stream that broke or ended early before its first delta.
// Never retried: 4xx other than 429 (and 408), bad responses, cancellation,
// anything after a delta was delivered.
// Breaker: every attempt that failed by the upstream's fault is a failure;
// 4xx other than 408/429, cancellation and our own deadline expiring while
// the upstream was streaming fine are not.
class LlmClient {
 public:
  explicit LlmClient(LlmClientOptions options);

  bool configured() const { return !options_.api_key.empty(); }
  const std::string& model() const { return options_.model; }
  const std::string& base_url() const { return options_.base_url; }

  // One chat completion of `messages` (oldest first), at most `max_tokens`
  // long. Never runs past `deadline`: each attempt gets the time left and
  // backoff waits are cut short (a wait that would end past it is not
  // started: the last error is returned instead).
  Result<LlmResult> Complete(const std::vector<ChatMessage>& messages, int max_tokens, const Deadline& deadline,
                             const LlmCallContext& ctx) const;

  // A cheap GET {base_url}/models, for the start-up key check. OK when the
  // key is accepted; "upstream_auth" (and breaker->SetKeyRejected(true))
  // on 401/403; otherwise the Complete() tokens. Never retried.
  Status CheckKey(const Deadline& deadline, CircuitBreaker* breaker = nullptr) const;

 private:
  struct Attempt;
  Attempt TryOnce(const std::string& body, const Deadline& deadline, const LlmCallContext& ctx) const;

  const LlmClientOptions options_;
  const std::string base_;  // base_url without trailing '/'
};

// The parsing of what a 2xx answer carries, as Complete() does it, without
// the HTTP call: exposed for tests and fuzzing (fuzz/llm_response_fuzz.cc).
// Pure; safe from any thread.
// A plain body into r->text, finish_reason, model and usage (usage fields
// left as they were when absent); "upstream_bad_response" when unusable.
Status ParseCompletionBody(const std::string& body, LlmResult* r);
// A streamed body, in the `pieces` the transfer delivered, through the same
// reader: each non-empty content delta goes to on_delta and is appended to
// r->text; the stream stops where the transfer would be aborted. OK once
// [DONE] arrived; "cancelled" when on_delta returned false;
// "upstream_bad_response" for an unusable stream; "upstream_truncated" when
// the pieces end without [DONE].
Status ParseCompletionStream(const std::vector<std::string_view>& pieces,
                             const std::function<bool(std::string_view)>& on_delta, LlmResult* r);

}  // namespace folio
