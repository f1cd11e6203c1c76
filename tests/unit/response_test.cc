// response_test.cc: the error shape, the FastCGI head, probe and health bodies.
#include <gtest/gtest.h>

#include <chrono>
#include <regex>

#include "handlers/handlers.h"
#include "request.h"
#include "test_app.h"

namespace folio {
namespace {

struct ErrorCase {
  Status status;
  int http;
};

TEST(ResponseTest, ErrorShapeAndStatusForEveryCode) {
  std::vector<ErrorCase> cases = {
      {InvalidArgument("bad_json", "m"), 400},       {Unprocessable("bad_query", "m"), 422},
      {NotFound("session_not_found", "m"), 404},     {ResourceExhausted("rate_limited", "m"), 429},
      {Unavailable("shed", "m"), 503},               {DeadlineExceeded("timeout", "m"), 504},
      {Internal("internal", "m"), 500},              {Status(Code::kPayloadTooLarge, "big", "m"), 413},
      {Status(Code::kMethodNotAllowed, "meth", "m"), 405}, {Status(Code::kUnauthenticated, "auth", "m"), 401},
      {Status(Code::kUnsupportedMedia, "type", "m"), 415},
  };
  for (const auto& c : cases) {
    Response r = ErrorResponse(c.status, "rid");
    EXPECT_EQ(r.status, c.http) << c.status.error();
    auto body = nlohmann::json::parse(r.body);
    EXPECT_EQ(body["error"]["code"], c.status.error());
    EXPECT_EQ(body["error"]["message"], "m");
    EXPECT_EQ(body["request_id"], "rid");
    EXPECT_EQ(body.size(), 2u);
  }
}

TEST(ResponseTest, InvalidUtf8IsReplacedNotThrown) {
  Response r = JsonResponse(200, {{"text", std::string("ok \xff\xfe end")}});
  auto body = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_FALSE(body.is_discarded());
  EXPECT_NE(body["text"].get<std::string>().find("end"), std::string::npos);
}

TEST(ResponseTest, HeadHasStatusTypeLengthAndHeaders) {
  Response r = JsonResponse(404, {{"a", 1}});
  r.AddHeader("Allow", "GET");
  std::string head = ResponseHead(r);
  EXPECT_EQ(head.rfind("Status: 404 Not Found\r\n", 0), 0u);
  EXPECT_NE(head.find("Content-Type: application/json; charset=utf-8\r\n"), std::string::npos);
  EXPECT_NE(head.find("Content-Length: " + std::to_string(r.body.size()) + "\r\n"), std::string::npos);
  EXPECT_NE(head.find("Allow: GET\r\n"), std::string::npos);
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
}

TEST(ResponseTest, StreamingHeadHasNoLength) {
  Response r;
  r.content_type = "text/event-stream";
  r.stream = [](StreamWriter&) {};
  EXPECT_EQ(ResponseHead(r).find("Content-Length"), std::string::npos);
}

TEST(ProbeTest, ReadyIs503UntilAnIndexIsInService) {
  test::TestApp test_app(std::map<std::string, std::string>{{"INDEX_DIR", "/nonexistent/index"}});
  Response r = HandleReady(Request{}, test_app.app());
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(nlohmann::json::parse(r.body)["reason"].get<std::string>().find("/nonexistent/index"), std::string::npos);
}

TEST(ProbeTest, PingHasIsoTimestamp) {
  App app(test::TestConfig());
  Response r = HandlePing(Request{}, app);
  EXPECT_EQ(r.status, 200);
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["status"], "ok");
  EXPECT_TRUE(std::regex_match(body["timestamp"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
}

TEST(ProbeTest, ReadyIs503WithReasonUntilStartupPasses) {
  test::TestApp test_app({}, /*with_state=*/false);
  App& app = test_app.app();
  ASSERT_TRUE(app.index.Load().ok());
  Response before = HandleReady(Request{}, app);
  EXPECT_EQ(before.status, 503);
  EXPECT_EQ(nlohmann::json::parse(before.body)["reason"], "starting");
  app.readiness.SetNotReady("index missing");
  EXPECT_EQ(nlohmann::json::parse(HandleReady(Request{}, app).body)["reason"], "index missing");
  app.readiness.SetReady();
  Response after = HandleReady(Request{}, app);
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(nlohmann::json::parse(after.body)["ready"], true);
}

TEST(HealthTest, NoLlmKeyIsDegradedNotUnhealthy) {
  test::TestApp test_app;
  auto body = nlohmann::json::parse(HandleHealth(Request{}, test_app.app()).body);
  EXPECT_EQ(body["checks"]["llm"]["status"], "warn");
  EXPECT_EQ(body["checks"]["llm"]["configured"], false);
  EXPECT_NE(body["status"], "unhealthy");
}

TEST(HealthTest, ReportsMemoryCheckAndOverallStatus) {
  const auto before = std::chrono::steady_clock::now();
  test::TestApp test_app;
  App& app = test_app.app();
  Response r = HandleHealth(Request{}, app);
  const double up_at_most = std::chrono::duration<double>(std::chrono::steady_clock::now() - before).count();
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(body["status"] == "healthy" || body["status"] == "degraded");
  EXPECT_GT(body["checks"]["memory"]["worker_rss_mb"].get<double>(), 0.0);
  EXPECT_EQ(body["checks"]["memory"]["limit_mb"], 512);
  EXPECT_GT(body["uptime_s"].get<double>(), 0.0);
  EXPECT_LT(body["uptime_s"].get<double>(), up_at_most) << "seconds since the App was made";
  EXPECT_EQ(body["version"], FOLIO_VERSION);
}

TEST(HealthTest, FailedStartupIsUnhealthy503) {
  App app(test::TestConfig());
  app.readiness.SetNotReady("DATA_DIR is not writable");
  Response r = HandleHealth(Request{}, app);
  EXPECT_EQ(r.status, 503);
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["status"], "unhealthy");
  EXPECT_EQ(body["checks"]["startup"]["reason"], "DATA_DIR is not writable");
}

TEST(HealthTest, OverallStatusIsTheWorstCheck) {
  test::TestApp test_app(std::map<std::string, std::string>{{"MEMORY_LIMIT_MB", "32"}});
  App& app = test_app.app();
  // A test binary's pool is itself (plus any same-named siblings): force a
  // tiny limit by checking against cgroup or PSS; either way it must be
  // reported, and the overall status must follow the check.
  auto body = nlohmann::json::parse(HandleHealth(Request{}, app).body);
  bool critical = false, warn = false;
  for (const auto& [name, check] : body["checks"].items()) {
    critical |= check["status"] == "critical";
    warn |= check["status"] == "warn";
  }
  EXPECT_EQ(body["status"], critical ? "unhealthy" : warn ? "degraded" : "healthy");
  EXPECT_TRUE(body["checks"]["memory"].contains("pool_pss_mb"));
}

}  // namespace
}  // namespace folio
