// http_client_test.cc: the libcurl wrapper against the in-process mock LLM:
// results, deadlines, refused connections, streaming, cancellation seen by
// the server, the size cap and Retry-After.
// shared/http_client.h is named by path: tests/support has a raw-socket
// http_client.h of its own that comes first on the include path.
#include "http_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "mock_llm.h"
#include "sse_parser.h"

namespace folio {
namespace {

using std::chrono::milliseconds;
using test::MockBehaviour;
using test::MockLlm;

const char* kChatBody = R"({"stream": true, "messages": [{"role": "user", "content": "one two three four five six"}]})";

// A loopback port nobody listens on (bound, then closed).
int DeadPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

HttpCallOptions Within(milliseconds d) {
  HttpCallOptions o;
  o.deadline = Deadline::After(d);
  return o;
}

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(mock_.Start().ok()); }
  std::string Url(const std::string& path) { return mock_.base_url() + path; }

  MockLlm mock_;        // declared first: destroyed after the client closed its connection
  HttpClient client_;
};

TEST_F(HttpClientTest, GetReturnsStatusBodyAndContentType) {
  Result<HttpResult> r = client_.Get(Url("/models"), {}, Within(milliseconds(5000)));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->content_type.find("application/json"), std::string::npos);
  EXPECT_NE(r->body.find("mock-model"), std::string::npos);
}

TEST_F(HttpClientTest, PostSendsBodyAndHeaders) {
  mock_.RequireApiKey("sk-test");
  Result<HttpResult> r = client_.Post(Url("/embeddings"), {{"Authorization", "Bearer sk-test"}},
                                      R"({"input": ["x"]})", Within(milliseconds(5000)));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(mock_.LastBody("embeddings"), R"({"input": ["x"]})");
}

TEST_F(HttpClientTest, NonOkStatusIsAResultNotAnError) {
  MockBehaviour b;
  b.status = 503;
  mock_.PushChat(b);
  Result<HttpResult> r = client_.Post(Url("/chat/completions"), {}, "{}", Within(milliseconds(5000)));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("\"error\""), std::string::npos);
}

TEST_F(HttpClientTest, RetryAfterSecondsComeBackParsed) {
  MockBehaviour b;
  b.status = 429;
  b.retry_after = "7";
  mock_.PushChat(b);
  Result<HttpResult> r = client_.Post(Url("/chat/completions"), {}, "{}", Within(milliseconds(5000)));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 429);
  ASSERT_TRUE(r->retry_after_seconds.has_value());
  EXPECT_EQ(*r->retry_after_seconds, 7);
}

TEST(ParseRetryAfterTest, Table) {
  const int64_t now = 1445412480;  // Wed, 21 Oct 2015 07:28:00 GMT
  struct {
    const char* value;
    std::optional<int> want;
  } cases[] = {
      {"120", 120},
      {" 5 ", 5},
      {"0", 0},
      {"Wed, 21 Oct 2015 07:28:30 GMT", 30},
      {"Wed, 21 Oct 2015 07:00:00 GMT", 0},  // in the past: no wait
      {"", std::nullopt},
      {"-5", std::nullopt},
      {"soon", std::nullopt},
      {"99999999999999", 1000000000},
  };
  for (const auto& c : cases) EXPECT_EQ(ParseRetryAfter(c.value, now), c.want) << c.value;
}

TEST_F(HttpClientTest, SlowUpstreamIsDeadlineExceededOnTime) {
  MockBehaviour b;
  b.latency_ms = 5000;
  mock_.PushChat(b);
  const auto start = std::chrono::steady_clock::now();
  Result<HttpResult> r = client_.Post(Url("/chat/completions"), {}, "{}", Within(milliseconds(300)));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded);
  EXPECT_EQ(r.status().error(), "upstream_timeout");
  EXPECT_GE(took, milliseconds(290));
  EXPECT_LT(took, milliseconds(300 + 250));
  // The mock notices the client giving up.
  EXPECT_TRUE(MockLlm::WaitFor([&] { return mock_.Disconnects() == 1; }));
}

TEST_F(HttpClientTest, ExpiredDeadlineFailsWithoutACall) {
  HttpCallOptions o;
  o.deadline = Deadline(std::chrono::steady_clock::now() - milliseconds(1));
  Result<HttpResult> r = client_.Get(Url("/models"), {}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded);
  EXPECT_EQ(mock_.Calls("models"), 0);
}

TEST_F(HttpClientTest, RefusedConnectionIsUnreachable) {
  const std::string url = "http://127.0.0.1:" + std::to_string(DeadPort()) + "/v1/models";
  Result<HttpResult> r = client_.Get(url, {{"Authorization", "Bearer sk-secret-123"}}, Within(milliseconds(5000)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(r.status().error(), "upstream_unreachable");
  EXPECT_EQ(r.status().ToString().find("sk-secret"), std::string::npos);
}

TEST_F(HttpClientTest, BadUrlIsInvalidArgument) {
  Result<HttpResult> r = client_.Get("ftp://127.0.0.1/x", {}, Within(milliseconds(1000)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().error(), "bad_upstream_url");
}

TEST_F(HttpClientTest, StreamingCallbackGetsChunksAsTheyArrive) {
  MockBehaviour b;
  b.token_delay_ms = 40;
  mock_.PushChat(b);
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  std::string all;
  HttpCallOptions o = Within(milliseconds(10000));
  o.on_body = [&](std::string_view chunk) {
    arrivals.push_back(std::chrono::steady_clock::now());
    all.append(chunk);
    return true;
  };
  Result<HttpResult> r = client_.Post(Url("/chat/completions"), {}, kChatBody, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body.empty());
  EXPECT_NE(all.find("data: [DONE]"), std::string::npos);
  // 10 tokens 40 ms apart arrive spread out, not in one piece at the end.
  ASSERT_GE(arrivals.size(), 5u);
  EXPECT_GE(arrivals.back() - arrivals.front(), milliseconds(200));
  EXPECT_EQ(mock_.StreamsCompleted(), 1);
}

TEST_F(HttpClientTest, CallbackReturningFalseCancelsAndUpstreamSeesIt) {
  MockBehaviour b;
  b.token_delay_ms = 50;
  mock_.PushChat(b);
  SseParser parser;
  std::vector<SseEvent> events;
  HttpCallOptions o = Within(milliseconds(10000));
  o.on_body = [&](std::string_view chunk) {
    EXPECT_TRUE(parser.Feed(chunk, &events).ok());
    return events.size() < 2;  // the client "goes away" after the first content token
  };
  Result<HttpResult> r = client_.Post(Url("/chat/completions"), {}, kChatBody, o);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsCancelled(r.status())) << r.status().ToString();
  EXPECT_TRUE(MockLlm::WaitFor([&] { return mock_.Disconnects() == 1; }));
  EXPECT_EQ(mock_.StreamsCompleted(), 0);
  // The handle is still good for the next call.
  EXPECT_TRUE(client_.Get(Url("/models"), {}, Within(milliseconds(5000))).ok());
}

TEST_F(HttpClientTest, CancelFlagAbortsAHangingCall) {
  MockBehaviour b;
  b.hang = true;
  mock_.PushChat(b);
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    MockLlm::WaitFor([&] { return mock_.Calls("chat_completions") == 1; });
    cancel = true;
  });
  HttpCallOptions o = Within(milliseconds(10000));
  o.cancel = &cancel;
  const auto start = std::chrono::steady_clock::now();
  Result<HttpResult> r = client_.Post(Url("/chat/completions"), {}, kChatBody, o);
  canceller.join();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsCancelled(r.status())) << r.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(3000));  // polled about once a second
  EXPECT_TRUE(MockLlm::WaitFor([&] { return mock_.Disconnects() == 1; }));
}

TEST_F(HttpClientTest, CancelFlagAlreadySetMakesNoCall) {
  std::atomic<bool> cancel{true};
  HttpCallOptions o = Within(milliseconds(1000));
  o.cancel = &cancel;
  Result<HttpResult> r = client_.Get(Url("/models"), {}, o);
  EXPECT_TRUE(IsCancelled(r.status()));
  EXPECT_EQ(mock_.Calls("models"), 0);
}

TEST_F(HttpClientTest, ResponseOverTheCapIsRefused) {
  mock_.SetEmbeddingDimension(4096);  // ~80 KB of JSON per input
  HttpCallOptions o = Within(milliseconds(5000));
  o.max_response_bytes = 64 * 1024;
  Result<HttpResult> r = client_.Post(Url("/embeddings"), {}, R"({"input": ["a", "b", "c"]})", o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().error(), "upstream_response_too_large");
}

TEST_F(HttpClientTest, StreamedBytesCountTowardsTheCap) {
  HttpCallOptions o = Within(milliseconds(5000));
  o.max_response_bytes = 600;
  o.on_body = [](std::string_view) { return true; };
  Result<HttpResult> r = client_.Post(Url("/chat/completions"), {}, kChatBody, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().error(), "upstream_response_too_large");
}

TEST_F(HttpClientTest, ResetMidStreamIsConnectionLost) {
  MockBehaviour reset, close;
  reset.reset_after_tokens = 2;
  close.close_after_tokens = 2;
  mock_.PushChat(reset);
  mock_.PushChat(close);
  HttpCallOptions o = Within(milliseconds(5000));
  o.on_body = [](std::string_view) { return true; };
  for (int i = 0; i < 2; ++i) {
    Result<HttpResult> r = client_.Post(Url("/chat/completions"), {}, kChatBody, o);
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_EQ(r.status().code(), Code::kUnavailable) << i;
    EXPECT_EQ(r.status().error(), "upstream_connection_lost") << i << " " << r.status().ToString();
  }
}

TEST_F(HttpClientTest, TruncatedStreamIsACompleteHttpResponse) {
  MockBehaviour b;
  b.truncate_after_tokens = 2;
  mock_.PushChat(b);
  std::string all;
  HttpCallOptions o = Within(milliseconds(5000));
  o.on_body = [&](std::string_view chunk) {
    all.append(chunk);
    return true;
  };
  Result<HttpResult> r = client_.Post(Url("/chat/completions"), {}, kChatBody, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();  // HTTP-wise fine: the SSE layer must notice
  EXPECT_EQ(all.find("[DONE]"), std::string::npos);
}

}  // namespace
}  // namespace folio
