// http_client.h: the outbound HTTP client (libcurl) used by the LLM client
// and the OpenAI embedder. One HttpClient owns one CURL easy handle that is
// reused across calls, so keep-alive connections and TLS sessions survive
// between requests. NOT thread-safe: keep one per thread (thread_local).
// Statuses never contain request headers, so an API key cannot leak.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "clock.h"
#include "status.h"

namespace folio {

// Request headers, e.g. {"Content-Type", "application/json"}.
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpCallOptions {
  // Time allowed to establish TCP (+TLS); capped by the deadline.
  std::chrono::milliseconds connect_timeout{5000};
  // The whole call (connect, send, wait, receive) must end by this point.
  // Already expired: DeadlineExceeded without touching the network.
  Deadline deadline = Deadline::After(std::chrono::seconds(30));
  // Streaming: when set, each piece of a 2xx response body is handed here as
  // it arrives (split anywhere) and HttpResult::body stays empty. Returning
  // false aborts the transfer and closes the connection (Status "cancelled"):
  // that is how a client that went away cancels the upstream call.
  // Non-2xx bodies are never streamed; they land in HttpResult::body.
  std::function<bool(std::string_view chunk)> on_body;
  // Polled during the transfer (at least about once a second, and on every
  // chunk): true aborts with Status "cancelled". Must outlive the call.
  const std::atomic<bool>* cancel = nullptr;
  // A response body beyond this aborts with "upstream_response_too_large".
  // Counts streamed bytes too. 8 MiB: far above any embeddings batch we send.
  size_t max_response_bytes = 8u << 20;
};

struct HttpResult {
  int status = 0;
  // From Retry-After (delay-seconds or HTTP-date), in seconds from now;
  // empty when absent or unparseable.
  std::optional<int> retry_after_seconds;
  std::string content_type;
  std::string body;  // empty when HttpCallOptions::on_body consumed it
};

// Status tokens (error()) this client returns:
//   DeadlineExceeded "upstream_timeout"      deadline passed before or during the call
//   Unavailable      "upstream_unreachable"  DNS or TCP connect failed
//   Unavailable      "upstream_connection_lost"  reset / closed early / nothing received
//   Unavailable      "upstream_tls"          TLS handshake or certificate problem
//   Unavailable      "upstream_response_too_large"
//   Unavailable      "cancelled"             on_body returned false or *cancel became true
//   InvalidArgument  "bad_upstream_url"      unparseable URL or unsupported scheme
//   Unavailable      "upstream_error"        anything else curl reports
// A non-2xx HTTP status is not an error here: it comes back in HttpResult.
class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  Result<HttpResult> Post(const std::string& url, const HttpHeaders& headers, std::string_view body,
                          const HttpCallOptions& options);
  Result<HttpResult> Get(const std::string& url, const HttpHeaders& headers, const HttpCallOptions& options);

 private:
  struct Handle;  // owns the CURL*; defined in the .cc so curl.h stays there
  Result<HttpResult> Perform(const std::string& url, const HttpHeaders& headers, const std::string_view* body,
                             const HttpCallOptions& options);
  std::unique_ptr<Handle> handle_;
};

// True for the Status a cancelled call returns (callback or cancel flag).
bool IsCancelled(const Status& status);

// Parses a Retry-After value: delay-seconds ("120") or an HTTP-date
// ("Wed, 21 Oct 2015 07:28:00 GMT"), as seconds from `now_unix` (never
// negative). Empty when unparseable. Exposed for tests.
std::optional<int> ParseRetryAfter(std::string_view value, int64_t now_unix);

}  // namespace folio
