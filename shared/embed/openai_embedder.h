// openai_embedder.h: an Embedder over any OpenAI-compatible /v1/embeddings
// endpoint (OpenAI, Azure-style proxies, vLLM, Ollama, the test mock).
// Batches inputs, retries transient failures with backoff, validates and
// L2-normalises what comes back. Safe from many threads at once: each
// thread uses its own HttpClient (thread_local), so connections are reused
// per thread. The API key is sent in a header and never logged or returned.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "embedder.h"
#include "status.h"

namespace folio {

struct OpenAiEmbedderOptions {
  // Up to and including the version segment; "/embeddings" is appended.
  std::string base_url = "https://api.openai.com/v1";
  // Sent as "Authorization: Bearer <key>"; empty sends no header (local servers).
  std::string api_key;
  std::string model = "text-embedding-3-small";
  // Expected vector size; 0 learns it from the first response, after which
  // every response must match. A mismatch is an error, never a resize.
  int dimension = 0;
  // Send "dimensions": dimension in each request. Only text-embedding-3-*
  // models accept it (they can shorten their vectors); other servers may
  // reject the field, so it is opt-in.
  bool request_dimensions = false;
  // Texts per request. OpenAI allows 2048; 64 keeps one request small
  // enough to retry cheaply and well under the 8 MiB response cap.
  int batch_size = 64;
  // Per HTTP call (one batch, one attempt), and its connect part.
  std::chrono::milliseconds call_timeout{30000};
  std::chrono::milliseconds connect_timeout{5000};
  // Extra attempts after the first, for connection errors, timeouts, 408,
  // 429 and 5xx only (retry_policy.h); other 4xx fail at once.
  int retries = 2;
  // Backoff before retry n (0-based): uniform in
  // [0, min(backoff_max, backoff_initial * 2^n)] (retry_policy.h's full jitter).
  std::chrono::milliseconds backoff_initial{250};
  std::chrono::milliseconds backoff_max{4000};
  // A Retry-After asking us to wait this long or longer fails now instead of
  // holding the caller. Shorter Retry-After values are honoured.
  std::chrono::milliseconds max_retry_after{10000};
};

class OpenAiEmbedder final : public Embedder {
 public:
  explicit OpenAiEmbedder(OpenAiEmbedderOptions options);

  // "openai:" + model.
  std::string name() const override;
  // The configured dimension, or the learned one; 0 until a first response
  // when configured as 0.
  int dimension() const override { return dimension_.load(std::memory_order_acquire); }
  bool remote() const override { return true; }

  // One request per batch_size texts, in order. Empty texts get all-zero
  // vectors without a request (the API rejects empty input).
  // Errors (every failed answer is Unavailable, as retry_policy.h says):
  // Unavailable "upstream_rate_limited" (429 after retries),
  // Unavailable "upstream_error" (5xx / transport after retries),
  // Unavailable "upstream_auth_failed" (401/403), Unavailable "upstream_rejected"
  // (other 4xx), Unavailable "upstream_bad_response" (unparseable or
  // inconsistent body), DeadlineExceeded "upstream_timeout".
  // On error *out is left empty.
  Status EmbedBatch(const std::vector<std::string>& texts, std::vector<std::vector<float>>* out) override;

 private:
  // One request for `texts` (all non-empty), retried as configured.
  Status EmbedRequest(const std::vector<std::string>& texts, std::vector<std::vector<float>>* out);
  // Parses and checks one 2xx response body for `n` inputs.
  Status ParseResponse(const std::string& body, size_t n, std::vector<std::vector<float>>* out);

  const OpenAiEmbedderOptions options_;
  const std::string url_;
  std::atomic<int> dimension_;
};

}  // namespace folio
