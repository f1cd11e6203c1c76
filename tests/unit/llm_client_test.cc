// llm_client_test.cc: LlmClient against the in-process mock LLM — answers,
// streaming, the retry policy counted in mock calls, deadlines,
// cancellation and the breaker — plus a table of hostile 200 bodies served
// verbatim by a one-connection loopback server, each an error, never a crash.
#include "llm_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "mock_llm.h"

namespace folio {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using test::MockBehaviour;
using test::MockLlm;
using Clock = std::chrono::steady_clock;

constexpr const char* kKey = "sk-test-123";

MockBehaviour WithStatus(int status, std::string retry_after = "") {
  MockBehaviour b;
  b.status = status;
  b.retry_after = std::move(retry_after);
  return b;
}

MockBehaviour Reply(std::string text, int token_delay_ms = 0) {
  MockBehaviour b;
  b.reply = std::move(text);
  b.token_delay_ms = token_delay_ms;
  return b;
}

int64_t MsSince(Clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t).count();
}

class LlmClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mock_.Start().ok());
    mock_.RequireApiKey(kKey);
    options_.base_url = mock_.base_url() + "/";  // a trailing slash is tolerated
    options_.api_key = kKey;
    options_.model = "test-model";
    options_.backoff_base = milliseconds(1);  // retries without slowing the suite
    options_.backoff_cap = milliseconds(5);
  }

  Result<LlmResult> Call(const LlmCallContext& ctx = {}, milliseconds deadline = milliseconds(5000)) {
    LlmClient client(options_);
    return client.Complete(messages_, 100, Deadline::After(deadline), ctx);
  }

  // A streaming context that records every delta.
  LlmCallContext Streaming() {
    LlmCallContext ctx;
    ctx.request_id = "req-test";
    ctx.on_delta = [this](std::string_view d) {
      deltas_.emplace_back(d);
      return true;
    };
    return ctx;
  }

  MockLlm mock_;
  LlmClientOptions options_;
  std::vector<ChatMessage> messages_ = {{"system", "Answer briefly."}, {"user", "What is folio?"}};
  std::vector<std::string> deltas_;
};

TEST_F(LlmClientTest, PlainAnswerCarriesTextUsageAndModel) {
  mock_.PushChat(Reply("Folio answers questions."));
  auto r = Call();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->text, "Folio answers questions.");
  EXPECT_EQ(r->completion_tokens, 3);
  EXPECT_GT(r->prompt_tokens, 0);
  EXPECT_FALSE(r->usage_estimated);
  EXPECT_EQ(r->attempts, 1);
  EXPECT_EQ(r->finish_reason, "stop");
  EXPECT_EQ(r->model, MockLlm::kDefaultModel);
  json sent = json::parse(mock_.LastBody("chat_completions"));
  EXPECT_EQ(sent["model"], "test-model");
  EXPECT_EQ(sent["max_tokens"], 100);
  EXPECT_EQ(sent["messages"].size(), 2u);
  EXPECT_EQ(sent["messages"][1]["content"], "What is folio?");
  EXPECT_FALSE(sent.contains("stream"));
}

TEST_F(LlmClientTest, UnconfiguredClientFailsWithoutACall) {
  options_.api_key = "";
  EXPECT_FALSE(LlmClient(options_).configured());
  auto r = Call();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().error(), "llm_not_configured");
  EXPECT_EQ(mock_.Calls("chat_completions"), 0);
}

TEST_F(LlmClientTest, StreamedDeltasArriveIncrementallyAndInOrder) {
  mock_.PushChat(Reply("one two three four", 60));
  std::vector<int64_t> at_ms;
  const auto start = Clock::now();
  LlmCallContext ctx = Streaming();
  ctx.on_delta = [&](std::string_view d) {
    deltas_.emplace_back(d);
    at_ms.push_back(MsSince(start));
    return true;
  };
  auto r = Call(ctx);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(deltas_, (std::vector<std::string>{"one ", "two ", "three ", "four"}));
  EXPECT_EQ(r->text, "one two three four");
  // Handed on as they came, not all at the end: the mock spaces them 60 ms apart.
  ASSERT_EQ(at_ms.size(), 4u);
  EXPECT_GE(at_ms.back() - at_ms.front(), 150);
  EXPECT_EQ(r->completion_tokens, 4);  // from the usage chunk
  EXPECT_FALSE(r->usage_estimated);
  EXPECT_EQ(r->finish_reason, "stop");
  json sent = json::parse(mock_.LastBody("chat_completions"));
  EXPECT_EQ(sent["stream"], true);
  EXPECT_EQ(sent["stream_options"]["include_usage"], true);
  EXPECT_EQ(mock_.StreamsCompleted(), 1);
}

TEST_F(LlmClientTest, RateLimitWithRetryAfterIsWaitedOutThenRetried) {
  mock_.PushChat(WithStatus(429, "1"));
  const auto start = Clock::now();
  auto r = Call({}, milliseconds(5000));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(mock_.Calls("chat_completions"), 2);
  EXPECT_EQ(r->attempts, 2);
  EXPECT_GE(MsSince(start), 950);
}

TEST_F(LlmClientTest, RetryAfterBeyondTheDeadlineFailsFast) {
  mock_.PushChat(WithStatus(429, "30"));
  const auto start = Clock::now();
  auto r = Call({}, milliseconds(3000));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(r.status().error(), "upstream_rate_limited");
  EXPECT_NE(r.status().message().find("retry after 30 s"), std::string::npos) << r.status().message();
  EXPECT_LT(MsSince(start), 1000);
  EXPECT_EQ(mock_.Calls("chat_completions"), 1);
}

TEST_F(LlmClientTest, ServerErrorsAreRetriedThenReported) {
  for (int status : {500, 502, 503}) {
    SCOPED_TRACE(status);
    mock_.Reset();
    mock_.RequireApiKey(kKey);
    mock_.SetChatDefault(WithStatus(status));
    auto r = Call();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kUnavailable);
    EXPECT_EQ(r.status().error(), "upstream_unavailable");
    EXPECT_EQ(mock_.Calls("chat_completions"), options_.retries + 1);
  }
}

TEST_F(LlmClientTest, ServerErrorThenSuccessIsAnAnswer) {
  mock_.PushChat(WithStatus(502));
  auto r = Call(Streaming());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->attempts, 2);
}

TEST_F(LlmClientTest, ClientErrorsAreNeverRetried) {
  for (int status : {400, 404, 422}) {
    SCOPED_TRACE(status);
    mock_.Reset();
    mock_.RequireApiKey(kKey);
    mock_.PushChat(WithStatus(status));
    auto r = Call();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().error(), "upstream_rejected");
    EXPECT_EQ(mock_.Calls("chat_completions"), 1);
  }
}

TEST_F(LlmClientTest, RejectedKeyIsNotRetriedAndMarksTheBreaker) {
  auto breaker = CircuitBreaker::InMemory();
  LlmCallContext ctx;
  ctx.breaker = breaker.get();
  options_.api_key = "sk-wrong";  // the mock answers 401
  auto r = Call(ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(r.status().error(), "upstream_auth");
  EXPECT_EQ(r.status().message().find("sk-wrong"), std::string::npos);
  EXPECT_EQ(mock_.Calls("chat_completions"), 1);
  EXPECT_TRUE(breaker->key_rejected());
  EXPECT_EQ(breaker->Snapshot(UnixMs()).consecutive_failures, 0);  // not an outage

  mock_.PushChat(WithStatus(403));
  options_.api_key = kKey;
  EXPECT_EQ(Call(ctx).status().error(), "upstream_auth");
  EXPECT_EQ(mock_.Calls("chat_completions"), 2);
  ASSERT_TRUE(Call(ctx).ok());  // a success proves the key again
  EXPECT_FALSE(breaker->key_rejected());
}

TEST_F(LlmClientTest, RetriesAreLoggedWithTheRequestIdAndNeverTheKey) {
  mock_.PushChat(WithStatus(503));
  LlmCallContext ctx;
  ctx.request_id = "req-42";
  testing::internal::CaptureStdout();
  auto ok = Call(ctx);
  options_.api_key = "sk-wrong-secret";
  auto rejected = Call(ctx);
  const std::string logs = testing::internal::GetCapturedStdout();
  ASSERT_TRUE(ok.ok());
  ASSERT_FALSE(rejected.ok());
  EXPECT_NE(logs.find("\"event\":\"llm_retry\""), std::string::npos) << logs;
  EXPECT_NE(logs.find("\"request_id\":\"req-42\""), std::string::npos) << logs;
  EXPECT_NE(logs.find("\"http_status\":503"), std::string::npos) << logs;
  EXPECT_EQ(logs.find(kKey), std::string::npos) << logs;
  EXPECT_EQ(logs.find("sk-wrong-secret"), std::string::npos) << logs;
}

TEST_F(LlmClientTest, CheckKeyTellsAcceptedFromRejected) {
  auto breaker = CircuitBreaker::InMemory();
  EXPECT_TRUE(LlmClient(options_).CheckKey(Deadline::After(milliseconds(3000)), breaker.get()).ok());
  EXPECT_EQ(mock_.Calls("models"), 1);
  options_.api_key = "sk-wrong";
  Status s = LlmClient(options_).CheckKey(Deadline::After(milliseconds(3000)), breaker.get());
  EXPECT_EQ(s.error(), "upstream_auth");
  EXPECT_TRUE(breaker->key_rejected());
}

TEST_F(LlmClientTest, MalformedJsonIsAnErrorAndNotRetried) {
  MockBehaviour b;
  b.malformed = true;
  mock_.SetChatDefault(b);
  auto r = Call();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().error(), "upstream_bad_response");
  EXPECT_EQ(mock_.Calls("chat_completions"), 1);
  auto s = Call(Streaming());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().error(), "upstream_bad_response");
}

TEST_F(LlmClientTest, StreamEndingWithoutDoneIsTruncated) {
  MockBehaviour b = Reply("one two three four");
  b.truncate_after_tokens = 2;
  mock_.PushChat(b);
  auto r = Call(Streaming());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().error(), "upstream_truncated");
  EXPECT_EQ(deltas_.size(), 2u);
  EXPECT_EQ(mock_.Calls("chat_completions"), 1);  // text was delivered: no retry
}

TEST_F(LlmClientTest, StreamBrokenBeforeItsFirstDeltaIsRetried) {
  MockBehaviour b = Reply("one two");
  b.close_after_tokens = 0;
  mock_.PushChat(b);
  auto r = Call(Streaming());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->text, "Answer based on context: What is folio?");  // the second call: the mock's default
  EXPECT_EQ(mock_.Calls("chat_completions"), 2);
}

TEST_F(LlmClientTest, ResetAfterTokensIsFinal) {
  MockBehaviour b = Reply("one two three four", 10);
  b.reset_after_tokens = 2;
  mock_.PushChat(b);
  auto r = Call(Streaming());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(r.status().error(), "upstream_stream_broken");
  EXPECT_EQ(deltas_, (std::vector<std::string>{"one ", "two "}));
  EXPECT_EQ(mock_.Calls("chat_completions"), 1);
}

TEST_F(LlmClientTest, HangEndsAtTheDeadline) {
  MockBehaviour b;
  b.hang = true;
  mock_.SetChatDefault(b);
  for (bool streaming : {false, true}) {
    SCOPED_TRACE(streaming);
    const auto start = Clock::now();
    auto r = Call(streaming ? Streaming() : LlmCallContext{}, milliseconds(600));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded);
    EXPECT_EQ(r.status().error(), "timeout");
    EXPECT_GE(MsSince(start), 550);
    EXPECT_LT(MsSince(start), 600 + 400);
  }
}

TEST_F(LlmClientTest, OnDeltaReturningFalseCancelsTheUpstream) {
  auto breaker = CircuitBreaker::InMemory();
  mock_.PushChat(Reply("a b c d e f g h i j k l", 20));
  LlmCallContext ctx;
  ctx.breaker = breaker.get();
  int seen = 0;
  ctx.on_delta = [&](std::string_view) { return ++seen < 2; };
  auto r = Call(ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().error(), "cancelled");
  EXPECT_EQ(seen, 2);
  EXPECT_TRUE(MockLlm::WaitFor([&] { return mock_.Disconnects() >= 1; }));
  EXPECT_EQ(mock_.StreamsCompleted(), 0);
  EXPECT_EQ(mock_.Calls("chat_completions"), 1);
  EXPECT_EQ(breaker->Snapshot(UnixMs()).consecutive_failures, 0);  // not the upstream's fault
}

TEST_F(LlmClientTest, CancelFlagInterruptsARetryWait) {
  mock_.PushChat(WithStatus(429, "3"));
  std::atomic<bool> cancel{false};
  LlmCallContext ctx;
  ctx.cancel = &cancel;
  std::thread canceller([&] {
    MockLlm::WaitFor([&] { return mock_.Calls("chat_completions") == 1; });
    cancel = true;
  });
  const auto start = Clock::now();
  auto r = Call(ctx, milliseconds(10000));
  canceller.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().error(), "cancelled");
  EXPECT_LT(MsSince(start), 1500);
  EXPECT_EQ(mock_.Calls("chat_completions"), 1);
}

TEST_F(LlmClientTest, OpenBreakerFailsFastWithoutCallingUpstream) {
  CircuitBreakerOptions bo;
  bo.failure_threshold = 2;
  auto breaker = CircuitBreaker::InMemory(bo);
  options_.retries = 0;
  mock_.SetChatDefault(WithStatus(500));
  LlmCallContext ctx;
  ctx.breaker = breaker.get();
  EXPECT_EQ(Call(ctx).status().error(), "upstream_unavailable");
  EXPECT_EQ(Call(ctx).status().error(), "upstream_unavailable");
  EXPECT_EQ(breaker->State(UnixMs()), BreakerState::kOpen);
  const auto start = Clock::now();
  auto r = Call(ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(r.status().error(), "breaker_open");
  EXPECT_LT(MsSince(start), 100);
  EXPECT_EQ(mock_.Calls("chat_completions"), 2);
}

TEST_F(LlmClientTest, SuccessfulTrialClosesTheBreaker) {
  CircuitBreakerOptions bo;
  bo.failure_threshold = 1;
  bo.cooldown = milliseconds(50);
  auto breaker = CircuitBreaker::InMemory(bo);
  options_.retries = 0;
  mock_.PushChat(WithStatus(503));
  LlmCallContext ctx;
  ctx.breaker = breaker.get();
  EXPECT_FALSE(Call(ctx).ok());
  ASSERT_TRUE(MockLlm::WaitFor([&] { return breaker->State(UnixMs()) == BreakerState::kHalfOpen; }));
  ASSERT_TRUE(Call(ctx).ok());
  EXPECT_EQ(breaker->State(UnixMs()), BreakerState::kClosed);
}

// Serves one canned HTTP response to each connection on 127.0.0.1, for
// bodies the mock cannot produce. Connection: close, so curl reconnects.
class CannedServer {
 public:
  explicit CannedServer(std::string content_type, std::string body) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(fd_, 8) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen on loopback";
      return;
    }
    port_ = ntohs(addr.sin_port);
    response_ = "HTTP/1.1 200 OK\r\nContent-Type: " + content_type + "\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    thread_ = std::thread([this] { Serve(); });
  }
  ~CannedServer() {
    shutdown(fd_, SHUT_RDWR);  // wakes accept()
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }

 private:
  void Serve() {
    for (;;) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string request;
      char buf[4096];
      // Read the headers and the Content-Length body the client sends.
      for (;;) {
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
        size_t end = request.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        size_t cl = request.find("Content-Length: ");
        size_t want = cl == std::string::npos ? 0 : std::stoul(request.substr(cl + 16));
        if (request.size() >= end + 4 + want) break;
      }
      (void)!write(c, response_.data(), response_.size());
      close(c);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::string response_;
  std::thread thread_;
};

struct HostileCase {
  const char* name;
  bool stream;
  std::string body;
};

class HostileBodyTest : public ::testing::TestWithParam<HostileCase> {};

TEST_P(HostileBodyTest, IsABadResponseNotACrash) {
  const HostileCase& c = GetParam();
  CannedServer server(c.stream ? "text/event-stream" : "application/json", c.body);
  LlmClientOptions o;
  o.base_url = server.base_url();
  o.api_key = kKey;
  o.backoff_base = o.backoff_cap = milliseconds(1);
  LlmCallContext ctx;
  if (c.stream) ctx.on_delta = [](std::string_view) { return true; };
  auto r = LlmClient(o).Complete({{"user", "hi"}}, 10, Deadline::After(milliseconds(3000)), ctx);
  ASSERT_FALSE(r.ok()) << "accepted: " << r->text;
  EXPECT_EQ(r.status().error(), "upstream_bad_response") << r.status().ToString();
}

const char* kChunk = R"(data: {"choices":[{"index":0,"delta":{"content":"hi"}}]})"
                     "\n\n";

INSTANTIATE_TEST_SUITE_P(
    Bodies, HostileBodyTest,
    ::testing::Values(
        HostileCase{"ErrorObjectIn200", false, R"({"error":{"message":"boom","type":"server_error"}})"},
        HostileCase{"NotAnObject", false, "[1,2,3]"},
        HostileCase{"Empty", false, ""},
        HostileCase{"NoChoices", false, R"({"id":"x"})"},
        HostileCase{"ChoicesNotArray", false, R"({"choices":{"message":{"content":"x"}}})"},
        HostileCase{"EmptyChoices", false, R"({"choices":[]})"},
        HostileCase{"ChoiceNotObject", false, R"({"choices":["x"]})"},
        HostileCase{"NoMessage", false, R"({"choices":[{"index":0}]})"},
        HostileCase{"ContentNumber", false, R"({"choices":[{"message":{"content":42}}]})"},
        HostileCase{"ContentNull", false, R"({"choices":[{"message":{"content":null}}]})"},
        HostileCase{"StreamErrorEvent", true, std::string(kChunk) + "data: {\"error\":{\"type\":\"server_error\"}}\n\n"},
        HostileCase{"StreamChunkNotObject", true, "data: 17\n\n"},
        HostileCase{"StreamChoicesNotArray", true, "data: {\"choices\":5}\n\n"},
        HostileCase{"StreamDeltaNotObject", true, "data: {\"choices\":[{\"delta\":\"x\"}]}\n\n"},
        HostileCase{"StreamContentNumber", true, "data: {\"choices\":[{\"delta\":{\"content\":1}}]}\n\n"}),
    [](const ::testing::TestParamInfo<HostileCase>& info) { return std::string(info.param.name); });

TEST(LlmClientStreamTest, MissingUsageIsEstimatedAndWrongTypedMetadataIgnored) {
  const std::string body = std::string(kChunk) +
                           R"(data: {"model":7,"usage":"lots","choices":[{"index":0,"delta":{"content":" there"},"finish_reason":"stop"}]})"
                           "\n\ndata: [DONE]\n\n";
  CannedServer server("text/event-stream", body);
  LlmClientOptions o;
  o.base_url = server.base_url();
  o.api_key = kKey;
  o.model = "asked-model";
  std::string got;
  LlmCallContext ctx;
  ctx.on_delta = [&](std::string_view d) {
    got += d;
    return true;
  };
  auto r = LlmClient(o).Complete({{"user", "hi"}}, 10, Deadline::After(milliseconds(3000)), ctx);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(got, "hi there");
  EXPECT_EQ(r->text, "hi there");
  EXPECT_TRUE(r->usage_estimated);
  EXPECT_GT(r->prompt_tokens, 0);
  EXPECT_GT(r->completion_tokens, 0);
  EXPECT_EQ(r->model, "asked-model");
  EXPECT_EQ(r->finish_reason, "stop");
}

}  // namespace
}  // namespace folio
