// status_test.cc: typed failure reasons — callers branch on reason(), and
// the token clients read (error()) is the one each reason has always had.
#include "status.h"

#include <gtest/gtest.h>

namespace folio {
namespace {

TEST(StatusTest, EachReasonKeepsItsToken) {
  const std::pair<Reason, const char*> cases[] = {
      {Reason::kCancelled, "cancelled"},
      {Reason::kTimeout, "timeout"},
      {Reason::kStoreFull, "store_full"},
      {Reason::kUpstreamAuth, "upstream_auth"},
      {Reason::kUpstreamTls, "upstream_tls"},
      {Reason::kUpstreamTooLarge, "upstream_response_too_large"},
      {Reason::kLlmNotConfigured, "llm_not_configured"},
      {Reason::kBreakerOpen, "breaker_open"},
      {Reason::kBudgetExhausted, "budget_exhausted"},
      {Reason::kShed, "shed"},
  };
  for (const auto& [reason, token] : cases) {
    Status s = Unavailable(reason, "why");
    EXPECT_EQ(s.error(), token);
    EXPECT_TRUE(s.Is(reason)) << token;
    EXPECT_EQ(ReasonOfToken(token), reason) << token;
  }
}

TEST(StatusTest, ATokenWithoutAReasonIsNone) {
  Status s = Unavailable("upstream_unavailable", "HTTP 502");
  EXPECT_EQ(s.reason(), Reason::kNone);
  EXPECT_FALSE(s.Is(Reason::kNone));
  EXPECT_EQ(ReasonOfToken("upstream_unavailable"), Reason::kNone);
  EXPECT_FALSE(Status::Ok().Is(Reason::kNone));
}

TEST(StatusTest, ATokenReadBackFromStorageRegainsItsReason) {
  Status shed = StatusFromToken(Code::kUnavailable, "shed", "busy");
  EXPECT_TRUE(shed.Is(Reason::kShed));
  EXPECT_EQ(shed.error(), "shed");
  Status other = StatusFromToken(Code::kUnavailable, "upstream_stream_broken", "broke");
  EXPECT_EQ(other.reason(), Reason::kNone);
  EXPECT_EQ(other.error(), "upstream_stream_broken");
}

}  // namespace
}  // namespace folio
