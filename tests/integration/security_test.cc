// security_test.cc: folio's security promises through the real stack —
// API keys (401s that never say which part was wrong, Bearer and X-API-Key,
// rotation without a restart, a broken key file failing closed), operator
// endpoints, CORS (listed, unlisted, preflight, nginx's own errors),
// server-issued session ids, secrets and keys in no log or answer, and
// nginx's surface (no version, no listing, methods per location, TLS 1.2+
// only, checked with `openssl s_client`).
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "api_keys.h"
#include "mock_llm.h"
#include "poll_until.h"
#include "stack_suite.h"

namespace folio::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr char kClientKey[] = "fk-client-3b1f9c2a7d6e4b0f8a5c";
constexpr char kOperatorKey[] = "fk-operator-5e2d8b7c1a9f4e3d6b0a";
constexpr char kRetiredKey[] = "fk-retired-9a8b7c6d5e4f3a2b1c0d";  // rotated out by a test
constexpr char kNewKey[] = "fk-rotated-in-0f1e2d3c4b5a69788796";   // rotated in by it
constexpr char kWrongKey[] = "fk-wrong-000000000000000000000000";
constexpr char kLlmKey[] = "sk-upstream-secret-4242424242424242";  // the provider rejects it
constexpr char kOrigin[] = "https://app.example.com";
constexpr char kEvilOrigin[] = "https://app.example.com.evil.example";
// Well-formed (22 base64url characters, no stray bits) but never issued.
constexpr char kMadeUpSession[] = "q0Zx9-madeUpSessionIdQ";

HttpOptions With(std::map<std::string, std::string> headers) { return {std::move(headers), milliseconds(15000)}; }
HttpOptions Bearer(const std::string& key, std::map<std::string, std::string> more = {}) {
  more["Authorization"] = "Bearer " + key;
  return With(std::move(more));
}
HttpOptions XApiKey(const std::string& key, std::map<std::string, std::string> more = {}) {
  more["X-API-Key"] = key;
  return With(std::move(more));
}

std::string KeysFile(const std::vector<std::pair<std::string, KeyRole>>& keys) {
  std::string text = "# folio API keys (security_test)\n";
  for (const auto& [key, role] : keys) text += ApiKeyFileLine(key, role) + "\n";
  return text;
}

void WriteAtomically(const std::string& path, const std::string& text) {
  std::ofstream(path + ".tmp", std::ios::trunc) << text;
  fs::rename(path + ".tmp", path);
}

// Every Access-Control-* header of a raw response.
std::vector<std::string> AccessControlHeaders(const HttpResponse& r) {
  std::vector<std::string> out;
  for (const auto& [name, value] : r.headers)
    if (name.rfind("access-control-", 0) == 0) out.push_back(name + ": " + value);
  return out;
}

bool RawHasHeaderLine(const HttpResponse& r, const std::string& line) {
  std::string head = r.raw.substr(0, r.raw.find("\r\n\r\n") + 2);  // each line ends in CRLF
  std::string lower;
  for (char c : head) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string want;
  for (char c : line) want += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("\r\n" + want + "\r\n") != std::string::npos;
}

std::string ReadWhole(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return "\n==> " + path.string() + "\n" + ss.str();
}

// `path` if it is a file, else every file below it, each after its name.
std::string EveryFileUnder(const std::string& path) {
  if (fs::is_regular_file(path)) return ReadWhole(path);
  std::string all;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(path, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file()) all += ReadWhole(it->path());
  }
  return all;
}

void ExpectJsonError(const HttpResponse& r, int status, const std::string& code) {
  EXPECT_EQ(r.status, status) << r.raw.substr(0, 500);
  auto body = r.Json();
  ASSERT_TRUE(body.is_object()) << r.body.substr(0, 300);
  EXPECT_EQ(body["error"]["code"], code) << r.body;
  EXPECT_TRUE(body["error"]["message"].is_string());
  EXPECT_EQ(body["request_id"], r.Header("x-request-id"));
  EXPECT_NE(r.Header("content-type").find("application/json"), std::string::npos);
}

// The error body without its request id, to compare two answers.
nlohmann::json WithoutRequestId(const HttpResponse& r) {
  nlohmann::json body = r.Json();
  if (body.is_object()) body.erase("request_id");
  return body;
}

class SecurityTest : public StackSuite {
 protected:
  static void SetUpTestSuite() {
    keys_dir_ = new TempDir("folio-sec");
    WriteAtomically(KeysPath(), InitialKeys());
    // OPERATOR_ACCESS is left at its default: with API_KEYS_FILE set, that
    // is "operator" (what every operator test below relies on).
    StartStack({{"API_KEYS_FILE", KeysPath()},
                {"CORS_ORIGINS", std::string(kOrigin) + ", http://localhost:5173"},
                {"OPENAI_API_KEY", kLlmKey},
                {"LLM_RETRIES", "0"},
                {"REQUEST_TIMEOUT_S", "5"},
                {"RATE_LIMIT_RPS", "10000"},
                {"RATE_LIMIT_BURST", "10000"}},
               WithMock([](MockLlm& mock) { mock.RequireApiKey("sk-the-only-key-the-provider-takes"); }));
  }
  static void TearDownTestSuite() {
    StackSuite::TearDownTestSuite();
    delete keys_dir_;
    keys_dir_ = nullptr;
  }

  static std::string KeysPath() { return keys_dir_->path("api_keys.txt"); }
  static std::string InitialKeys() {
    return KeysFile({{kClientKey, KeyRole::kClient}, {kOperatorKey, KeyRole::kOperator}, {kRetiredKey, KeyRole::kClient}});
  }
  // Seconds until `done` held (asked every 50 ms), or -1 if not within `deadline`.
  static double Within(const std::function<bool()>& done, milliseconds deadline) {
    const auto start = Clock::now();
    if (!PollUntil(done, deadline, milliseconds(50))) return -1;
    return std::chrono::duration<double>(Clock::now() - start).count();
  }

  static inline TempDir* keys_dir_ = nullptr;  // the API_KEYS_FILE's, rewritten by the rotation tests
};

// ------------------------------------------------------------------ keys

TEST_F(SecurityTest, ApiWithoutAKeyIs401WithBearerChallenge) {
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "/api/chat"}, {"GET", "/v1/models"}, {"POST", "/v1/chat/completions"}, {"POST", "/api/search"},
           {"GET", std::string("/api/sessions/") + kMadeUpSession}, {"GET", "/api/no-such-route"}}) {
    HttpResponse r = Http(stack_->port(), method, path, method == "POST" ? R"({"message":"hi"})" : "", With({}));
    ExpectJsonError(r, 401, "unauthorized");
    EXPECT_EQ(r.Header("www-authenticate"), "Bearer realm=\"folio\"") << path;
  }
}

TEST_F(SecurityTest, WrongKeyGetsExactlyTheAnswerOfNoKey) {
  for (const std::string path : {"/api/chat", "/v1/models"}) {
    const std::string method = path == "/api/chat" ? "POST" : "GET", body = R"({"message":"hi"})";
    HttpResponse none = Http(stack_->port(), method, path, body, With({}));
    HttpResponse bearer = Http(stack_->port(), method, path, body, Bearer(kWrongKey));
    HttpResponse header = Http(stack_->port(), method, path, body, XApiKey(kWrongKey));
    HttpResponse basic = Http(stack_->port(), method, path, body, With({{"Authorization", "Basic Zm9vOmJhcg=="}}));
    for (const HttpResponse* r : {&bearer, &header, &basic}) {
      EXPECT_EQ(r->status, 401) << path;
      EXPECT_EQ(WithoutRequestId(*r), WithoutRequestId(none)) << path << ": " << r->body;
      EXPECT_EQ(r->Header("www-authenticate"), none.Header("www-authenticate"));
      EXPECT_EQ(r->body.size() - r->Header("x-request-id").size(), none.body.size() - none.Header("x-request-id").size());
    }
  }
}

TEST_F(SecurityTest, RightKeyViaBearerOrXApiKeyIsServed) {
  for (const HttpOptions& auth : {Bearer(kClientKey), XApiKey(kClientKey), Bearer(kOperatorKey)}) {
    HttpResponse models = stack_->Get("/v1/models", auth);
    EXPECT_EQ(models.status, 200) << models.body;
    HttpResponse search = stack_->Post("/api/search", R"({"query":"Tollgate","k":2})", auth);
    EXPECT_EQ(search.status, 200) << search.body;
  }
  HttpResponse chat = stack_->Post("/api/chat", R"({"message":"What is Tollgate?"})", XApiKey(kClientKey));
  ASSERT_EQ(chat.status, 200) << chat.body;
  EXPECT_EQ(chat.Json()["degraded"], true) << "the provider refuses the configured key";
  HttpResponse lower = stack_->Get("/v1/models", With({{"Authorization", std::string("bearer  ") + kClientKey}}));
  EXPECT_EQ(lower.status, 200) << "the scheme is case-insensitive";
}

TEST_F(SecurityTest, ProbesNeedNoKey) {
  EXPECT_EQ(stack_->Get("/ping").status, 200);
  EXPECT_EQ(stack_->Get("/ready").status, 200);
  EXPECT_EQ(stack_->Get("/ping", Bearer(kWrongKey)).status, 200) << "a wrong key does not break a probe";
}

TEST_F(SecurityTest, OperatorEndpointsNeedAnOperatorKey) {
  for (const char* path : {"/metrics", "/api/cache/stats", "/api/health/scaling"}) {
    HttpResponse none = stack_->Get(path), wrong = stack_->Get(path, Bearer(kWrongKey));
    ExpectJsonError(none, 401, "unauthorized");
    EXPECT_EQ(WithoutRequestId(wrong), WithoutRequestId(none)) << path;
    ExpectJsonError(stack_->Get(path, XApiKey(kClientKey)), 403, "operator_only");
    HttpResponse ops = stack_->Get(path, Bearer(kOperatorKey));
    EXPECT_EQ(ops.status, 200) << path << " " << ops.body.substr(0, 200);
  }
}

TEST_F(SecurityTest, HealthShowsItsDetailsToOperatorsOnly) {
  for (const HttpOptions& who : {With({}), Bearer(kWrongKey), XApiKey(kClientKey)}) {
    HttpResponse r = stack_->Get("/api/health", who);
    ASSERT_EQ(r.status, 200) << r.body;
    auto body = r.Json();
    EXPECT_TRUE(body["status"].is_string());
    EXPECT_FALSE(body.contains("checks")) << r.body;
    EXPECT_FALSE(body.contains("pid")) << r.body;
  }
  HttpResponse ops = stack_->Get("/api/health", Bearer(kOperatorKey));
  ASSERT_EQ(ops.status, 200);
  auto access = ops.Json()["checks"]["access"];
  EXPECT_EQ(access["status"], "ok") << access;
  EXPECT_EQ(access["api_keys"], 3);
  EXPECT_EQ(access["operator_keys"], 1);
  EXPECT_EQ(access["operator_access"], "operator");
}

// ------------------------------------------------------------------ CORS

TEST_F(SecurityTest, ListedOriginGetsItselfBackWithVary) {
  HttpResponse r = stack_->Get("/v1/models", Bearer(kClientKey, {{"Origin", kOrigin}}));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("access-control-allow-origin"), kOrigin);
  EXPECT_TRUE(RawHasHeaderLine(r, "Vary: Origin")) << r.raw.substr(0, 800);
  EXPECT_NE(r.Header("access-control-expose-headers").find("X-Request-ID"), std::string::npos);
  EXPECT_EQ(r.Header("access-control-allow-credentials"), "");
  // A 401 is readable by that page too.
  HttpResponse denied = stack_->Get("/v1/models", With({{"Origin", kOrigin}}));
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(denied.Header("access-control-allow-origin"), kOrigin);
}

TEST_F(SecurityTest, UnlistedOriginGetsNoAccessControlHeaderAndNothingReflected) {
  for (const char* origin : {kEvilOrigin, "https://evil.example", "null", "http://app.example.com"}) {
    for (const HttpResponse& r : {stack_->Get("/v1/models", Bearer(kClientKey, {{"Origin", origin}})),
                                  stack_->Get("/v1/models", With({{"Origin", origin}})),
                                  stack_->Get("/ping", With({{"Origin", origin}}))}) {
      EXPECT_TRUE(AccessControlHeaders(r).empty()) << origin << ": " << AccessControlHeaders(r).front();
      EXPECT_EQ(r.raw.find(origin == std::string("null") ? "\r\nnull" : origin), std::string::npos) << r.raw;
    }
  }
}

TEST_F(SecurityTest, PreflightFromListedOriginIs204WithoutAKey) {
  for (const char* path : {"/api/chat", "/v1/chat/completions", "/api/sessions/abc"}) {
    HttpResponse r = Http(stack_->port(), "OPTIONS", path, "",
                          With({{"Origin", "http://localhost:5173"},
                                {"Access-Control-Request-Method", "POST"},
                                {"Access-Control-Request-Headers", "authorization, content-type"}}));
    EXPECT_EQ(r.status, 204) << path << " " << r.raw.substr(0, 500);
    EXPECT_EQ(r.Header("access-control-allow-origin"), "http://localhost:5173");
    EXPECT_EQ(r.Header("access-control-allow-methods"), "GET, POST, DELETE, OPTIONS");
    std::string allowed = r.Header("access-control-allow-headers");
    for (const char* h : {"Content-Type", "Authorization", "X-API-Key", "X-Request-ID"})
      EXPECT_NE(allowed.find(h), std::string::npos) << h;
    EXPECT_EQ(r.Header("access-control-max-age"), "600");
    EXPECT_TRUE(RawHasHeaderLine(r, "Vary: Origin"));
  }
}

TEST_F(SecurityTest, PreflightFromUnlistedOriginIs403WithoutAccessControlHeaders) {
  HttpResponse r = Http(stack_->port(), "OPTIONS", "/api/chat", "",
                        With({{"Origin", kEvilOrigin}, {"Access-Control-Request-Method", "POST"}}));
  ExpectJsonError(r, 403, "cors_origin_not_allowed");
  EXPECT_TRUE(AccessControlHeaders(r).empty());
  EXPECT_EQ(r.raw.find(kEvilOrigin), std::string::npos);
}

TEST_F(SecurityTest, NginxOwnErrorsCarryCorsForListedOriginsOnly) {
  const std::string big(20 * 1024, 'x');
  HttpResponse listed = stack_->Post("/api/chat", big, Bearer(kClientKey, {{"Origin", kOrigin}}));
  ExpectJsonError(listed, 413, "payload_too_large");
  EXPECT_EQ(listed.Header("access-control-allow-origin"), kOrigin);
  EXPECT_TRUE(RawHasHeaderLine(listed, "Vary: Origin")) << listed.raw.substr(0, 900);
  HttpResponse unlisted = stack_->Post("/api/chat", big, Bearer(kClientKey, {{"Origin", kEvilOrigin}}));
  EXPECT_EQ(unlisted.status, 413);
  EXPECT_TRUE(AccessControlHeaders(unlisted).empty());
  HttpResponse method = Http(stack_->port(), "PUT", "/api/chat", "", With({{"Origin", kOrigin}}));
  EXPECT_EQ(method.status, 405);
  EXPECT_EQ(method.Header("access-control-allow-origin"), kOrigin);
}

// ---------------------------------------------------------------- sessions

TEST_F(SecurityTest, MadeUpSessionIdIsNotFoundAndNeverCreated) {
  const std::string path = std::string("/api/sessions/") + kMadeUpSession;
  ExpectJsonError(stack_->Get(path, Bearer(kClientKey)), 404, "session_not_found");
  HttpResponse chat = stack_->Post(
      "/api/chat", nlohmann::json({{"message", "continue please"}, {"session_id", kMadeUpSession}}).dump(),
      Bearer(kClientKey));
  EXPECT_EQ(chat.status, 404) << chat.body;
  ExpectJsonError(stack_->Get(path, Bearer(kClientKey)), 404, "session_not_found");
  HttpResponse del = Http(stack_->port(), "DELETE", path, "", Bearer(kClientKey));
  EXPECT_EQ(del.status, 404) << del.body;
  // The server issues ids itself: a new chat gets a fresh one.
  HttpResponse fresh = stack_->Post("/api/chat", R"({"message":"Hello there, who is Maya?"})", Bearer(kClientKey));
  ASSERT_EQ(fresh.status, 200) << fresh.body;
  EXPECT_NE(fresh.Json()["session_id"], kMadeUpSession);
}

// nginx's error log ends its lines with the whole request line: a refusal
// or an upstream failure on a session's path must not write the id there.
TEST(SessionIdLogTest, NoLogHoldsAFullSessionIdEvenWhenNginxFails) {
  std::string error;
  auto stack = TestStack::Start({{"RATE_LIMIT_RPS", "1"}, {"RATE_LIMIT_BURST", "1"}}, &error);
  ASSERT_NE(stack, nullptr) << error;
  HttpResponse chat = stack->Post("/api/chat", R"({"message":"Which databases has Maya used?"})");
  ASSERT_EQ(chat.status, 200) << chat.body;
  const std::string id = chat.Json()["session_id"];
  const std::string path = "/api/sessions/" + id;
  int refused = 0;
  for (int i = 0; i < 5; ++i) refused += stack->Get(path).status == 429;
  EXPECT_GE(refused, 3) << "nginx's rate limit refused the session reads";
  // Every worker stopped: nginx cannot connect (502), and logs why.
  std::string out;
  ASSERT_EQ(stack->Supervisorctl("stop folio-worker:*", &out), 0) << out;
  HttpResponse gone;
  for (int i = 0; i < 20 && gone.status != 502; ++i) {
    std::this_thread::sleep_for(milliseconds(1100));  // past the rate limit's one request a second
    gone = stack->Get(path);
  }
  EXPECT_EQ(gone.status, 502) << gone.raw;
  ASSERT_TRUE(stack->WaitForLog("nginx-access.log", "\"status\":502", seconds(5)));
  // nginx did log an upstream failure (on another path) where it would have.
  HttpResponse health;
  for (int i = 0; i < 10 && health.status != 502; ++i) {
    std::this_thread::sleep_for(milliseconds(1100));  // the rate limit again
    health = stack->Get("/api/health");
  }
  EXPECT_EQ(health.status, 502) << health.raw;
  ASSERT_TRUE(stack->WaitForLog("nginx-error.log", "connect() to unix:", seconds(5)))
      << stack->ReadLog("nginx-error.log");
  const std::string logs = EveryFileUnder(stack->log_dir());
  EXPECT_EQ(logs.find(id), std::string::npos) << "a full session id is in a log";
  EXPECT_NE(logs.find("/api/sessions/" + id.substr(0, 6)), std::string::npos);
}

TEST_F(SecurityTest, SessionIdsAppearInLogsTruncated) {
  HttpResponse chat = stack_->Post("/api/chat", R"({"message":"Which databases has Maya used?"})", Bearer(kClientKey));
  ASSERT_EQ(chat.status, 200) << chat.body;
  const std::string id = chat.Json()["session_id"];
  const std::string marker = "sess-log-check-" + id.substr(0, 4);
  HttpResponse read = stack_->Get("/api/sessions/" + id, Bearer(kClientKey, {{"X-Request-ID", marker}}));
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(read.Header("cache-control"), "no-store") << "a conversation is kept by no cache";
  ASSERT_TRUE(stack_->WaitForLog("nginx-access.log", marker, seconds(5)));
  ASSERT_TRUE(stack_->WaitForWorkerLog(marker, seconds(5)));
  std::string logs = EveryFileUnder(stack_->log_dir());
  EXPECT_EQ(logs.find(id), std::string::npos) << "a full session id is in a log";
  EXPECT_NE(logs.find("/api/sessions/" + id.substr(0, 6)), std::string::npos) << "but its first 6 characters are";
}

// ------------------------------------------------------------ secrets, logs

TEST_F(SecurityTest, NoKeyOrSecretInAnyAnswerOrLog) {
  // Every kind of key, in every header, on every kind of route.
  std::vector<HttpResponse> answers;
  for (const char* key : {kClientKey, kOperatorKey, kWrongKey}) {
    for (const HttpOptions& auth : {Bearer(key), XApiKey(key)}) {
      answers.push_back(stack_->Post("/api/chat", R"({"message":"What is Tollgate?"})", auth));
      answers.push_back(stack_->Get("/v1/models", auth));
      answers.push_back(stack_->Get("/api/health", auth));
      answers.push_back(stack_->Get("/metrics", auth));
      answers.push_back(stack_->Get("/api/cache/stats", auth));
      answers.push_back(stack_->Get("/api/health/scaling", auth));
      answers.push_back(stack_->Get("/nope", auth));
    }
  }
  const std::string marker = "secret-scan-marker-01";
  ASSERT_EQ(stack_->Get("/v1/models", Bearer(kClientKey, {{"X-Request-ID", marker}})).status, 200);
  ASSERT_TRUE(stack_->WaitForWorkerLog(marker, seconds(5)));
  ASSERT_TRUE(stack_->WaitForLog("nginx-access.log", marker, seconds(5)));
  std::string logs = EveryFileUnder(stack_->log_dir()) + EveryFileUnder(stack_->run_dir() + "/nginx") +
                     EveryFileUnder(stack_->dir() + "/start.log");
  ASSERT_NE(logs.find("\"event\":\"worker_start\""), std::string::npos) << "the config log is in there";
  for (const char* secret : {kClientKey, kOperatorKey, kWrongKey, kLlmKey}) {
    EXPECT_EQ(logs.find(secret), std::string::npos) << secret << " is in a log or rendered file";
    for (const HttpResponse& a : answers) EXPECT_EQ(a.raw.find(secret), std::string::npos) << secret << " in " << a.raw;
    // Nor the file's digests of them beyond the 4-digit tag.
    EXPECT_EQ(logs.find(HexOf(Sha256(secret)).substr(0, 16)), std::string::npos) << secret;
  }
  // Which key made a request is still visible: by the tag of its digest.
  EXPECT_NE(logs.find("\"key\":\"" + HexOf(Sha256(kClientKey)).substr(0, 4) + "\""), std::string::npos);
  // The upstream key: masked in the start-up config, never in health or metrics.
  HttpResponse health = stack_->Get("/api/health", Bearer(kOperatorKey));
  EXPECT_EQ(health.Json()["checks"]["llm"]["key"], "rejected") << health.body;
  EXPECT_NE(logs.find("\"OPENAI_API_KEY\":\"<set, " + std::to_string(std::strlen(kLlmKey)) + " chars>\""),
            std::string::npos);
}

// --------------------------------------------------------------- rotation

TEST_F(SecurityTest, RotatedKeysTakeEffectWithinTwoSecondsWithoutRestart) {
  std::vector<pid_t> workers = stack_->WorkerPids();
  ASSERT_EQ(stack_->Get("/v1/models", Bearer(kRetiredKey)).status, 200);
  ASSERT_EQ(stack_->Get("/v1/models", Bearer(kNewKey)).status, 401);
  WriteAtomically(KeysPath(), KeysFile({{kClientKey, KeyRole::kClient},
                                         {kOperatorKey, KeyRole::kOperator},
                                         {kNewKey, KeyRole::kClient}}));
  // Every worker must have switched: several requests in a row must agree.
  auto switched = [] {
    for (int i = 0; i < 6; ++i)
      if (stack_->Get("/v1/models", Bearer(kNewKey)).status != 200 ||
          stack_->Get("/v1/models", Bearer(kRetiredKey)).status != 401)
        return false;
    return true;
  };
  double took = Within(switched, seconds(5));
  EXPECT_GE(took, 0) << "rotation never took effect";
  EXPECT_LT(took, 2.5) << "took " << took << " s";
  EXPECT_EQ(stack_->Get("/v1/models", Bearer(kClientKey)).status, 200) << "untouched keys keep working";
  EXPECT_EQ(stack_->WorkerPids(), workers) << "no restart";
}

TEST_F(SecurityTest, BrokenKeyFileFailsClosedUntilFixed) {
  ASSERT_EQ(stack_->Get("/v1/models", Bearer(kClientKey)).status, 200);
  // An operator pastes a plain key instead of its hash.
  WriteAtomically(KeysPath(), ApiKeyFileLine(kClientKey) + "\n" + kNewKey + "\n");
  auto all_refused = [] {
    for (int i = 0; i < 6; ++i)
      if (stack_->Get("/v1/models", Bearer(kClientKey)).status != 401) return false;
    return true;
  };
  EXPECT_GE(Within(all_refused, seconds(5)), 0) << "a half-valid file must admit nobody";
  EXPECT_TRUE(stack_->WaitForWorkerLog("\"event\":\"api_keys_invalid\"", seconds(5)));
  EXPECT_EQ(EveryFileUnder(stack_->log_dir()).find(kNewKey), std::string::npos) << "the pasted key is not logged";
  WriteAtomically(KeysPath(), InitialKeys());
  auto all_served = [] {
    for (int i = 0; i < 6; ++i)
      if (stack_->Get("/v1/models", Bearer(kClientKey)).status != 200) return false;
    return true;
  };
  EXPECT_GE(Within(all_served, seconds(5)), 0);
}

// ------------------------------------------------------------------ nginx

TEST_F(SecurityTest, ServerHeaderNamesNoVersion) {
  for (const HttpResponse& r : {stack_->Get("/ping"), stack_->Get("/nope"), stack_->Post("/api/chat", std::string(20000, 'x')),
                                Http(stack_->port(), "TRACE", "/ping")}) {
    EXPECT_EQ(r.Header("server"), "nginx") << r.raw.substr(0, 300);
    EXPECT_FALSE(std::regex_search(r.body, std::regex(R"(nginx/\d)"))) << r.body;
  }
  std::string out;
  ASSERT_EQ(RunCommand("curl -sk -D - -o /dev/null https://127.0.0.1:" + std::to_string(stack_->tls_port()) + "/nope", &out),
            0)
      << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("\\r\\nserver: nginx\\r\\n", std::regex::icase))) << out;
}

TEST_F(SecurityTest, NoDirectoryIsEverListed) {
  for (const char* path : {"/nginx/", "/static/", "/run/", "/.well-known/", "/logs/", "/data/", "/assets/",
                           "/assets/0123456789ab/", "/web/"}) {
    HttpResponse r = stack_->Get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_TRUE(r.Json().contains("error")) << path << " " << r.body.substr(0, 200);
    EXPECT_EQ(r.body.find("Index of"), std::string::npos) << path;
  }
}

TEST_F(SecurityTest, MethodsAreLimitedPerLocationInJson) {
  struct Case {
    const char* method;
    const char* path;
    const char* allow;
  };
  // nginx refuses TRACE before any location: the Allow of every method folio uses.
  for (const Case& c : {Case{"TRACE", "/api/chat", "GET, HEAD, POST, DELETE, OPTIONS"},
                        Case{"PUT", "/api/chat", "GET, POST, DELETE, OPTIONS"},
                        Case{"PATCH", "/api/sessions/abc", "GET, DELETE, OPTIONS"},
                        Case{"HEAD", "/api/chat", "GET, POST, DELETE, OPTIONS"},
                        Case{"PUT", "/v1/chat/completions", "GET, POST, OPTIONS"},
                        Case{"DELETE", "/v1/models", "GET, POST, OPTIONS"}, Case{"POST", "/ping", "GET, HEAD"},
                        Case{"DELETE", "/ready", "GET, HEAD"}, Case{"OPTIONS", "/ping", "GET, HEAD"},
                        Case{"POST", "/metrics", "GET"}, Case{"PROPFIND", "/x", "GET, HEAD, POST, DELETE, OPTIONS"},
                        Case{"POST", "/", "GET, HEAD"}, Case{"PUT", "/widget.js", "GET, HEAD"},
                        Case{"DELETE", "/assets/x.js", "GET, HEAD"}}) {
    HttpResponse r = Http(stack_->port(), c.method, c.path, "", Bearer(kOperatorKey));
    EXPECT_EQ(r.status, 405) << c.method << " " << c.path;
    EXPECT_EQ(r.Header("allow"), c.allow) << c.method << " " << c.path;
    if (std::string(c.method) != "HEAD") {
      EXPECT_EQ(r.Json()["error"]["code"], "method_not_allowed") << c.method << " " << c.path << " " << r.body;
    }
  }
}

// Uptime monitors probe with HEAD: the probes answer it like GET, without a body.
TEST_F(SecurityTest, ProbesAnswerHeadWithoutABody) {
  for (const char* path : {"/ping", "/ready"}) {
    HttpResponse r = Http(stack_->port(), "HEAD", path, "");
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_TRUE(r.body.empty()) << path << ": " << r.body;
    EXPECT_NE(r.Header("content-type").find("application/json"), std::string::npos) << path;
  }
}

// s_client with the client's security level lowered, so a TLS 1.0/1.1
// failure is the server's refusal, not OpenSSL 3 declining to offer it.
int SClient(int port, const std::string& version_flag, std::string* out) {
  return RunCommand("echo | timeout 10 openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " " + version_flag +
                        " -cipher 'DEFAULT:@SECLEVEL=0' -servername localhost",
                    out);
}

TEST_F(SecurityTest, TlsRefusesVersionsBelowOnePointTwo) {
  for (const char* flag : {"-tls1", "-tls1_1"}) {
    std::string out;
    int rc = SClient(stack_->tls_port(), flag, &out);
    EXPECT_NE(rc, 0) << flag << ":\n" << out;
    EXPECT_EQ(out.find("Cipher is ECDHE"), std::string::npos) << flag << ":\n" << out;
    EXPECT_TRUE(out.find("alert protocol version") != std::string::npos ||
                out.find("unsupported protocol") != std::string::npos ||
                out.find("wrong version number") != std::string::npos)
        << flag << ": refused for another reason than the version:\n" << out;
  }
}

TEST_F(SecurityTest, TlsAcceptsOnePointTwoAndOnePointThree) {
  for (const auto& [flag, protocol] : std::vector<std::pair<std::string, std::string>>{{"-tls1_2", "TLSv1.2"},
                                                                                       {"-tls1_3", "TLSv1.3"}}) {
    std::string out;
    EXPECT_EQ(SClient(stack_->tls_port(), flag, &out), 0) << flag << ":\n" << out;
    // Printed once the handshake is done (the session block may not be, for 1.3).
    EXPECT_NE(out.find("New, " + protocol + ", Cipher is "), std::string::npos) << flag << ":\n" << out;
  }
}

TEST_F(SecurityTest, ZzzNoWorkerWasRestarted) {
  EXPECT_EQ(stack_->ReadLog("supervisord.log").find("exited: folio-worker"), std::string::npos)
      << stack_->ReadLog("supervisord.log");
}

// --------------------------------------------------------- start-up checks

TEST(SecurityStartTest, InvalidKeyFileRefusesStartUpWithAClearMessage) {
  const TempDir dir("folio-sec-bad");
  const std::string keys = dir.path("keys.txt");
  std::ofstream(keys) << "# oops: a key, not its hash\n" << kClientKey << "\n";
  std::string error;
  auto stack = TestStack::Start({{"API_KEYS_FILE", keys}}, &error, seconds(10));
  EXPECT_EQ(stack, nullptr);
  EXPECT_NE(error.find("API_KEYS_FILE: " + keys + ": line 2:"), std::string::npos) << error;
  EXPECT_NE(error.find("--hash-key"), std::string::npos) << "says how to make a line";
  EXPECT_EQ(error.find(kClientKey), std::string::npos) << "never echoes the key";
}

TEST(SecurityStartTest, HashKeyPrintsTheLineForAKeyOnStdin) {
  std::string out;
  ASSERT_EQ(RunCommand(std::string("printf '%s\\n' '") + kClientKey + "' | " FOLIO_BINARY_DIR "/bin/folio-worker --hash-key",
                       &out),
            0)
      << out;
  EXPECT_EQ(out, ApiKeyFileLine(kClientKey) + "\n");
  ASSERT_EQ(RunCommand(std::string("printf '%s' '") + kOperatorKey + "' | " FOLIO_BINARY_DIR
                           "/bin/folio-worker --hash-key operator",
                       &out),
            0);
  EXPECT_EQ(out, ApiKeyFileLine(kOperatorKey, KeyRole::kOperator) + "\n");
  EXPECT_NE(RunCommand("printf 'short' | " FOLIO_BINARY_DIR "/bin/folio-worker --hash-key", &out), 0);
}

// --------------------------------------------------------------- loopback

// A local IPv4 address that is not loopback (the stack listens on 0.0.0.0,
// so a request to it arrives from that address); "" when there is none.
std::string NonLoopbackAddress() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* a = list; a && found.empty(); a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, buf, sizeof buf);
    if (std::string(buf).rfind("127.", 0) != 0) found = buf;
  }
  freeifaddrs(list);
  return found;
}

// Without API_KEYS_FILE, OPERATOR_ACCESS's default is loopback.
TEST(SecurityLoopbackTest, WithoutKeysTheDefaultServesOperatorsOnTheInstanceOnly) {
  const std::string address = NonLoopbackAddress();
  if (address.empty()) GTEST_SKIP() << "no non-loopback IPv4 address to come from";
  std::string error;
  auto stack = TestStack::Start({{"LISTEN_ADDR", "0.0.0.0"}}, &error);
  ASSERT_NE(stack, nullptr) << error;
  for (const char* path : {"/metrics", "/api/cache/stats", "/api/health/scaling"})
    EXPECT_EQ(stack->Get(path).status, 200) << path << " from 127.0.0.1";
  EXPECT_TRUE(stack->Get("/api/health").Json().contains("checks"));

  auto from_outside = [&](const std::string& path, const std::string& extra = "") {
    std::string out;
    RunCommand("curl -s -m 5 " + extra + " -w '\\n%{http_code}' http://" + address + ":" + std::to_string(stack->port()) +
                   path,
               &out);
    return out;
  };
  for (const char* path : {"/metrics", "/api/cache/stats", "/api/health/scaling"}) {
    std::string out = from_outside(path);
    EXPECT_EQ(out.substr(out.rfind('\n') + 1), "403") << path << ": " << out;
    EXPECT_NE(out.find("\"operator_only\""), std::string::npos) << out;
    // A forwarded-for header is a client's claim, never believed.
    out = from_outside(path, "-H 'X-Forwarded-For: 127.0.0.1' -H 'X-Real-IP: 127.0.0.1'");
    EXPECT_EQ(out.substr(out.rfind('\n') + 1), "403") << path << ": " << out;
  }
  std::string health = from_outside("/api/health");
  EXPECT_EQ(health.substr(health.rfind('\n') + 1), "200") << health;
  EXPECT_EQ(health.find("\"checks\""), std::string::npos) << health;
  std::string ping = from_outside("/ping");
  EXPECT_EQ(ping.substr(ping.rfind('\n') + 1), "200");
  std::string chat = from_outside("/api/search", "-X POST -H 'Content-Type: application/json' -d '{\"query\":\"Maya\"}'");
  EXPECT_EQ(chat.substr(chat.rfind('\n') + 1), "200") << "no API_KEYS_FILE: the API stays open";
}

// /ready says why it is not ready to operators only; under the default
// without keys (loopback), a visitor behind the trusted proxy is not one,
// nor is the X-Forwarded-For it sends to claim the instance's address.
TEST(ReadyReasonTest, OnlyOperatorsLearnWhyTheInstanceIsNotReady) {
  const TempDir dir("folio-ready");
  const std::string index_dir = dir.path("index");
  fs::create_directories(index_dir);
  std::ofstream(index_dir + "/manifest.json") << "{ not a manifest";
  std::string error;
  auto stack = TestStack::Start({{"INDEX_DIR", index_dir}, {"TRUSTED_PROXIES", "127.0.0.1/32"}}, &error,
                                seconds(20), /*wait_ready=*/false);
  ASSERT_NE(stack, nullptr) << error;
  HttpResponse local = PollHttp(stack->port(), "/ready", [](const HttpResponse& r) { return r.status == 503; }, seconds(20));
  ASSERT_EQ(local.status, 503) << local.raw;
  EXPECT_TRUE(local.Json()["reason"].is_string()) << local.body;
  for (const char* claimed : {"203.0.113.9", "127.0.0.1, 203.0.113.9"}) {
    HttpResponse visitor = stack->Get("/ready", With({{"X-Forwarded-For", claimed}}));
    EXPECT_EQ(visitor.status, 503) << claimed;
    EXPECT_EQ(visitor.Json(), nlohmann::json({{"ready", false}})) << claimed << ": " << visitor.body;
    EXPECT_EQ(stack->Get("/metrics", With({{"X-Forwarded-For", claimed}})).status, 403) << claimed;
  }
  EXPECT_EQ(stack->Get("/metrics").status, 200) << "the instance itself is an operator";
}

// Who can reach folio's own files: a local process that could connect to
// the FastCGI socket would choose its REMOTE_ADDR and skip nginx; the
// shared-memory files hold every worker's state; the TLS key is secret.
TEST(LocalAccessTest, SocketStateFilesAndTlsKeyAreOnlyFoliosAndNginxs) {
  std::string error;
  auto stack = TestStack::Start({}, &error);
  ASSERT_NE(stack, nullptr) << error;
  auto mode = [](const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : -1;
  };
  const std::string run = stack->run_dir();
  EXPECT_EQ(mode(run) & 0007, 0) << "RUN_DIR is open to others: " << std::oct << mode(run);
  EXPECT_EQ(mode(run + "/folio.sock"), 0660);
  for (const char* shm : {"/metrics.shm", "/breaker.shm", "/limits.shm"}) EXPECT_EQ(mode(run + shm), 0600) << shm;
  EXPECT_EQ(mode(stack->data_dir() + "/tls/key.pem"), 0600);
  EXPECT_EQ(mode(stack->data_dir() + "/lmdb/data.mdb"), 0600);
}

}  // namespace
}  // namespace folio::test
