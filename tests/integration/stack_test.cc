// stack_test.cc: every endpoint of the running stack through nginx — shapes,
// headers, request ids in both logs, nginx's own errors in JSON, hostile
// requests — and, at the end, that no worker was restarted along the way.
#include <gtest/gtest.h>

#include <regex>
#include <thread>

#include "stack_suite.h"

namespace folio::test {
namespace {

class StackTest : public StackSuite {
 protected:
  static void SetUpTestSuite() {
    started_ = std::chrono::steady_clock::now();
    // Generous limits here: rate limiting has its own stack in lifecycle_test.
    ASSERT_NO_FATAL_FAILURE(StartStack({{"RATE_LIMIT_RPS", "10000"}, {"RATE_LIMIT_BURST", "10000"}}));
    initial_workers_ = stack_->WorkerPids();
  }

  static void ExpectJsonError(const HttpResponse& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.raw.substr(0, 400);
    auto body = r.Json();
    ASSERT_TRUE(body.is_object()) << r.body.substr(0, 200);
    EXPECT_EQ(body["error"]["code"], code) << r.body;
    EXPECT_TRUE(body["error"]["message"].is_string());
    ASSERT_TRUE(body["request_id"].is_string());
    EXPECT_EQ(body["request_id"], r.Header("x-request-id"));
    EXPECT_NE(r.Header("content-type").find("application/json"), std::string::npos);
  }

  static inline std::chrono::steady_clock::time_point started_;
  static inline std::vector<pid_t> initial_workers_;
};

TEST_F(StackTest, PingAnswersOkWithIsoTimestamp) {
  HttpResponse r = stack_->Get("/ping");
  ASSERT_EQ(r.status, 200);
  auto body = r.Json();
  EXPECT_EQ(body["status"], "ok");
  EXPECT_TRUE(std::regex_match(body["timestamp"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  EXPECT_NE(r.Header("content-type").find("application/json"), std::string::npos);
}

TEST_F(StackTest, ReadyIsTrue) {
  HttpResponse r = stack_->Get("/ready");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["ready"], true);
}

TEST_F(StackTest, HealthReportsPoolMemory) {
  HttpResponse r = stack_->Get("/api/health");
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = r.Json();
  EXPECT_TRUE(body["status"] == "healthy" || body["status"] == "degraded") << body;
  EXPECT_TRUE(body["version"].is_string());
  const double up_at_most = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  EXPECT_GT(body["uptime_s"].get<double>(), 0.0);
  EXPECT_LT(body["uptime_s"].get<double>(), up_at_most) << "the workers started after the suite did";
  auto mem = body["checks"]["memory"];
  EXPECT_EQ(mem["pool_processes"], 2) << mem;  // both workers counted
  EXPECT_GT(mem["worker_rss_mb"].get<double>(), 0.5);
  EXPECT_GT(mem["pool_pss_mb"].get<double>(), 0.5);
  EXPECT_EQ(body["checks"]["startup"]["status"], "ok");
}

TEST_F(StackTest, UnknownPathIs404Json) { ExpectJsonError(stack_->Get("/no/such/thing"), 404, "not_found"); }

TEST_F(StackTest, WrongMethodIs405WithAllow) {
  HttpResponse r = stack_->Post("/ping", "{}");
  ExpectJsonError(r, 405, "method_not_allowed");
  EXPECT_EQ(r.Header("allow"), "GET, HEAD");
}

TEST_F(StackTest, MethodsFolioNeverUsesAreRefusedByNginxInJson) {
  for (const char* method : {"TRACE", "PUT", "PATCH", "PROPFIND"}) {
    HttpResponse r = Http(stack_->port(), method, "/api/health");
    ExpectJsonError(r, 405, "method_not_allowed");
  }
}

TEST_F(StackTest, RequestIdFromClientIsEchoedAndInBothLogs) {
  const std::string id = "itest-req-0123456789";
  HttpResponse r = stack_->Get("/api/health", {{{"X-Request-ID", id}}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("x-request-id"), id);
  EXPECT_TRUE(stack_->WaitForLog("nginx-access.log", "\"request_id\":\"" + id + "\"", std::chrono::seconds(5)));
  EXPECT_TRUE(stack_->WaitForWorkerLog("\"request_id\":\"" + id + "\"", std::chrono::seconds(5)));
}

TEST_F(StackTest, UnsafeClientRequestIdIsReplaced) {
  HttpResponse r = stack_->Get("/nope", {{{"X-Request-ID", "<script>alert(1)</script>"}}});
  EXPECT_TRUE(std::regex_match(r.Header("x-request-id"), std::regex("[0-9a-f]{32}"))) << r.Header("x-request-id");
  EXPECT_EQ(r.Json()["request_id"], r.Header("x-request-id"));
}

TEST_F(StackTest, EveryResponseGetsAGeneratedRequestId) {
  HttpResponse a = stack_->Get("/ping"), b = stack_->Get("/ping");
  EXPECT_TRUE(std::regex_match(a.Header("x-request-id"), std::regex("[0-9a-f]{32}")));
  EXPECT_NE(a.Header("x-request-id"), b.Header("x-request-id"));
}

TEST_F(StackTest, AccessLogLineIsJsonWithEveryField) {
  const std::string id = "itest-accesslog-42";
  stack_->Get("/ping", {{{"X-Request-ID", id}}});
  ASSERT_TRUE(stack_->WaitForLog("nginx-access.log", id, std::chrono::seconds(5)));
  std::string log = stack_->ReadLog("nginx-access.log");
  size_t at = log.find(id);
  size_t begin = log.rfind('\n', at) + 1, end = log.find('\n', at);
  auto line = nlohmann::json::parse(log.substr(begin, end - begin), nullptr, false);
  ASSERT_TRUE(line.is_object());
  for (const char* field : {"time", "request_id", "client_ip", "method", "path", "status", "bytes", "request_time",
                            "upstream_time"})
    EXPECT_TRUE(line.contains(field)) << field;
  EXPECT_EQ(line["status"], 200);
  EXPECT_EQ(line["path"], "/ping");
}

TEST_F(StackTest, SecurityHeadersOnEveryAnswer) {
  for (const char* path : {"/ping", "/api/health", "/nope"}) {
    HttpResponse r = stack_->Get(path);
    EXPECT_EQ(r.Header("x-content-type-options"), "nosniff") << path;
    EXPECT_EQ(r.Header("referrer-policy"), "no-referrer") << path;
    EXPECT_NE(r.Header("content-security-policy").find("default-src 'self'"), std::string::npos) << path;
    EXPECT_EQ(r.Header("strict-transport-security"), "") << "HSTS only on TLS";
    EXPECT_EQ(r.Header("server"), "nginx") << "no version";
  }
}

TEST_F(StackTest, BodyOver16KiBIs413Json) {
  ExpectJsonError(stack_->Post("/api/health", std::string(20 * 1024, 'a')), 413, "payload_too_large");
}

TEST_F(StackTest, OneMegabyteBodyIs413Json) {
  ExpectJsonError(stack_->Post("/api/chat", std::string(1024 * 1024, '{')), 413, "payload_too_large");
}

TEST_F(StackTest, HugeHeaderIs400Json) {
  ExpectJsonError(stack_->Get("/ping", {{{"X-Big", std::string(20000, 'h')}}}), 400, "bad_request");
}

TEST_F(StackTest, OverlongPathIs4xxJson) {
  HttpResponse r = stack_->Get("/" + std::string(12000, 'p'));
  EXPECT_GE(r.status, 400);
  EXPECT_LT(r.status, 500);
  EXPECT_TRUE(r.Json().contains("error")) << r.raw.substr(0, 300);
}

TEST_F(StackTest, PathTraversalNeverEscapes) {
  // Dot segments that stay inside the root are resolved by nginx, not refused.
  EXPECT_EQ(stack_->Get("/api/%2e%2e/ping").Json()["status"], "ok");
  for (const char* path : {"/../../etc/passwd", "/api/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                           "/api/%2e%2e/%2e%2e/etc/passwd"}) {
    HttpResponse r = stack_->Get(path);
    EXPECT_GE(r.status, 400) << path;
    EXPECT_LT(r.status, 500) << path;
    EXPECT_TRUE(r.Json().contains("error")) << path << " " << r.raw.substr(0, 300);
    EXPECT_EQ(r.body.find("root:"), std::string::npos);
  }
}

TEST_F(StackTest, NulAndControlBytesInPathAre4xxJson) {
  for (const char* path : {"/ping%00", "/api/health%00.json", "/ping%0d%0aSet-Cookie:x=1", "/p%01ng"}) {
    HttpResponse r = stack_->Get(path);
    EXPECT_GE(r.status, 400) << path;
    EXPECT_LT(r.status, 500) << path;
    EXPECT_TRUE(r.Json().contains("error")) << path;
    EXPECT_EQ(r.Header("set-cookie"), "") << path;
  }
}

TEST_F(StackTest, InvalidUtf8PathIs404Json) { ExpectJsonError(stack_->Get("/%ff%fe%fd"), 404, "not_found"); }

TEST_F(StackTest, MalformedRequestLineIs400) {
  HttpResponse r = RawHttp(stack_->port(), "GARBAGE\r\n\r\n", std::chrono::seconds(5));
  EXPECT_EQ(r.status, 400);
}

TEST_F(StackTest, DuplicateContentLengthIsRefused) {
  HttpResponse r = RawHttp(stack_->port(),
                           "POST /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n"
                           "Connection: close\r\n\r\n{}",
                           std::chrono::seconds(5));
  EXPECT_EQ(r.status, 400);
}

TEST_F(StackTest, ClientThatDisconnectsMidBodyLeavesStackHealthy) {
  for (int i = 0; i < 10; ++i)
    RawHttp(stack_->port(), "POST /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"par",
            std::chrono::milliseconds(50));
  EXPECT_EQ(stack_->Get("/ping").status, 200);
}

TEST_F(StackTest, InvalidUtf8BodyGetsJsonAnswer) {
  HttpResponse r = stack_->Post("/api/health", "{\"m\":\"\xff\xfe\"}");
  ExpectJsonError(r, 405, "method_not_allowed");
}

TEST_F(StackTest, TlsServesTheSameApiWithHsts) {
  std::string out;
  int rc = RunCommand("curl -sk --tlsv1.2 -D - https://127.0.0.1:" + std::to_string(stack_->tls_port()) + "/ping", &out);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("\"status\":\"ok\""), std::string::npos) << out;
  EXPECT_NE(out.find("strict-transport-security: max-age="), std::string::npos) << out;
}

TEST_F(StackTest, TlsOnePointOneIsRefused) {
  std::string out;
  int rc = RunCommand("curl -sk --tlsv1.1 --tls-max 1.1 https://127.0.0.1:" + std::to_string(stack_->tls_port()) +
                          "/ping",
                      &out);
  EXPECT_NE(rc, 0) << out;
}

TEST_F(StackTest, GzipForLargeJson) {
  // The 404 body is small; the health body is near the threshold. Ask for
  // gzip on both and check compressed answers carry the header coherently.
  HttpResponse r = stack_->Get("/api/health", {{{"Accept-Encoding", "gzip"}}});
  ASSERT_EQ(r.status, 200);
  if (r.Header("content-encoding") == "gzip") {
    EXPECT_NE(r.body.substr(0, 2), "{\"");
  } else {
    EXPECT_LT(r.body.size(), 512u) << "bodies of 512 bytes and more must be gzipped";
  }
}

TEST_F(StackTest, ZzzNoWorkerWasRestarted) {
  // Runs last (alphabetical within the suite is not guaranteed, but gtest
  // runs in declaration order): after every hostile request above, the
  // same worker processes are still serving.
  EXPECT_EQ(stack_->WorkerPids(), initial_workers_);
  EXPECT_EQ(stack_->ReadLog("supervisord.log").find("exited: folio-worker"), std::string::npos)
      << stack_->ReadLog("supervisord.log");
}

}  // namespace
}  // namespace folio::test
