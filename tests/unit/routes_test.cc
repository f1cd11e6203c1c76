// routes_test.cc: the route table (worker/http/routes.h) — matching, the
// 400/404/405 answers, each row's facts — and nginx's locations held to it:
// every route's method gets through the location nginx would pick for its
// path, and every method a location lets through to the worker is one of
// its routes' (or a preflight's).
#include "routes.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "test_app.h"

namespace folio {
namespace {

Request Make(const std::string& method, const std::string& path) {
  Request r;
  r.method = method;
  r.path = path;
  r.request_id = "rid-1";
  return r;
}

struct RouteCase {
  const char* method;
  const char* path;
  const char* pattern;  // the route it must match; "" for an error
  int status;           // the error's status
  const char* code;
  const char* allow;
};

class MatchRouteTest : public ::testing::TestWithParam<RouteCase> {};

TEST_P(MatchRouteTest, FindsTheRouteOrTheAnswer) {
  const RouteCase& c = GetParam();
  RouteMatch match = MatchRoute(Make(c.method, c.path));
  if (*c.pattern) {
    ASSERT_NE(match.route, nullptr) << c.method << " " << c.path;
    EXPECT_EQ(match.route->pattern, c.pattern);
    return;
  }
  ASSERT_EQ(match.route, nullptr) << c.method << " " << c.path;
  ASSERT_TRUE(match.error.has_value());
  EXPECT_EQ(match.error->status, c.status) << c.method << " " << c.path;
  auto body = nlohmann::json::parse(match.error->body);
  EXPECT_EQ(body["error"]["code"], c.code);
  EXPECT_EQ(body["request_id"], "rid-1");
  std::string allow;
  for (const auto& [k, v] : match.error->headers)
    if (k == "Allow") allow = v;
  EXPECT_EQ(allow, c.allow);
}

INSTANTIATE_TEST_SUITE_P(
    Table, MatchRouteTest,
    ::testing::Values(RouteCase{"GET", "/ping", "/ping", 0, "", ""}, RouteCase{"HEAD", "/ping", "/ping", 0, "", ""},
                      RouteCase{"POST", "/ping", "", 405, "method_not_allowed", "GET"},
                      RouteCase{"HEAD", "/api/chat", "", 405, "method_not_allowed", "POST"},
                      RouteCase{"GET", "/ping/", "", 404, "not_found", ""},
                      RouteCase{"GET", "/pingx", "", 404, "not_found", ""},
                      RouteCase{"GET", "/api/sessions/abc", "/api/sessions/*", 0, "", ""},
                      RouteCase{"DELETE", "/api/sessions/abc", "/api/sessions/*", 0, "", ""},
                      RouteCase{"POST", "/api/sessions/abc", "", 405, "method_not_allowed", "GET, DELETE"},
                      RouteCase{"GET", "/api/sessions/", "", 404, "not_found", ""},
                      RouteCase{"GET", "/api/chat", "", 405, "method_not_allowed", "POST"},
                      RouteCase{"POST", "/api/chat", "/api/chat", 0, "", ""},
                      RouteCase{"GET", "/nothing", "", 404, "not_found", ""},
                      RouteCase{"GET", "", "", 400, "bad_path", ""},
                      RouteCase{"GET", "relative", "", 400, "bad_path", ""},
                      RouteCase{"GET", "/ping\x01", "", 400, "bad_path", ""},
                      RouteCase{"GET", "/\xff\xfe", "", 404, "not_found", ""}));

TEST(MatchRouteTest, ReadProblemIsAnsweredBeforeRouting) {
  Request r = Make("POST", "/api/chat");
  r.read_status = Status(Code::kPayloadTooLarge, "payload_too_large", "too big");
  RouteMatch match = MatchRoute(r);
  ASSERT_TRUE(match.error.has_value());
  EXPECT_EQ(match.error->status, 413);
  EXPECT_EQ(nlohmann::json::parse(match.error->body)["error"]["code"], "payload_too_large");
}

TEST(MatchRouteTest, NulAndOverlongPathsAreRefused) {
  EXPECT_EQ(MatchRoute(Make("GET", std::string("/pi\0ng", 6))).error->status, 400);
  EXPECT_EQ(MatchRoute(Make("GET", "/" + std::string(5000, 'a'))).error->status, 400);
}

TEST(RouteTableTest, EveryRowIsWhole) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const RouteSpec& r : Routes()) {
    EXPECT_TRUE(static_cast<bool>(r.fast) != static_cast<bool>(r.slow)) << r.pattern << ": one handler";
    EXPECT_TRUE(seen.insert({r.method, r.pattern}).second) << r.method << " " << r.pattern << " twice";
    // Operator endpoints and probes are never limited per client; the API is.
    EXPECT_EQ(r.limited, r.access == AccessClass::kApi) << r.pattern;
  }
}

TEST(RouteTableTest, PathFactsForRequestsNoRouteTook) {
  EXPECT_EQ(AccessClassOf("/ping"), AccessClass::kProbe);
  EXPECT_EQ(AccessClassOf("/ready"), AccessClass::kProbeWithReason);
  EXPECT_EQ(AccessClassOf("/metrics"), AccessClass::kOperator);
  EXPECT_EQ(AccessClassOf("/api/health"), AccessClass::kOperator);
  EXPECT_EQ(AccessClassOf("/api/no-such-thing"), AccessClass::kApi) << "unknown API paths need a key too";
  EXPECT_EQ(AccessClassOf("/v1/nope"), AccessClass::kApi);
  EXPECT_EQ(AccessClassOf("/favicon.ico"), AccessClass::kOpen);
  EXPECT_EQ(LoggedPath("/api/sessions/AbCdEfGhIjKlMnOpQrStUv"), "/api/sessions/AbCdEf\xE2\x80\xA6");
  EXPECT_EQ(LoggedPath("/api/chat"), "/api/chat");
}

TEST(RouteTableTest, ProductionTableServesProbes) {
  test::TestApp test_app;
  EXPECT_EQ(Dispatch(Make("GET", "/ready"), test_app.app()).status, 200);
  EXPECT_EQ(Dispatch(Make("GET", "/ping"), test_app.app()).status, 200);
}

// ---- nginx's locations, read from its config templates ---------------------

struct Location {
  std::string path;
  bool exact = false;
  std::set<std::string> methods;  // what its `if` lets through; empty: a location without one
  bool internal = false;
};

std::vector<Location> ReadLocations(const std::string& file) {
  std::ifstream in(file);
  std::vector<Location> out;
  const std::regex open(R"(^location\s+(=\s+)?(\S+)\s*\{)");
  const std::regex methods(R"(\$request_method\s+!~\s+\^\(([A-Z|]+)\)\$)");
  const std::regex single(R"(\$request_method\s+!=\s+([A-Z]+))");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, open)) {
      out.push_back({m[2], m[1].matched, {}, false});
    } else if (!out.empty() && std::regex_search(line, m, methods)) {
      std::stringstream list(m[1]);
      for (std::string method; std::getline(list, method, '|');) out.back().methods.insert(method);
    } else if (!out.empty() && std::regex_search(line, m, single)) {
      out.back().methods.insert(m[1]);
    } else if (!out.empty() && line.find("internal;") != std::string::npos) {
      out.back().internal = true;
    }
  }
  return out;
}

// The location nginx picks for `path`: an exact match, else the longest prefix.
const Location* Pick(const std::vector<Location>& locations, const std::string& path) {
  const Location* best = nullptr;
  for (const Location& l : locations) {
    if (l.exact && l.path == path) return &l;
    if (!l.exact && path.compare(0, l.path.size(), l.path) == 0 && (!best || l.path.size() > best->path.size()))
      best = &l;
  }
  return best;
}

std::vector<Location> NginxLocations() {
  std::vector<Location> all;
  for (const char* f : {"/nginx/folio_server.conf", "/nginx/folio_web.conf"}) {
    std::vector<Location> some = ReadLocations(std::string(FOLIO_SOURCE_DIR) + f);
    all.insert(all.end(), some.begin(), some.end());
  }
  return all;
}

// A path of the route's shape ("/api/sessions/*" → a session-like path).
std::string ExamplePath(const RouteSpec& r) {
  return r.pattern.back() == '*' ? r.pattern.substr(0, r.pattern.size() - 1) + "AbCdEfGhIjKlMnOpQrStUv" : r.pattern;
}

TEST(RoutesMatchNginxTest, EveryRouteGetsThroughItsLocation) {
  const std::vector<Location> locations = NginxLocations();
  ASSERT_GT(locations.size(), 10u);
  for (const RouteSpec& r : Routes()) {
    const Location* l = Pick(locations, ExamplePath(r));
    ASSERT_NE(l, nullptr) << r.pattern;
    EXPECT_FALSE(l->internal) << r.pattern;
    EXPECT_TRUE(l->methods.count(r.method)) << r.method << " " << r.pattern << " is refused by nginx's location "
                                             << l->path;
  }
}

// A prefix location passes the methods of every route under it, those a
// longer location takes included: then a method one path lacks (DELETE
// /api/health) is the worker's 405, with that path's own Allow.
TEST(RoutesMatchNginxTest, EveryMethodALocationPassesIsARoutesOrAPreflight) {
  for (const Location& l : NginxLocations()) {
    if (l.internal || l.methods.empty() || l.path == "/") continue;  // "/": the catch-all (the worker's 404s)
    std::set<std::string> served = {"OPTIONS"};  // CORS preflights, answered by the access check
    bool any = false;
    for (const RouteSpec& r : Routes()) {
      const std::string p = ExamplePath(r);
      if (l.exact ? p != l.path : p.compare(0, l.path.size(), l.path) != 0) continue;
      any = true;
      served.insert(r.method);
      if (r.method == "GET") served.insert("HEAD");
    }
    if (!any) continue;  // a static file location (the page), no route of the worker's
    for (const std::string& m : l.methods) EXPECT_TRUE(served.count(m)) << "nginx passes " << m << " to " << l.path;
  }
}

}  // namespace
}  // namespace folio
