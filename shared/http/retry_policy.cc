// retry_policy.cc: the status classification and the backoff of retry_policy.h.
#include "retry_policy.h"

#include <algorithm>
#include <random>

namespace folio {

UpstreamAnswer ClassifyHttpStatus(int http_status) {
  if (http_status == 401 || http_status == 403) return UpstreamAnswer::kKeyRejected;
  if (http_status == 429) return UpstreamAnswer::kRateLimited;
  if (http_status == 408 || http_status >= 500) return UpstreamAnswer::kUnavailable;
  return UpstreamAnswer::kRejected;
}

bool IsRetryable(UpstreamAnswer answer) {
  return answer == UpstreamAnswer::kRateLimited || answer == UpstreamAnswer::kUnavailable;
}

bool IsRetryableTransport(const Status& status) {
  if (status.code() == Code::kDeadlineExceeded) return true;
  return status.code() == Code::kUnavailable && !status.Is(Reason::kCancelled) && !status.Is(Reason::kUpstreamTls) &&
         !status.Is(Reason::kUpstreamTooLarge);
}

RetryWait NextRetryWait(const RetryPolicy& policy, int attempt, std::optional<int> retry_after_s,
                        std::chrono::milliseconds time_left) {
  using std::chrono::milliseconds;
  RetryWait wait;
  if (attempt >= policy.retries) {
    wait.kind = RetryWait::Kind::kNoRetriesLeft;
    return wait;
  }
  const milliseconds ceiling = std::min(policy.backoff_cap, policy.backoff_base * (int64_t{1} << std::min(attempt, 20)));
  static thread_local std::mt19937_64 rng(std::random_device{}());
  wait.delay = ceiling.count() <= 0 ? milliseconds(0)
                                    : milliseconds(std::uniform_int_distribution<int64_t>(0, ceiling.count())(rng));
  if (retry_after_s) {
    const milliseconds asked(int64_t{*retry_after_s} * 1000);
    if (asked >= time_left) {
      wait.kind = RetryWait::Kind::kRetryAfterTooLong;
      return wait;
    }
    wait.delay = std::max(wait.delay, asked);
  }
  if (wait.delay >= time_left) wait.kind = RetryWait::Kind::kNoTime;
  return wait;
}

}  // namespace folio
