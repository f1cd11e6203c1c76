// router_test.cc: method + path → handler, and the 404/405/400 answers.
#include "router.h"

#include <gtest/gtest.h>

#include "handlers/handlers.h"
#include "test_app.h"

namespace folio {
namespace {

Config DefaultConfig() {
  std::vector<std::string> problems;
  return std::move(Config::Load(&problems, [](const char*) -> const char* { return nullptr; }).value());
}

Response Tag(const std::string& tag) {
  Response r;
  r.body = tag;
  return r;
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() : app_(DefaultConfig()) {
    router_.Add("GET", "/ping", [](const Request&, App&) { return Tag("ping"); });
    router_.Add("GET", "/api/sessions/*", [](const Request&, App&) { return Tag("get-session"); });
    router_.Add("DELETE", "/api/sessions/*", [](const Request&, App&) { return Tag("delete-session"); });
    router_.Add("POST", "/api/chat", [](const Request&, App&) { return Tag("chat"); });
  }
  Response Send(const std::string& method, const std::string& path) {
    Request r;
    r.method = method;
    r.path = path;
    r.request_id = "rid-1";
    return router_.Dispatch(r, app_);
  }
  App app_;
  Router router_;
};

struct RouteCase {
  const char* method;
  const char* path;
  int status;
  const char* body_or_code;  // handler tag for 200, error code otherwise
  const char* allow;
};

class RouterTableTest : public RouterTest, public ::testing::WithParamInterface<RouteCase> {};

TEST_P(RouterTableTest, Routes) {
  const RouteCase& c = GetParam();
  Response r = Send(c.method, c.path);
  EXPECT_EQ(r.status, c.status) << c.method << " " << c.path;
  if (c.status == 200) {
    EXPECT_EQ(r.body, c.body_or_code);
  } else {
    auto body = nlohmann::json::parse(r.body);
    EXPECT_EQ(body["error"]["code"], c.body_or_code);
    EXPECT_EQ(body["request_id"], "rid-1");
  }
  std::string allow;
  for (const auto& [k, v] : r.headers)
    if (k == "Allow") allow = v;
  EXPECT_EQ(allow, c.allow);
}

INSTANTIATE_TEST_SUITE_P(
    Table, RouterTableTest,
    ::testing::Values(RouteCase{"GET", "/ping", 200, "ping", ""},
                      RouteCase{"POST", "/ping", 405, "method_not_allowed", "GET"},
                      RouteCase{"HEAD", "/ping", 200, "ping", ""},
                      RouteCase{"HEAD", "/api/chat", 405, "method_not_allowed", "POST"},
                      RouteCase{"GET", "/ping/", 404, "not_found", ""},
                      RouteCase{"GET", "/pingx", 404, "not_found", ""},
                      RouteCase{"GET", "/api/sessions/abc", 200, "get-session", ""},
                      RouteCase{"DELETE", "/api/sessions/abc", 200, "delete-session", ""},
                      RouteCase{"POST", "/api/sessions/abc", 405, "method_not_allowed", "GET, DELETE"},
                      RouteCase{"GET", "/api/sessions/", 404, "not_found", ""},
                      RouteCase{"GET", "/api/chat", 405, "method_not_allowed", "POST"},
                      RouteCase{"GET", "/nothing", 404, "not_found", ""},
                      RouteCase{"GET", "", 400, "bad_path", ""},
                      RouteCase{"GET", "relative", 400, "bad_path", ""},
                      RouteCase{"GET", "/ping\x01", 400, "bad_path", ""},
                      RouteCase{"GET", "/\xff\xfe", 404, "not_found", ""}));

TEST_F(RouterTest, ReadProblemIsAnsweredBeforeRouting) {
  Request r;
  r.method = "POST";
  r.path = "/api/chat";
  r.request_id = "rid-2";
  r.read_status = Status(Code::kPayloadTooLarge, "payload_too_large", "too big");
  Response resp = router_.Dispatch(r, app_);
  EXPECT_EQ(resp.status, 413);
  EXPECT_EQ(nlohmann::json::parse(resp.body)["error"]["code"], "payload_too_large");
}

TEST_F(RouterTest, NulInPathIsRefused) {
  EXPECT_EQ(Send("GET", std::string("/pi\0ng", 6)).status, 400);
}

TEST_F(RouterTest, OverlongPathIsRefused) {
  EXPECT_EQ(Send("GET", "/" + std::string(5000, 'a')).status, 400);
}

TEST(RoutesTest, ProductionTableServesProbes) {
  test::TestApp test_app;
  App& app = test_app.app();
  Router router = MakeRouter();
  Request r;
  r.method = "GET";
  r.path = "/ready";
  EXPECT_EQ(router.Dispatch(r, app).status, 200);
  r.path = "/ping";
  EXPECT_EQ(router.Dispatch(r, app).status, 200);
}

}  // namespace
}  // namespace folio
