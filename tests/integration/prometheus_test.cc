// prometheus_test.cc: GET /metrics through the real stack — it passes
// `promtool check metrics`, and its counters match the requests this test
// made, summed over every worker process (and kept when a worker dies).
#include <signal.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <regex>

#include "mock_llm.h"
#include "stack.h"

namespace folio::test {
namespace {

// The value of one exact series line, or -1.
double Series(const std::string& text, const std::string& series) {
  size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

TEST(MetricsTest, PassesPromtoolAndCountsMatchRequests) {
  std::string error;
  auto stack = TestStack::Start({{"RATE_LIMIT_RPS", "10000"}, {"RATE_LIMIT_BURST", "10000"}}, &error);
  ASSERT_NE(stack, nullptr) << error;
  std::string before = stack->Get("/metrics").body;
  double pings0 = Series(before, "folio_http_requests_total{route=\"ping\",code=\"2xx\"}");
  double searches0 = Series(before, "folio_http_requests_total{route=\"search\",code=\"2xx\"}");
  double bad0 = Series(before, "folio_http_requests_total{route=\"search\",code=\"4xx\"}");
  ASSERT_GE(pings0, 0) << before.substr(0, 500);

  for (int i = 0; i < 30; ++i) ASSERT_EQ(stack->Get("/ping").status, 200);
  for (int i = 0; i < 7; ++i) ASSERT_EQ(stack->Post("/api/search", R"({"query":"Tollgate"})").status, 200);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(stack->Post("/api/search", R"({"query":""})").status, 422);
  // A killed worker's counts stay in the totals.
  kill(stack->WorkerPids().at(0), SIGKILL);
  PollHttp(stack->port(), "/ready", [](const HttpResponse& r) { return r.status == 200; }, std::chrono::seconds(10));

  HttpResponse r = stack->Get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.Header("content-type").find("text/plain"), std::string::npos);
  std::string path = stack->dir() + "/metrics.txt";
  std::ofstream(path) << r.body;
  std::string out;
  EXPECT_EQ(RunCommand("promtool check metrics < " + path, &out), 0) << out;

  EXPECT_GE(Series(r.body, "folio_http_requests_total{route=\"ping\",code=\"2xx\"}") - pings0, 30);
  EXPECT_EQ(Series(r.body, "folio_http_requests_total{route=\"search\",code=\"2xx\"}") - searches0, 7);
  EXPECT_EQ(Series(r.body, "folio_http_requests_total{route=\"search\",code=\"4xx\"}") - bad0, 4);
  EXPECT_GE(Series(r.body, "folio_http_request_duration_seconds_count{route=\"search\"}"), 11);
  // Response headers every worker answer carries.
  HttpResponse ping = stack->Get("/ping");
  EXPECT_TRUE(std::regex_match(ping.Header("x-response-time"), std::regex(R"(\d+\.\d{3}ms)")));
  EXPECT_GE(std::stoi(ping.Header("x-concurrent-requests")), 1);
}

TEST(ScalingTest, QuietInstanceNeedsNothing) {
  std::string error;
  auto stack = TestStack::Start({}, &error);
  ASSERT_NE(stack, nullptr) << error;
  auto body = stack->Get("/api/health/scaling").Json();
  EXPECT_EQ(body["triggers"].size(), 0u) << body;
  EXPECT_EQ(body["instance_profile"], "mvp");  // MEMORY_LIMIT_MB 512
  EXPECT_TRUE(body["snapshot"]["p95_response_time_s"].is_number());
}

TEST(ScalingTest, TriggersFireOnForcedConditions) {
  MockLlm mock;
  ASSERT_TRUE(mock.Start().ok());
  MockBehaviour hang;
  hang.hang = true;
  mock.SetChatDefault(hang);
  std::string error;
  // Thresholds at zero: any memory, any concurrency (this request), any 5xx.
  auto stack = TestStack::Start({{"SCALE_MEMORY_MB", "0"}, {"SCALE_CONCURRENCY", "0"}, {"SCALE_ERROR_RATE_PCT", "0"},
                                 {"WORKERS", "1"}, {"MEMORY_LIMIT_MB", "2048"}, {"OPENAI_API_KEY", "sk-x"},
                                 {"LLM_BASE_URL", mock.base_url()}, {"REQUEST_TIMEOUT_S", "1"}},
                                &error);
  ASSERT_NE(stack, nullptr) << error;
  // 5xx in the window: chats that time out against a hanging upstream (504).
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(stack->Post("/api/chat", nlohmann::json({{"message", "slow question " + std::to_string(i)}}).dump()).status, 504);
  auto body = stack->Get("/api/health/scaling").Json();
  std::set<std::string> fired;
  for (const auto& t : body["triggers"]) fired.insert(t["trigger"].get<std::string>());
  EXPECT_TRUE(fired.count("memory_mb")) << body;
  EXPECT_TRUE(fired.count("concurrent_requests")) << body;
  EXPECT_TRUE(fired.count("error_rate_pct")) << body;
  EXPECT_EQ(body["recommendation"], "scale up or out: several triggers fired");
  // One instance on LMDB: scaling out starts with sharing the state.
  EXPECT_EQ(body["state_backend"], "lmdb");
  EXPECT_NE(body["scale_out"].get<std::string>().find("STATE_BACKEND=redis://"), std::string::npos) << body;
  EXPECT_EQ(body["instance_profile"], "scaled");
  stack.reset();
  mock.Stop();
}

}  // namespace
}  // namespace folio::test
