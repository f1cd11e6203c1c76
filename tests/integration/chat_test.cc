// chat_test.cc: POST /api/chat through the real stack against the mock
// OpenAI-compatible upstream (tests/support/mock_llm.h, served from this
// test process on loopback): grounded answers, sessions and their limits,
// streaming through nginx, cancellation, every upstream fault ending in an
// answer or a clean error within the deadline, and the shared breaker.
#include <signal.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <thread>

#include "mock_llm.h"
#include "stack_suite.h"

namespace folio::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

std::string ChatBody(const std::string& message, const std::string& session = "", bool stream = false) {
  nlohmann::json body = {{"message", message}};
  if (!session.empty()) body["session_id"] = session;
  if (stream) body["stream"] = true;
  return body.dump();
}

MockBehaviour Reply(const std::string& text, int token_delay_ms = 0) {
  MockBehaviour b;
  b.reply = text;
  b.token_delay_ms = token_delay_ms;
  return b;
}

// Splits a raw SSE response into (event, data) pairs.
std::vector<std::pair<std::string, nlohmann::json>> Events(const std::string& raw) {
  std::vector<std::pair<std::string, nlohmann::json>> out;
  std::regex re("event: ([a-z]+)\\r?\\ndata: (\\{[^\\n]*\\})");
  for (std::sregex_iterator it(raw.begin(), raw.end(), re), end; it != end; ++it)
    out.emplace_back((*it)[1].str(), nlohmann::json::parse((*it)[2].str(), nullptr, false));
  return out;
}

class ChatTest : public StackSuite {
 protected:
  static void SetUpTestSuite() {
    StartStack({{"OPENAI_API_KEY", "sk-test-secret-key-123"},
                {"LLM_MODEL", "mock-model"},
                {"REQUEST_TIMEOUT_S", "4"},
                {"LLM_RETRIES", "2"},
                {"BREAKER_THRESHOLD", "50"},
                {"RATE_LIMIT_RPS", "10000"},
                {"RATE_LIMIT_BURST", "10000"}},
               WithMock());
  }
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StackSuite::SetUp());
    mock_->Reset();
  }
  static HttpResponse Chat(const std::string& body) { return stack_->Post("/api/chat", body); }
};

TEST_F(ChatTest, GroundedAnswerWithSources) {
  HttpResponse r = Chat(ChatBody("What is Tollgate and what was Maya's role?"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = r.Json();
  EXPECT_EQ(body["response"], "Answer based on context: What is Tollgate and what was Maya's role?");
  EXPECT_EQ(body["degraded"], false);
  EXPECT_EQ(body["cached"], false);
  EXPECT_TRUE(std::regex_match(body["session_id"].get<std::string>(), std::regex("[A-Za-z0-9_-]{22}")));
  EXPECT_TRUE(body["degraded_reason"].is_null());
  ASSERT_FALSE(body["sources"].empty());
  EXPECT_EQ(body["sources"][0]["source"], "projects/tollgate.md");
  // Each source carries the passage it came from, bounded, for a reader to open.
  for (const auto& source : body["sources"]) {
    ASSERT_TRUE(source["text"].is_string()) << source.dump();
    EXPECT_FALSE(source["text"].get<std::string>().empty());
    EXPECT_LE(source["text"].get<std::string>().size(), 1200u * 4);
  }
  EXPECT_GT(body["usage"]["prompt_tokens"].get<int>(), 0);
  EXPECT_GT(body["usage"]["completion_tokens"].get<int>(), 0);
  EXPECT_EQ(body["request_id"], r.Header("x-request-id"));
  EXPECT_EQ(mock_->Calls("chat_completions"), 1);
  // The upstream saw the passages fenced as reference material and the key.
  std::string sent = mock_->LastBody("chat_completions");
  EXPECT_NE(sent.find("<<<REFERENCE 1 source=\\\"projects/tollgate.md\\\""), std::string::npos) << sent.substr(0, 600);
  EXPECT_NE(sent.find("\"max_tokens\":600"), std::string::npos);
  EXPECT_EQ(mock_->Stats()["unauthorized"], 0);
}

TEST_F(ChatTest, SessionKeepsTheTranscriptAndFeedsItsLastMessagesBack) {
  std::string session;
  for (int turn = 1; turn <= 4; ++turn) {
    HttpResponse r = Chat(ChatBody("question number " + std::to_string(turn), session));
    ASSERT_EQ(r.status, 200) << r.body;
    session = r.Json()["session_id"];
  }
  HttpResponse got = stack_->Get("/api/sessions/" + session);
  ASSERT_EQ(got.status, 200) << got.body;
  auto messages = got.Json()["messages"];
  ASSERT_EQ(messages.size(), 8u);  // the whole transcript (SESSION_MAX_MESSAGES)
  EXPECT_EQ(messages[0]["content"], "question number 1");
  EXPECT_EQ(messages[7]["role"], "assistant");
  EXPECT_EQ(messages[6]["content"], "question number 4");
  // The fourth call carried the prompt window: the last MAX_HISTORY_MESSAGES (5).
  std::string sent = mock_->LastBody("chat_completions");
  EXPECT_NE(sent.find("question number 3"), std::string::npos);
  EXPECT_NE(sent.find("question number 2"), std::string::npos);
  EXPECT_EQ(sent.find("question number 1"), std::string::npos) << "beyond the window";
}

TEST_F(ChatTest, SessionErrors) {
  EXPECT_EQ(Chat(ChatBody("hi", "AAAAAAAAAAAAAAAAAAAAAA")).Json()["error"]["code"], "session_not_found");
  EXPECT_EQ(Chat(ChatBody("hi", "AAAAAAAAAAAAAAAAAAAAAA")).status, 404);
  EXPECT_EQ(Chat(ChatBody("hi", "not-an-id")).status, 400);
  EXPECT_EQ(stack_->Get("/api/sessions/not-an-id").status, 400);
  EXPECT_EQ(stack_->Get("/api/sessions/AAAAAAAAAAAAAAAAAAAAAA").status, 404);
  std::string session = Chat(ChatBody("What does Maya do at work?")).Json()["session_id"];
  HttpResponse deleted = Http(stack_->port(), "DELETE", "/api/sessions/" + session);
  EXPECT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(stack_->Get("/api/sessions/" + session).status, 404);
  EXPECT_EQ(Chat(ChatBody("again", session)).status, 404);
  EXPECT_EQ(mock_->Calls("chat_completions"), 1) << "refused requests never reach the LLM";
}

TEST_F(ChatTest, BadRequestsWriteNothing) {
  struct Case {
    std::string body;
    int status;
  } cases[] = {{"{", 400},
               {"[]", 422},
               {"{}", 422},
               {R"({"message":42})", 422},
               {R"({"message":""})", 422},
               {R"({"message":"   "})", 422},
               {"{\"message\":\"" + std::string(2001, 'x') + "\"}", 422},
               {R"({"message":"hi","stream":"yes"})", 422},
               {R"({"message":"hi","session_id":7})", 400},
               {"{\"message\":\"\xff\"}", 400}};
  for (const auto& c : cases) {
    HttpResponse r = Chat(c.body);
    EXPECT_EQ(r.status, c.status) << c.body.substr(0, 60) << " → " << r.body;
    EXPECT_TRUE(r.Json()["error"]["code"].is_string());
  }
  EXPECT_EQ(stack_->Post("/api/chat", R"({"message":"hi"})", {{{"Content-Type", "text/plain"}}}).status, 415);
  EXPECT_EQ(mock_->Calls("chat_completions"), 0);
}

TEST_F(ChatTest, StreamingArrivesIncrementallyThroughNginx) {
  mock_->PushChat(Reply("one two three four five six seven eight", /*token_delay_ms=*/150));
  std::vector<Clock::time_point> token_times;
  size_t seen = 0;
  std::string raw = StreamHttp(stack_->port(), "POST", "/api/chat", ChatBody("stream please", "", true),
                               {{"Content-Type", "application/json"}}, [&](const std::string& so_far) {
                                 size_t at;
                                 while ((at = so_far.find("event: token", seen)) != std::string::npos) {
                                   token_times.push_back(Clock::now());
                                   seen = at + 1;
                                 }
                                 return true;
                               });
  auto events = Events(raw);
  ASSERT_GE(events.size(), 3u) << raw;
  EXPECT_EQ(events.front().first, "meta");
  EXPECT_TRUE(events.front().second["session_id"].is_string());
  EXPECT_TRUE(events.front().second["sources"].is_array());
  EXPECT_EQ(events.back().first, "done");
  EXPECT_TRUE(events.back().second["sources"].is_array());
  EXPECT_EQ(events.back().second["degraded"], false);
  EXPECT_TRUE(events.back().second["degraded_reason"].is_null());
  ASSERT_FALSE(events.front().second["sources"].empty());
  EXPECT_TRUE(events.front().second["sources"][0]["text"].is_string());
  std::string text;
  for (auto& [name, data] : events)
    if (name == "token") text += data["text"].get<std::string>();
  EXPECT_EQ(text, "one two three four five six seven eight");
  ASSERT_GE(token_times.size(), 4u);
  // Spread over time as the upstream produced them, not one burst at the end.
  EXPECT_GE(token_times.back() - token_times.front(), milliseconds(600));
  EXPECT_NE(raw.find("text/event-stream"), std::string::npos);
  EXPECT_EQ(raw.find("Content-Encoding: gzip"), std::string::npos);
}

TEST_F(ChatTest, AcceptHeaderAlsoAsksForAStream) {
  std::string raw = StreamHttp(stack_->port(), "POST", "/api/chat", ChatBody("hello"),
                               {{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}},
                               [](const std::string&) { return true; });
  auto events = Events(raw);
  ASSERT_FALSE(events.empty()) << raw;
  EXPECT_EQ(events.front().first, "meta");
}

TEST_F(ChatTest, ClientDisconnectCancelsTheUpstreamCall) {
  mock_->PushChat(Reply(std::string(200, 'w') + " and many more words to come slowly", 200));
  std::string big;
  for (int i = 0; i < 40; ++i) big += "word" + std::to_string(i) + " ";
  mock_->Reset();
  mock_->PushChat(Reply(big, 200));
  StreamHttp(stack_->port(), "POST", "/api/chat", ChatBody("go away early", "", true),
             {{"Content-Type", "application/json"}},
             [](const std::string& so_far) { return so_far.find("event: token") == std::string::npos; });
  EXPECT_TRUE(MockLlm::WaitFor([] { return mock_->Disconnects() >= 1; }, seconds(8)))
      << mock_->Stats().dump();
  EXPECT_EQ(mock_->StreamsCompleted(), 0);
}

struct Fault {
  const char* name;
  std::vector<MockBehaviour> script;
  bool stream;
  int expect_status;       // HTTP status of the answer
  bool expect_degraded;    // for 200s
  int expect_calls;        // upstream calls made
};

MockBehaviour Status500() { MockBehaviour b; b.status = 500; return b; }

TEST_F(ChatTest, EveryUpstreamFaultEndsWithinTheDeadline) {
  MockBehaviour r429; r429.status = 429; r429.retry_after = "1";
  MockBehaviour r503; r503.status = 503;
  MockBehaviour r502; r502.status = 502;
  MockBehaviour bad; bad.malformed = true;
  MockBehaviour hang; hang.hang = true;
  MockBehaviour r401; r401.status = 401;
  MockBehaviour ok = Reply("fine now");
  std::vector<Fault> faults = {
      {"500 three times", {Status500(), Status500(), Status500()}, false, 200, true, 3},
      {"502 then ok", {r502, ok}, false, 200, false, 2},
      {"503 then ok", {r503, ok}, false, 200, false, 2},
      {"429 Retry-After 1 then ok", {r429, ok}, false, 200, false, 2},
      {"malformed JSON", {bad}, false, 200, true, 1},
      {"401 is not retried", {r401}, false, 200, true, 1},
      {"hang", {hang}, false, 504, false, 1},
  };
  for (const auto& f : faults) {
    mock_->Reset();
    for (const auto& b : f.script) mock_->PushChat(b);
    auto start = Clock::now();
    HttpResponse r = Chat(ChatBody(std::string("fault: ") + f.name, "", f.stream));
    auto took = Clock::now() - start;
    EXPECT_EQ(r.status, f.expect_status) << f.name << ": " << r.body;
    EXPECT_LT(took, seconds(4) + milliseconds(1500)) << f.name;  // REQUEST_TIMEOUT_S=4 plus slack
    if (r.status == 200) {
      EXPECT_EQ(r.Json()["degraded"], f.expect_degraded) << f.name;
      EXPECT_FALSE(r.Json()["response"].get<std::string>().empty()) << f.name;
    } else {
      EXPECT_EQ(r.Json()["error"]["code"], "timeout") << f.name;
    }
    EXPECT_EQ(mock_->Calls("chat_completions"), f.expect_calls) << f.name;
  }
}

TEST_F(ChatTest, ResetMidStreamEndsWithAnErrorEventAndNoRetry) {
  MockBehaviour reset = Reply("alpha beta gamma delta epsilon zeta", 50);
  reset.reset_after_tokens = 2;
  mock_->PushChat(reset);
  std::string raw = StreamHttp(stack_->port(), "POST", "/api/chat", ChatBody("reset me", "", true),
                               {{"Content-Type", "application/json"}}, [](const std::string&) { return true; });
  auto events = Events(raw);
  ASSERT_FALSE(events.empty()) << raw;
  EXPECT_EQ(events.back().first, "error") << raw;
  EXPECT_TRUE(events.back().second["error"]["code"].is_string());
  EXPECT_EQ(mock_->Calls("chat_completions"), 1);
}

TEST_F(ChatTest, TruncatedStreamBeforeAnyTokenIsRetried) {
  MockBehaviour truncated = Reply("never finished");
  truncated.truncate_after_tokens = 0;
  mock_->PushChat(truncated);
  mock_->PushChat(Reply("second try"));
  std::string raw = StreamHttp(stack_->port(), "POST", "/api/chat", ChatBody("truncate", "", true),
                               {{"Content-Type", "application/json"}}, [](const std::string&) { return true; });
  auto events = Events(raw);
  ASSERT_FALSE(events.empty()) << raw;
  EXPECT_EQ(events.back().first, "done") << raw;
  EXPECT_EQ(mock_->Calls("chat_completions"), 2);
}

TEST_F(ChatTest, SecretNeverInLogsOrAnswers) {
  Chat(ChatBody("secret check"));
  std::string logs;
  for (const auto& e : std::filesystem::directory_iterator(stack_->log_dir()))
    logs += stack_->ReadLog(e.path().filename().string());
  EXPECT_EQ(logs.find("sk-test-secret-key-123"), std::string::npos);
  EXPECT_EQ(stack_->Get("/api/health").body.find("sk-test-secret"), std::string::npos);
}

TEST(ChatBreakerTest, BreakerOpensSharedAcrossWorkersAndRecovers) {
  MockLlm mock;
  ASSERT_TRUE(mock.Start().ok());
  MockBehaviour fail;
  fail.status = 500;
  mock.SetChatDefault(fail);
  std::string error;
  auto stack = TestStack::Start({{"OPENAI_API_KEY", "sk-x"}, {"LLM_BASE_URL", mock.base_url()}, {"LLM_RETRIES", "0"},
                                 {"BREAKER_THRESHOLD", "3"}, {"BREAKER_COOLDOWN_S", "2"}},
                                &error);
  ASSERT_NE(stack, nullptr) << error;
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = stack->Post("/api/chat", ChatBody("q" + std::to_string(i)));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Json()["degraded"], true);
  }
  EXPECT_EQ(mock.Calls("chat_completions"), 3);
  // Open: whichever worker answers, no call is made and the answer is degraded at once.
  for (int i = 0; i < 6; ++i) {
    auto start = Clock::now();
    HttpResponse r = stack->Post("/api/chat", ChatBody("while open " + std::to_string(i)));
    EXPECT_EQ(r.Json()["degraded"], true);
    EXPECT_EQ(r.Json()["degraded_reason"], "breaker_open");
    EXPECT_LT(Clock::now() - start, milliseconds(500));
  }
  EXPECT_EQ(mock.Calls("chat_completions"), 3);
  EXPECT_EQ(stack->Get("/api/health").Json()["checks"]["llm"]["breaker"], "open");
  // After the cooldown a trial call goes through; success closes it.
  mock.SetChatDefault(Reply("recovered"));
  HttpResponse healed;
  auto until = Clock::now() + seconds(10);
  do {
    std::this_thread::sleep_for(milliseconds(200));
    healed = stack->Post("/api/chat", ChatBody("after cooldown"));
  } while (healed.Json()["degraded"] != false && Clock::now() < until);
  EXPECT_EQ(healed.Json()["response"], "recovered");
  EXPECT_EQ(stack->Get("/api/health").Json()["checks"]["llm"]["breaker"], "closed");
  stack.reset();
  mock.Stop();
}

TEST(ChatSessionDurabilityTest, CommittedTurnSurvivesKilledWorkersAndAFullRestart) {
  const TempDir dir("folio-durable");  // the data outlives both stacks
  const std::string data = dir.path("data");
  std::string error, session;
  {
    auto stack = TestStack::Start({{"DATA_DIR", data}}, &error);
    ASSERT_NE(stack, nullptr) << error;
    HttpResponse r = stack->Post("/api/chat", ChatBody("remember this turn"));
    ASSERT_EQ(r.status, 200);
    session = r.Json()["session_id"];
    for (pid_t p : stack->WorkerPids()) kill(p, SIGKILL);
    HttpResponse got = PollHttp(stack->port(), "/api/sessions/" + session,
                                [](const HttpResponse& x) { return x.status == 200; }, seconds(10));
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(got.Json()["messages"][0]["content"], "remember this turn");
  }
  auto stack = TestStack::Start({{"DATA_DIR", data}}, &error);
  ASSERT_NE(stack, nullptr) << error;
  HttpResponse got = stack->Get("/api/sessions/" + session);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.Json()["messages"].size(), 2u);
}

}  // namespace
}  // namespace folio::test

namespace folio::test {
namespace {

TEST(ChatKeyTest, RejectedKeyShowsOnHealthAndChatsDegrade) {
  MockLlm mock;
  ASSERT_TRUE(mock.Start().ok());
  mock.RequireApiKey("sk-the-right-key");
  std::string error;
  auto stack = TestStack::Start({{"OPENAI_API_KEY", "sk-a-wrong-key"}, {"LLM_BASE_URL", mock.base_url()}}, &error);
  ASSERT_NE(stack, nullptr) << error;
  HttpResponse health = PollHttp(stack->port(), "/api/health", [](const HttpResponse& r) {
    return r.Json()["checks"]["llm"]["key"] == "rejected";
  }, std::chrono::seconds(10));
  EXPECT_EQ(health.Json()["checks"]["llm"]["key"], "rejected") << health.body;
  EXPECT_EQ(health.Json()["checks"]["llm"]["status"], "warn");
  EXPECT_EQ(health.status, 200);  // degraded, not down: answers still come from the KB
  HttpResponse chat = stack->Post("/api/chat", ChatBody("What is her notice period?"));
  EXPECT_EQ(chat.status, 200);
  EXPECT_EQ(chat.Json()["degraded"], true);
  // A provider that refuses the key is failing, not "no model configured".
  EXPECT_TRUE(chat.Json()["degraded_reason"].is_string());
  EXPECT_NE(chat.Json()["degraded_reason"], "llm_not_configured");
  EXPECT_GE(mock.Calls("models"), 1);
  stack.reset();
  mock.Stop();
}

TEST(ChatKeyTest, WithoutAModelAnswersAreMarkedNotConfiguredPlainAndStreamed) {
  std::string error;
  auto stack = TestStack::Start({}, &error);
  ASSERT_NE(stack, nullptr) << error;
  HttpResponse chat = stack->Post("/api/chat", ChatBody("What is Tollgate?"));
  ASSERT_EQ(chat.status, 200) << chat.body;
  EXPECT_EQ(chat.Json()["degraded"], true);
  EXPECT_EQ(chat.Json()["degraded_reason"], "llm_not_configured");
  std::string raw = StreamHttp(stack->port(), "POST", "/api/chat", ChatBody("What is Lantern?", "", true),
                               {{"Content-Type", "application/json"}}, [](const std::string&) { return true; });
  auto events = Events(raw);
  ASSERT_FALSE(events.empty()) << raw;
  EXPECT_EQ(events.back().first, "done");
  EXPECT_EQ(events.back().second["degraded_reason"], "llm_not_configured");
}

TEST(ChatKeyTest, LlmRequiredWithoutKeyStopsStartUp) {
  std::string out;
  int rc = RunCommand("env LLM_REQUIRED=true OPENAI_API_KEY= DATA_DIR=/tmp/folio-never RUN_DIR=/tmp/folio-never "
                      "LOG_DIR=/tmp/folio-never FOLIO_BIN=" FOLIO_BINARY_DIR "/bin " FOLIO_SOURCE_DIR "/scripts/start",
                      &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("OPENAI_API_KEY: required because LLM_REQUIRED=true"), std::string::npos) << out;
}

}  // namespace
}  // namespace folio::test
