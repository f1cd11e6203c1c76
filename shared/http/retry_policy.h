// retry_policy.h: the one retry policy of folio's calls to upstream HTTP
// APIs (the LLM, the embeddings endpoint): what an answer means, whether
// another attempt can help, and how long to wait before it.
// Stateless (the jitter's generator is per thread); safe from any thread.
//
// Status classification. Every failed upstream answer is Code::kUnavailable
// (503 if it ever reaches a client), 429 included: an upstream's rate limit
// is folio's provider refusing folio, not our client over its own budget,
// which is the only thing a 429 from folio means (ResourceExhausted). The
// client is told the service is unavailable for now; the token
// ("upstream_rate_limited") says why, for operators.
#pragma once

#include <chrono>
#include <optional>

#include "status.h"

namespace folio {

// What a non-2xx HTTP answer from an upstream means.
enum class UpstreamAnswer {
  kKeyRejected,   // 401, 403: our API key; not retried
  kRateLimited,   // 429: retried, after any Retry-After
  kUnavailable,   // 408, 5xx: the upstream's fault; retried
  kRejected,      // any other 4xx: our request or configuration; not retried
};
UpstreamAnswer ClassifyHttpStatus(int http_status);

// Another attempt may succeed; for the circuit breaker, it is also the
// upstream's fault (a rejected key or request is ours).
bool IsRetryable(UpstreamAnswer answer);

// A transport failure (no HTTP answer) another attempt may cure: a refused,
// lost or timed-out connection. Not a cancellation, a TLS failure or an
// oversized body, which would fail the same way again. A caller whose
// deadline covers the whole call (the LLM) handles timeouts before this.
bool IsRetryableTransport(const Status& status);

struct RetryPolicy {
  int retries = 2;  // extra attempts after the first
  // Backoff before retry n (0-based): uniform in [0, min(cap, base * 2^n)]
  // ("full jitter"), so workers that failed together do not retry together.
  std::chrono::milliseconds backoff_base{250};
  std::chrono::milliseconds backoff_cap{4000};
};

// Whether and how long to wait before retry `attempt` (0-based) of a failure
// another attempt may cure.
struct RetryWait {
  enum class Kind {
    kWait,               // sleep `delay`, then try again
    kRetryAfterTooLong,  // the server asked for a wait of at least `time_left`: give up now
    kNoTime,             // the backoff alone would use up `time_left`: give up now
    kNoRetriesLeft,      // `policy.retries` attempts were retried already
  };
  Kind kind = Kind::kWait;
  std::chrono::milliseconds delay{0};
};
// `retry_after_s`: the server's Retry-After (seconds), a lower bound on the
// wait. `time_left`: how long the caller may still wait (its deadline, or
// its cap on a Retry-After).
RetryWait NextRetryWait(const RetryPolicy& policy, int attempt, std::optional<int> retry_after_s,
                        std::chrono::milliseconds time_left);

}  // namespace folio
