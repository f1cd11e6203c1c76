// trusted_proxy_test.cc: who a client is, through the real stack. Behind a
// trusted proxy (TRUSTED_PROXIES) each visitor named by the proxy's
// X-Forwarded-For has budgets of its own, in nginx's zones and in the
// worker's limits alike; a client cannot choose its address by sending the
// header itself, through the proxy or around it; IPv6 visitors are counted
// by their /64. Here the test process plays both the proxy (127.0.0.1) and
// clients that reach nginx directly (127.0.0.2).
#include <gtest/gtest.h>

#include "stack.h"

namespace folio::test {
namespace {

using std::chrono::seconds;

constexpr int kClientRpm = 5;

// A search as the visitor `forwarded_for` (the X-Forwarded-For the proxy
// sends), from `source` (the connecting address).
HttpResponse Search(const TestStack& stack, const std::string& forwarded_for, const std::string& source = "") {
  HttpOptions options;
  if (!forwarded_for.empty()) options.headers["X-Forwarded-For"] = forwarded_for;
  options.source = source;
  return Http(stack.port(), "POST", "/api/search", R"({"query":"projects","k":1})", options);
}

// Statuses of `n` searches, each with the X-Forwarded-For made by `header(i)`.
std::vector<int> Statuses(const TestStack& stack, int n, const std::function<std::string(int)>& header,
                          const std::string& source = "") {
  std::vector<int> out;
  for (int i = 0; i < n; ++i) out.push_back(Search(stack, header(i), source).status);
  return out;
}

std::vector<int> Repeat(int status, int n) { return std::vector<int>(static_cast<size_t>(n), status); }

// The worker's per-client budget (CLIENT_RPM) and nothing of nginx's.
std::unique_ptr<TestStack> WorkerBudgetStack(const std::string& trusted) {
  std::string error;
  auto stack = TestStack::Start({{"TRUSTED_PROXIES", trusted},
                                 {"CLIENT_RPM", std::to_string(kClientRpm)},
                                 {"RATE_LIMIT_RPS", "10000"},
                                 {"RATE_LIMIT_BURST", "10000"}},
                                &error);
  EXPECT_NE(stack, nullptr) << error;
  return stack;
}

class TrustedProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = WorkerBudgetStack("127.0.0.1/32");
    ASSERT_NE(stack_, nullptr);
  }
  std::unique_ptr<TestStack> stack_;
};

TEST_F(TrustedProxyTest, VisitorsNamedByTheProxyHaveBudgetsOfTheirOwn) {
  std::vector<int> first = Statuses(*stack_, kClientRpm, [](int) { return "203.0.113.10"; });
  EXPECT_EQ(first, Repeat(200, kClientRpm));
  HttpResponse over = Search(*stack_, "203.0.113.10");
  EXPECT_EQ(over.status, 429) << over.body;
  EXPECT_NE(over.Header("retry-after"), "");
  // Another visitor of the same proxy is untouched.
  EXPECT_EQ(Statuses(*stack_, kClientRpm, [](int) { return "203.0.113.20"; }), Repeat(200, kClientRpm));
  // nginx saw the visitors too.
  ASSERT_TRUE(stack_->WaitForLog("nginx-access.log", "\"client_ip\":\"203.0.113.20\"", seconds(5)));
  EXPECT_NE(stack_->ReadLog("nginx-access.log").find("\"client_ip\":\"203.0.113.10\""), std::string::npos);
}

TEST_F(TrustedProxyTest, WhatAClientPutsBeforeTheProxysEntryChangesNothing) {
  // The proxy appends the address it saw; what the client sent stays in front.
  std::vector<int> got = Statuses(*stack_, kClientRpm + 1, [](int i) {
    return "198.51.100." + std::to_string(i + 1) + ", 203.0.113.30";
  });
  std::vector<int> want = Repeat(200, kClientRpm);
  want.push_back(429);
  EXPECT_EQ(got, want);
}

TEST_F(TrustedProxyTest, AClientThatIsNotATrustedProxyCannotNameItself) {
  std::vector<int> got = Statuses(
      *stack_, kClientRpm + 1, [](int i) { return "203.0.113." + std::to_string(i + 40); }, "127.0.0.2");
  std::vector<int> want = Repeat(200, kClientRpm);
  want.push_back(429);
  EXPECT_EQ(got, want);
}

TEST_F(TrustedProxyTest, IPv6VisitorsAreCountedByTheirSlash64) {
  // Different hosts of one /64: one client.
  std::vector<int> got = Statuses(*stack_, kClientRpm + 1, [](int i) {
    return "2001:db8:1:2::" + std::to_string(i + 1);
  });
  std::vector<int> want = Repeat(200, kClientRpm);
  want.push_back(429);
  EXPECT_EQ(got, want);
  // The next /64 is someone else.
  EXPECT_EQ(Search(*stack_, "2001:db8:1:3::1").status, 200);
}

TEST(UntrustedForwardedForTest, WithoutTrustedProxiesTheHeaderChangesNothing) {
  auto stack = WorkerBudgetStack("");
  ASSERT_NE(stack, nullptr);
  std::vector<int> got = Statuses(*stack, kClientRpm + 1, [](int i) { return "203.0.113." + std::to_string(i + 1); });
  std::vector<int> want = Repeat(200, kClientRpm);
  want.push_back(429);
  EXPECT_EQ(got, want);
  EXPECT_EQ(stack->ReadLog("nginx-access.log").find("203.0.113."), std::string::npos) << "nginx took the header";
}

TEST(NginxZoneTest, RateLimitZonesFollowTheForwardedVisitor) {
  std::string error;
  auto stack = TestStack::Start({{"TRUSTED_PROXIES", "127.0.0.1/32"}, {"RATE_LIMIT_RPS", "1"}, {"RATE_LIMIT_BURST", "2"},
                                 {"PROBE_RATE_LIMIT_RPS", "1"}, {"PROBE_RATE_LIMIT_BURST", "2"}},
                                &error, std::chrono::seconds(20), /*wait_ready=*/false);
  ASSERT_NE(stack, nullptr) << error;
  // Ready, without spending the probe budget of the visitors below.
  ASSERT_EQ(PollHttp(stack->port(), "/ready", [](const HttpResponse& r) { return r.status == 200; }, seconds(20)).status,
            200);
  // Four at once: the burst of 2 plus the one of this second pass, the
  // fourth is nginx's 429 (its own message: the worker never saw it).
  std::vector<int> a = Statuses(*stack, 4, [](int) { return "203.0.113.50"; });
  EXPECT_EQ(a.back(), 429);
  EXPECT_EQ(std::count(a.begin(), a.end(), 200), 3);
  // Another visitor, and another host of the first one's /64 in IPv6 terms:
  EXPECT_EQ(Search(*stack, "203.0.113.51").status, 200);
  EXPECT_EQ(Statuses(*stack, 4, [](int i) { return "2001:db8:9:9::" + std::to_string(i + 1); }).back(), 429);
  EXPECT_EQ(Search(*stack, "2001:db8:9:a::1").status, 200);
  // The probes have a zone of their own, per visitor too.
  auto ping = [&](const std::string& visitor) {
    return Http(stack->port(), "GET", "/ping", "", {{{"X-Forwarded-For", visitor}}}).status;
  };
  std::vector<int> pings;
  for (int i = 0; i < 4; ++i) pings.push_back(ping("203.0.113.60"));
  EXPECT_EQ(pings.back(), 429);
  EXPECT_EQ(ping("203.0.113.61"), 200);
}

}  // namespace
}  // namespace folio::test
