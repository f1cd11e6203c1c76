// retry_policy_test.cc: the one classification of upstream HTTP answers
// (table-driven), the backoff bounds and the Retry-After rules that the LLM
// client and the embeddings client share.
#include "retry_policy.h"

#include <gtest/gtest.h>

namespace folio {
namespace {

using std::chrono::milliseconds;

TEST(RetryPolicyTest, EachHttpStatusHasOneMeaning) {
  struct Case {
    int status;
    UpstreamAnswer want;
    bool retryable;
  };
  const Case cases[] = {
      {401, UpstreamAnswer::kKeyRejected, false}, {403, UpstreamAnswer::kKeyRejected, false},
      {429, UpstreamAnswer::kRateLimited, true},  {408, UpstreamAnswer::kUnavailable, true},
      {500, UpstreamAnswer::kUnavailable, true},  {502, UpstreamAnswer::kUnavailable, true},
      {503, UpstreamAnswer::kUnavailable, true},  {400, UpstreamAnswer::kRejected, false},
      {404, UpstreamAnswer::kRejected, false},    {422, UpstreamAnswer::kRejected, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ClassifyHttpStatus(c.status), c.want) << c.status;
    EXPECT_EQ(IsRetryable(ClassifyHttpStatus(c.status)), c.retryable) << c.status;
  }
}

TEST(RetryPolicyTest, TransportFailuresThatWouldRepeatAreNotRetried) {
  EXPECT_TRUE(IsRetryableTransport(Unavailable("upstream_unreachable", "")));
  EXPECT_TRUE(IsRetryableTransport(Unavailable("upstream_connection_lost", "")));
  EXPECT_TRUE(IsRetryableTransport(DeadlineExceeded("upstream_timeout", "")));
  EXPECT_FALSE(IsRetryableTransport(Unavailable(Reason::kCancelled, "")));
  EXPECT_FALSE(IsRetryableTransport(Unavailable(Reason::kUpstreamTls, "")));
  EXPECT_FALSE(IsRetryableTransport(Unavailable(Reason::kUpstreamTooLarge, "")));
  EXPECT_FALSE(IsRetryableTransport(InvalidArgument("bad_upstream_url", "")));
}

TEST(RetryPolicyTest, BackoffIsFullJitterUnderTheDoublingCap) {
  const RetryPolicy policy{5, milliseconds(100), milliseconds(300)};
  for (int attempt = 0; attempt < 5; ++attempt) {
    const milliseconds ceiling = std::min(milliseconds(300), milliseconds(100) * (1 << attempt));
    for (int i = 0; i < 50; ++i) {
      RetryWait w = NextRetryWait(policy, attempt, std::nullopt, milliseconds(10000));
      ASSERT_EQ(w.kind, RetryWait::Kind::kWait);
      EXPECT_GE(w.delay.count(), 0);
      EXPECT_LE(w.delay, ceiling) << "attempt " << attempt;
    }
  }
}

TEST(RetryPolicyTest, NoRetryPastTheConfiguredCount) {
  const RetryPolicy policy{2, milliseconds(1), milliseconds(1)};
  EXPECT_EQ(NextRetryWait(policy, 1, std::nullopt, milliseconds(1000)).kind, RetryWait::Kind::kWait);
  EXPECT_EQ(NextRetryWait(policy, 2, std::nullopt, milliseconds(1000)).kind, RetryWait::Kind::kNoRetriesLeft);
  EXPECT_EQ(NextRetryWait(RetryPolicy{0}, 0, std::nullopt, milliseconds(1000)).kind, RetryWait::Kind::kNoRetriesLeft);
}

TEST(RetryPolicyTest, RetryAfterRaisesTheWaitAndEndsTheCallWhenTooLong) {
  const RetryPolicy policy{2, milliseconds(1), milliseconds(1)};
  RetryWait w = NextRetryWait(policy, 0, 2, milliseconds(5000));
  EXPECT_EQ(w.kind, RetryWait::Kind::kWait);
  EXPECT_EQ(w.delay, milliseconds(2000));
  EXPECT_EQ(NextRetryWait(policy, 0, 5, milliseconds(5000)).kind, RetryWait::Kind::kRetryAfterTooLong);
  EXPECT_EQ(NextRetryWait(policy, 0, 30, milliseconds(5000)).kind, RetryWait::Kind::kRetryAfterTooLong);
}

TEST(RetryPolicyTest, ABackoffThatWouldUseUpTheTimeLeftIsNotStarted) {
  const RetryPolicy policy{2, milliseconds(1000), milliseconds(1000)};
  EXPECT_EQ(NextRetryWait(policy, 0, std::nullopt, milliseconds(0)).kind, RetryWait::Kind::kNoTime);
}

}  // namespace
}  // namespace folio
