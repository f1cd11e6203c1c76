// access_test.cc: worker/access.h decided for one request at a time —
// which paths need a key, the same 401 for a missing and a wrong key, the
// three OPERATOR_ACCESS modes, CORS preflights, the locked policy of an
// invalid configuration — and that what reaches limits and logs is a digest.
#include "access.h"

#include <gtest/gtest.h>

#include <fstream>

#include "handlers/handlers.h"
#include "coalesced_answer.h"
#include "temp_dir.h"
#include "test_app.h"

namespace folio {
namespace {

constexpr char kClientKey[] = "client-key-0123456789abcdef";
constexpr char kOperatorKey[] = "operator-key-0123456789abcdef";

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(keys_file_) << "# test keys\n"
                              << ApiKeyFileLine(kClientKey) << "\n"
                              << ApiKeyFileLine(kOperatorKey, KeyRole::kOperator) << " # ops\n";
  }
  AccessPolicy Policy(const std::string& operator_access, bool keys = true, const std::string& cors = "") {
    std::map<std::string, std::string> env = {{"OPERATOR_ACCESS", operator_access}, {"CORS_ORIGINS", cors}};
    if (keys) env["API_KEYS_FILE"] = keys_file_;
    return AccessPolicy::FromConfig(test::TestConfig(env));
  }
  static Request Req(const std::string& method, const std::string& path, const std::string& remote = "192.0.2.7") {
    Request r;
    r.method = method;
    r.path = path;
    r.remote_addr = remote;
    r.request_id = "rid-access";
    return r;
  }
  static Request WithBearer(Request r, const std::string& key) {
    r.authorization = "Bearer " + key;
    return r;
  }
  static Request WithApiKey(Request r, const std::string& key) {
    r.api_key = key;
    return r;
  }
  static std::string HeaderOf(const Response& r, const std::string& name) {
    for (const auto& [n, v] : r.headers)
      if (n == name) return v;
    return "";
  }

  const test::TempDir dir_{"folio-access"};
  const std::string keys_file_ = dir_.path("keys.txt");
};

TEST_F(AccessTest, WithoutKeyFileTheApiIsOpen) {
  AccessPolicy policy = Policy("open", /*keys=*/false);
  for (const char* path : {"/api/chat", "/v1/models", "/api/sessions/x", "/metrics", "/api/health", "/ping"}) {
    Request r = Req("GET", path);
    EXPECT_FALSE(CheckAccess(&r, policy).has_value()) << path;
    EXPECT_TRUE(r.operator_view) << path;
  }
}

struct KeyCase {
  const char* path;
  const char* bearer;   // nullptr: no Authorization header
  const char* api_key;  // nullptr: no X-API-Key
  int status;           // 0: let through
};

class ApiKeyTableTest : public AccessTest, public ::testing::WithParamInterface<KeyCase> {};

TEST_P(ApiKeyTableTest, Decides) {
  const KeyCase& c = GetParam();
  AccessPolicy policy = Policy("operator");
  Request r = Req("POST", c.path);
  if (c.bearer) r.authorization = c.bearer;
  if (c.api_key) r.api_key = c.api_key;
  std::optional<Response> refused = CheckAccess(&r, policy);
  if (c.status == 0) {
    EXPECT_FALSE(refused.has_value()) << c.path << " " << (refused ? refused->body : "");
    return;
  }
  ASSERT_TRUE(refused.has_value()) << c.path;
  EXPECT_EQ(refused->status, c.status) << c.path;
}

const std::string kBearerClient = std::string("Bearer ") + kClientKey;
const std::string kBearerLower = std::string("bearer   ") + kClientKey + "  ";

INSTANTIATE_TEST_SUITE_P(
    Table, ApiKeyTableTest,
    ::testing::Values(KeyCase{"/api/chat", nullptr, nullptr, 401}, KeyCase{"/v1/models", nullptr, nullptr, 401},
                      KeyCase{"/api/search", nullptr, nullptr, 401},
                      KeyCase{"/api/no/such/route", nullptr, nullptr, 401},  // no route enumeration without a key
                      KeyCase{"/api/chat", "Bearer wrong-key-0123456789", nullptr, 401},
                      KeyCase{"/api/chat", nullptr, "wrong-key-0123456789", 401},
                      KeyCase{"/api/chat", "Basic dXNlcjpwYXNz", nullptr, 401},
                      KeyCase{"/api/chat", "Bearer", nullptr, 401}, KeyCase{"/api/chat", "Bearer ", nullptr, 401},
                      KeyCase{"/api/chat", kBearerClient.c_str(), nullptr, 0},
                      KeyCase{"/api/chat", kBearerLower.c_str(), nullptr, 0},
                      KeyCase{"/api/chat", nullptr, kClientKey, 0}, KeyCase{"/v1/chat/completions", nullptr, kOperatorKey, 0},
                      KeyCase{"/api/chat", "Bearer wrong-key-0123456789", kClientKey, 0},  // X-API-Key first
                      KeyCase{"/ping", nullptr, nullptr, 0}, KeyCase{"/ready", "Bearer wrong", nullptr, 0},
                      KeyCase{"/nope", nullptr, nullptr, 0}));  // not the API: the router's 404

TEST_F(AccessTest, MissingAndWrongKeyGetTheSameAnswer) {
  AccessPolicy policy = Policy("open");
  for (const char* path : {"/api/chat", "/v1/models"}) {
    Request missing = Req("POST", path), wrong = WithBearer(Req("POST", path), "wrong-key-0123456789");
    std::optional<Response> a = CheckAccess(&missing, policy), b = CheckAccess(&wrong, policy);
    ASSERT_TRUE(a && b) << path;
    EXPECT_EQ(a->status, 401);
    EXPECT_EQ(a->body, b->body) << "nothing says which part was wrong";
    EXPECT_EQ(a->headers, b->headers);
    EXPECT_EQ(HeaderOf(*a, "WWW-Authenticate"), "Bearer realm=\"folio\"");
    auto body = nlohmann::json::parse(a->body);
    EXPECT_EQ(body["error"]["code"], "unauthorized");
    EXPECT_TRUE(body["error"]["message"].is_string());
    EXPECT_EQ(body["request_id"], "rid-access");
  }
  // /v1/* speaks OpenAI's error format (a superset of folio's).
  Request v1 = Req("GET", "/v1/models");
  EXPECT_EQ(nlohmann::json::parse(CheckAccess(&v1, policy)->body)["error"]["type"], "authentication_error");
}

TEST_F(AccessTest, AcceptedKeyBecomesDigestIdentityNeverTheKey) {
  AccessPolicy policy = Policy("open");
  Request r = WithBearer(Req("POST", "/api/chat"), kClientKey);
  ASSERT_FALSE(CheckAccess(&r, policy).has_value());
  KeyIdentity id = IdentityOf(Sha256(kClientKey));
  EXPECT_EQ(r.client_id, id.client_id);
  EXPECT_EQ(r.key_tag, id.tag);
  EXPECT_EQ(ClientIdOf(r), id.client_id) << "limits count the same digest";
  EXPECT_EQ(r.client_id.find(kClientKey), std::string::npos);
  // A key no check verified names nobody: the address does.
  EXPECT_EQ(ClientIdOf(WithApiKey(Req("POST", "/api/chat", "192.0.2.9"), kClientKey)), "ip:192.0.2.9");
  EXPECT_EQ(ClientIdOf(Req("POST", "/api/chat", "192.0.2.9")), "ip:192.0.2.9");
}

// Without a key file anyone may send any key: a new made-up key per request
// must not buy a new per-client budget.
TEST_F(AccessTest, WithoutKeyFileAnyPresentedKeyCountsAsTheAddress) {
  AccessPolicy policy = Policy("open", /*keys=*/false);
  for (const char* key : {"made-up-key-0000000001", "made-up-key-0000000002"}) {
    Request r = WithApiKey(Req("POST", "/api/chat", "192.0.2.7"), key);
    ASSERT_FALSE(CheckAccess(&r, policy).has_value());
    EXPECT_EQ(ClientIdOf(r), "ip:192.0.2.7") << key;
    EXPECT_EQ(r.client_id.find(key), std::string::npos);
  }
}

TEST_F(AccessTest, OperatorModeNeedsAnOperatorKey) {
  AccessPolicy policy = Policy("operator");
  for (const char* path : {"/metrics", "/api/cache/stats", "/api/health/scaling"}) {
    Request none = Req("GET", path, "127.0.0.1"), client = WithApiKey(Req("GET", path), kClientKey),
            ops = WithApiKey(Req("GET", path), kOperatorKey), wrong = WithApiKey(Req("GET", path), "nope-0123456789abc");
    std::optional<Response> a = CheckAccess(&none, policy);
    ASSERT_TRUE(a.has_value()) << path << ": loopback is no exemption in operator mode";
    EXPECT_EQ(a->status, 401) << path;
    EXPECT_EQ(CheckAccess(&wrong, policy)->status, 401) << path;
    std::optional<Response> c = CheckAccess(&client, policy);
    ASSERT_TRUE(c.has_value()) << path;
    EXPECT_EQ(c->status, 403) << path;
    EXPECT_EQ(nlohmann::json::parse(c->body)["error"]["code"], "operator_only");
    EXPECT_FALSE(CheckAccess(&ops, policy).has_value()) << path;
  }
}

TEST_F(AccessTest, HealthGivesOthersItsStatusOnly) {
  AccessPolicy policy = Policy("operator");
  Request anonymous = Req("GET", "/api/health"), ops = WithBearer(Req("GET", "/api/health"), kOperatorKey);
  EXPECT_FALSE(CheckAccess(&anonymous, policy).has_value());
  EXPECT_FALSE(anonymous.operator_view);
  EXPECT_FALSE(CheckAccess(&ops, policy).has_value());
  EXPECT_TRUE(ops.operator_view);

  test::TestApp app;
  Response summary = HandleHealth(anonymous, app.app()), full = HandleHealth(ops, app.app());
  auto s = nlohmann::json::parse(summary.body), f = nlohmann::json::parse(full.body);
  EXPECT_EQ(s["status"], f["status"]);
  EXPECT_EQ(summary.status, full.status);
  EXPECT_FALSE(s.contains("checks")) << summary.body;
  EXPECT_FALSE(s.contains("pid"));
  EXPECT_FALSE(s.contains("version"));
  EXPECT_TRUE(f.contains("checks"));
  EXPECT_EQ(f["checks"]["access"]["api_keys"], "off") << "the TestApp has no key file";
}

TEST_F(AccessTest, LoopbackModeTrustsOnlyTheAddressNginxSaw) {
  AccessPolicy policy = Policy("loopback", /*keys=*/false);
  for (const char* addr : {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"}) {
    Request r = Req("GET", "/metrics", addr);
    EXPECT_FALSE(CheckAccess(&r, policy).has_value()) << addr;
  }
  for (const char* addr : {"192.0.2.7", "10.0.0.1", "::ffff:10.0.0.1", "", "1127.0.0.1", "::2"}) {
    Request r = Req("GET", "/metrics", addr);
    std::optional<Response> refused = CheckAccess(&r, policy);
    ASSERT_TRUE(refused.has_value()) << addr;
    EXPECT_EQ(refused->status, 403) << addr;
  }
  Request health = Req("GET", "/api/health", "192.0.2.7");
  EXPECT_FALSE(CheckAccess(&health, policy).has_value());
  EXPECT_FALSE(health.operator_view);
}

TEST_F(AccessTest, PreflightIsAnsweredBeforeAnyKeyIsAskedFor) {
  AccessPolicy policy = Policy("operator", true, "https://app.example.com");
  Request listed = Req("OPTIONS", "/api/chat");
  listed.origin = "https://app.example.com";
  std::optional<Response> ok = CheckAccess(&listed, policy);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 204);
  EXPECT_EQ(HeaderOf(*ok, "Access-Control-Allow-Methods"), "GET, POST, DELETE, OPTIONS");
  AddCorsHeaders(listed, policy, &*ok);
  EXPECT_EQ(HeaderOf(*ok, "Access-Control-Allow-Origin"), "https://app.example.com");

  Request unlisted = Req("OPTIONS", "/v1/chat/completions");
  unlisted.origin = "https://evil.example";
  std::optional<Response> no = CheckAccess(&unlisted, policy);
  ASSERT_TRUE(no.has_value());
  EXPECT_EQ(no->status, 403);
  AddCorsHeaders(unlisted, policy, &*no);
  for (const auto& [name, value] : no->headers) {
    EXPECT_NE(name.rfind("Access-Control-", 0), 0u) << name;
    EXPECT_EQ(value.find("evil"), std::string::npos) << name;
  }
  EXPECT_EQ(no->body.find("evil"), std::string::npos);
}

TEST_F(AccessTest, OptionsWithoutCorsIsForTheRouter) {
  Request r = Req("OPTIONS", "/api/chat");
  r.origin = "https://app.example.com";
  AccessPolicy no_cors = Policy("open", /*keys=*/false);
  EXPECT_FALSE(CheckAccess(&r, no_cors).has_value()) << "the router answers 405";
}

TEST_F(AccessTest, LockedPolicyRefusesTheApiAndKeepsProbes) {
  AccessPolicy locked = AccessPolicy::Locked();
  Request chat = Req("POST", "/api/chat"), ping = Req("GET", "/ping"), metrics = Req("GET", "/metrics"),
          local_metrics = Req("GET", "/metrics", "127.0.0.1");
  std::optional<Response> refused = CheckAccess(&chat, locked);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 503);
  EXPECT_FALSE(CheckAccess(&ping, locked).has_value());
  EXPECT_TRUE(CheckAccess(&metrics, locked).has_value());
  EXPECT_FALSE(CheckAccess(&local_metrics, locked).has_value());
}

TEST_F(AccessTest, ConfigRefusesWhatCouldNeverWork) {
  auto problems_of = [&](const std::map<std::string, std::string>& env) {
    std::vector<std::string> problems;
    (void)Config::Load(&problems, [&](const char* name) -> const char* {
      auto it = env.find(name);
      return it == env.end() ? nullptr : it->second.c_str();
    });
    std::string all;
    for (const auto& p : problems) all += p + "\n";
    return all;
  };
  EXPECT_EQ(problems_of({{"API_KEYS_FILE", keys_file_}, {"OPERATOR_ACCESS", "operator"}}), "");
  EXPECT_NE(problems_of({{"API_KEYS_FILE", dir_.path("missing")}}).find("API_KEYS_FILE: "), std::string::npos);
  EXPECT_NE(problems_of({{"OPERATOR_ACCESS", "operator"}}).find("OPERATOR_ACCESS: "), std::string::npos);
  std::ofstream(dir_.path("clients.txt")) << ApiKeyFileLine(kClientKey) << "\n";
  EXPECT_NE(problems_of({{"API_KEYS_FILE", dir_.path("clients.txt")}, {"OPERATOR_ACCESS", "operator"}}).find("marked operator"),
            std::string::npos);
  EXPECT_NE(problems_of({{"CORS_ORIGINS", "https://a.example/"}}).find("CORS_ORIGINS: "), std::string::npos);
  std::ofstream(dir_.path("plain.txt")) << kClientKey << "\n";
  std::string plain = problems_of({{"API_KEYS_FILE", dir_.path("plain.txt")}});
  EXPECT_NE(plain.find("line 1"), std::string::npos) << plain;
  EXPECT_EQ(plain.find(kClientKey), std::string::npos) << "a key pasted by mistake never reaches a log";
}

}  // namespace
}  // namespace folio
