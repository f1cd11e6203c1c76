// scale_out_test.cc: several folio instances sharing their state through
// one Redis (STATE_BACKEND=redis://...): two complete stacks — each its own
// supervisord, nginx and workers on its own ports — and a real redis-server
// on loopback, with the mock LLM counting upstream calls. Sessions continue
// across instances, identical concurrent questions cost one call across
// them, per-client limits count across them, and a Redis that dies and
// comes back loses no acknowledged turn and needs no restart of folio.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "mock_llm.h"
#include "poll_until.h"
#include "redis_server.h"
#include "stack.h"

namespace folio::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string Ask(const std::string& message, const std::string& session = "", bool stream = false) {
  nlohmann::json body = {{"message", message}};
  if (!session.empty()) body["session_id"] = session;
  if (stream) body["stream"] = true;
  return body.dump();
}

RedisServer::Options DurableRedis() {
  RedisServer::Options options;
  options.appendonly = true;  // appendfsync always: an acknowledged write is on disk
  return options;
}

// Two instances sharing one Redis, with generous per-IP limits: every
// request of these tests comes from 127.0.0.1.
class ScaleOutTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    redis_ = new RedisServer(DurableRedis());
    mock_ = new MockLlm();
    ASSERT_TRUE(mock_->Start().ok());
    a_ = StartInstance({}).release();
    b_ = StartInstance({}).release();
  }
  static void TearDownTestSuite() {
    delete a_;
    delete b_;
    a_ = b_ = nullptr;
    if (mock_) mock_->Stop();
    delete mock_;
    delete redis_;
    mock_ = nullptr;
    redis_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(a_, nullptr);
    ASSERT_NE(b_, nullptr);
    ASSERT_TRUE(redis_->running());
    mock_->Reset();
  }

  static std::unique_ptr<TestStack> StartInstance(std::map<std::string, std::string> extra) {
    std::map<std::string, std::string> env = {
        {"OPENAI_API_KEY", "sk-x"}, {"LLM_BASE_URL", mock_->base_url()}, {"STATE_BACKEND", redis_->url()},
        {"STATE_PREFIX", "site-a:"}, {"WORKERS", "2"}, {"CHAT_THREADS", "32"}, {"CHAT_QUEUE", "64"},
        {"REQUEST_TIMEOUT_S", "20"}, {"CONN_LIMIT_PER_IP", "1000"}, {"RATE_LIMIT_RPS", "10000"},
        {"RATE_LIMIT_BURST", "10000"}, {"CLIENT_RPM", "100000"}, {"CLIENT_EXPENSIVE_RPM", "100000"},
        {"CLIENT_SESSIONS_PER_MIN", "100000"}, {"CLIENT_MAX_CONCURRENT", "0"}, {"REDIS_TIMEOUT_MS", "300"},
        // Whole transcripts, so that every acknowledged turn can be looked for.
        {"SESSION_MAX_MESSAGES", "10000"}, {"SESSION_MAX_KB", "4096"}};
    for (auto& [k, v] : extra) env[k] = v;
    std::string error;
    std::unique_ptr<TestStack> stack = TestStack::Start(env, &error);
    EXPECT_NE(stack, nullptr) << error;
    return stack;
  }

  static inline RedisServer* redis_ = nullptr;
  static inline MockLlm* mock_ = nullptr;
  static inline TestStack* a_ = nullptr;
  static inline TestStack* b_ = nullptr;
};

TEST_F(ScaleOutTest, HealthNamesTheRedisBackendWithoutItsPassword) {
  nlohmann::json health = a_->Get("/api/health").Json();
  const nlohmann::json& storage = health["checks"]["storage"];
  EXPECT_EQ(storage["backend"], "redis") << health;
  EXPECT_EQ(storage["degraded"], false) << health;
  EXPECT_EQ(storage["status"], "ok") << health;
}

TEST_F(ScaleOutTest, ASessionStartedThroughAContinuesThroughB) {
  HttpResponse first = a_->Post("/api/chat", Ask("What is Tollgate?"));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.Json()["saved"], true) << first.body;
  const std::string session = first.Json()["session_id"];
  HttpResponse second = b_->Post("/api/chat", Ask("And who built it?", session));
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.Json()["saved"], true);
  EXPECT_EQ(second.Json()["session_id"], session);
  // B's prompt carried A's turn: the follow-up's upstream request has the history.
  EXPECT_NE(mock_->LastBody("chat_completions").find("What is Tollgate?"), std::string::npos);
  for (TestStack* instance : {a_, b_}) {
    HttpResponse read = instance->Get("/api/sessions/" + session);
    ASSERT_EQ(read.status, 200) << read.body;
    EXPECT_EQ(read.Json()["messages"].size(), 4u) << read.body;
  }
  EXPECT_EQ(b_->Get("/api/sessions/" + session).Json()["messages"][2]["content"], "And who built it?");
  // Deleted through B, gone through A.
  EXPECT_EQ(Http(b_->port(), "DELETE", "/api/sessions/" + session).status, 200);
  EXPECT_EQ(a_->Get("/api/sessions/" + session).status, 404);
}

TEST_F(ScaleOutTest, AnAnswerCachedThroughAIsAHitThroughB) {
  HttpResponse miss = a_->Post("/api/chat", Ask("Which languages does Maya write?"));
  ASSERT_EQ(miss.status, 200) << miss.body;
  EXPECT_EQ(miss.Json()["cached"], false);
  HttpResponse hit = b_->Post("/api/chat", Ask("which languages does maya write"));
  ASSERT_EQ(hit.status, 200) << hit.body;
  EXPECT_EQ(hit.Json()["cached"], true) << hit.body;
  EXPECT_EQ(hit.Json()["response"], miss.Json()["response"]);
  EXPECT_EQ(mock_->Calls("chat_completions"), 1);
}

// 20 clients, half through each instance, ask the same new question while
// the upstream takes 1.5 s: one upstream call, everyone the same answer.
void ExpectOneCallForTwentyAcrossTwo(TestStack* a, TestStack* b, MockLlm* mock, const std::string& question,
                                     bool stream) {
  MockBehaviour slow;
  slow.latency_ms = 1500;
  slow.token_delay_ms = 150;  // past the leader's 100 ms heartbeat: followers see the text grow
  slow.reply = "One answer for every instance.";
  mock->SetChatDefault(slow);
  std::vector<std::thread> clients;
  std::mutex mu;
  std::vector<std::string> answers;
  std::atomic<int> failed{0}, streamed_in_pieces{0};
  for (int i = 0; i < 20; ++i)
    clients.emplace_back([&, i] {
      TestStack* instance = i % 2 == 0 ? a : b;
      if (!stream) {
        HttpResponse r = instance->Post("/api/chat", Ask(question), {{}, seconds(30)});
        if (r.status != 200) {
          failed++;
          ADD_FAILURE() << r.raw.substr(0, 300);
          return;
        }
        std::lock_guard<std::mutex> lock(mu);
        answers.push_back(r.Json()["response"]);
        return;
      }
      std::string text;
      int pieces = 0;
      std::string raw = StreamHttp(instance->port(), "POST", "/api/chat", Ask(question, "", true),
                                   {{"Content-Type", "application/json"}}, [](const std::string&) { return true; });
      for (size_t at = raw.find("event: token"); at != std::string::npos; at = raw.find("event: token", at + 1)) {
        size_t data = raw.find("data: ", at);
        size_t end = raw.find('\n', data);
        text += nlohmann::json::parse(raw.substr(data + 6, end - data - 6))["text"].get<std::string>();
        ++pieces;
      }
      if (pieces > 1) ++streamed_in_pieces;
      if (raw.find("event: done") == std::string::npos) {
        failed++;
        ADD_FAILURE() << raw.substr(0, 400);
        return;
      }
      std::lock_guard<std::mutex> lock(mu);
      answers.push_back(text);
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(mock->Calls("chat_completions"), 1);
  ASSERT_EQ(answers.size(), 20u);
  for (const auto& answer : answers) EXPECT_EQ(answer, "One answer for every instance.");
  // Followers on both instances got the leader's text as it came, not only
  // the finished answer at the end.
  if (stream) EXPECT_GE(streamed_in_pieces.load(), 15) << "of 20 streams";
}

TEST_F(ScaleOutTest, TwentyIdenticalQuestionsSplitAcrossTwoInstancesMakeOneUpstreamCall) {
  ExpectOneCallForTwentyAcrossTwo(a_, b_, mock_, "What did Maya build at Tollgate?", false);
}

TEST_F(ScaleOutTest, TwentyIdenticalStreamsSplitAcrossTwoInstancesMakeOneUpstreamCall) {
  ExpectOneCallForTwentyAcrossTwo(a_, b_, mock_, "What did Maya build at Lantern?", true);
}

TEST_F(ScaleOutTest, InstancesWithDifferentKnowledgeBasesNeverShareAnAnswer) {
  // A third instance with another knowledge base (a rolling deploy's new
  // version) on the same Redis: the same question is a miss there.
  TempDir kb("folio-kb");
  std::ofstream(kb.path("only.md")) << "# Only page\n\nThe only project here is called Quartz.\n";
  std::unique_ptr<TestStack> other = StartInstance({{"KB_DIR", kb.path()}});
  ASSERT_NE(other, nullptr);
  const std::string question = "What is the newest project?";
  ASSERT_EQ(a_->Post("/api/chat", Ask(question)).status, 200);
  EXPECT_EQ(b_->Post("/api/chat", Ask(question)).Json()["cached"], true);
  HttpResponse elsewhere = other->Post("/api/chat", Ask(question));
  ASSERT_EQ(elsewhere.status, 200) << elsewhere.body;
  EXPECT_EQ(elsewhere.Json()["cached"], false);
  EXPECT_EQ(mock_->Calls("chat_completions"), 2);
}

TEST_F(ScaleOutTest, WhenTheLeadersInstanceDiesAFollowerOnAnotherTakesOver) {
  MockBehaviour slow;
  slow.latency_ms = 3000;
  slow.reply = "Answered after the take-over.";
  mock_->SetChatDefault(slow);
  std::unique_ptr<TestStack> doomed = StartInstance({});
  ASSERT_NE(doomed, nullptr);
  const std::string question = "What did Maya learn at Riverbed?";
  std::thread leader([&] { (void)doomed->Post("/api/chat", Ask(question), {{}, seconds(10)}); });
  ASSERT_TRUE(PollUntil([&] { return mock_->Calls("chat_completions") == 1; }, seconds(10)));
  HttpResponse followed;
  std::thread follower([&] { followed = b_->Post("/api/chat", Ask(question), {{}, seconds(30)}); });
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(mock_->Calls("chat_completions"), 1) << "B follows the call the doomed instance leads";
  doomed->KillEverything();  // kill -9 of every process: no Fail, no release, no renewal
  leader.join();
  follower.join();
  ASSERT_EQ(followed.status, 200) << followed.raw.substr(0, 300);
  EXPECT_EQ(followed.Json()["response"], "Answered after the take-over.");
  EXPECT_EQ(followed.Json()["degraded"], false);
  EXPECT_EQ(mock_->Calls("chat_completions"), 2) << "the follower led the second and last call";
}

TEST_F(ScaleOutTest, PerClientLimitsCountAcrossInstances) {
  // Their own pair: the suite's instances let this client through freely.
  std::map<std::string, std::string> limited = {{"CLIENT_RPM", "6"}, {"STATE_PREFIX", "limits-test:"}};
  std::unique_ptr<TestStack> a = StartInstance(limited);
  std::unique_ptr<TestStack> b = StartInstance(limited);
  ASSERT_TRUE(a && b);
  int allowed = 0, limited_count = 0;
  for (int i = 0; i < 10; ++i) {
    HttpResponse r = (i % 2 == 0 ? a : b)->Post("/api/search", R"({"query":"Tollgate"})");
    if (r.status == 200) ++allowed;
    if (r.status == 429) {
      ++limited_count;
      EXPECT_EQ(r.Json()["error"]["code"], "rate_limited") << r.body;
      EXPECT_GE(std::stoi(r.Header("retry-after")), 1);
    }
  }
  EXPECT_EQ(allowed, 6) << "six a minute for this client, counted across both instances";
  EXPECT_EQ(limited_count, 4);
}

// Last: Redis dies under load and comes back.
TEST_F(ScaleOutTest, RedisKilledUnderLoadLosesNoAcknowledgedTurnAndSharingResumes) {
  MockBehaviour quick;
  quick.latency_ms = 20;
  mock_->SetChatDefault(quick);
  struct Turn {
    std::string session, message;
  };
  std::mutex mu;
  std::vector<Turn> acknowledged;
  std::atomic<int> answered{0}, failed{0}, unsaved{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < 6; ++c)
    clients.emplace_back([&, c] {
      TestStack* instance = c % 2 == 0 ? a_ : b_;
      std::string session;
      for (int i = 0; !stop.load(); ++i) {
        const std::string message = "client " + std::to_string(c) + " question " + std::to_string(i);
        HttpResponse r = instance->Post("/api/chat", Ask(message, session), {{}, seconds(30)});
        if (r.status != 200) {
          failed++;
          ADD_FAILURE() << r.raw.substr(0, 300);
          continue;
        }
        answered++;
        nlohmann::json body = r.Json();
        if (body["saved"] == true) {
          std::lock_guard<std::mutex> lock(mu);
          acknowledged.push_back({body["session_id"], message});
          session = body["session_id"];
        } else {
          unsaved++;
          // A first turn that was not saved made no session: start afresh.
          if (session.empty()) continue;
        }
        instance = instance == a_ ? b_ : a_;  // the next turn through the other instance
      }
    });
  ASSERT_TRUE(PollUntil([&] { return answered.load() >= 30; }, seconds(30)));
  redis_->Kill();
  const int at_kill = answered.load();
  ASSERT_TRUE(PollUntil([&] { return answered.load() >= at_kill + 30; }, seconds(60)))
      << "requests go on being answered without Redis";
  // Health says so, and the metrics count the failures.
  nlohmann::json health = a_->Get("/api/health").Json();
  EXPECT_EQ(health["checks"]["storage"]["degraded"], true) << health;
  EXPECT_EQ(health["checks"]["storage"]["status"], "warn") << health;
  EXPECT_GT(a_->Metric("folio_redis_errors_total"), 0);
  EXPECT_GT(unsaved.load(), 0) << "turns made while Redis was down say they were not saved";

  ASSERT_TRUE(redis_->Start());  // same port, same AOF
  const int at_restart = answered.load();
  ASSERT_TRUE(PollUntil([&] { return answered.load() >= at_restart + 30; }, seconds(60)));
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);

  // Every acknowledged turn is there, read through either instance.
  std::map<std::string, std::set<std::string>> by_session;
  for (const Turn& t : acknowledged) by_session[t.session].insert(t.message);
  for (const auto& [session, messages] : by_session) {
    HttpResponse read = a_->Get("/api/sessions/" + session);
    ASSERT_EQ(read.status, 200) << read.body;
    std::set<std::string> stored;
    const nlohmann::json body = read.Json();
    for (const auto& m : body["messages"]) stored.insert(m["content"].get<std::string>());
    for (const std::string& m : messages)
      EXPECT_TRUE(stored.count(m)) << "lost acknowledged turn: " << m << " of " << session;
  }
  // Sharing resumed without restarting folio: health, cache and sessions.
  EXPECT_TRUE(PollUntil([&] { return a_->Get("/api/health").Json()["checks"]["storage"]["degraded"] == false; },
                        seconds(20)));
  const int64_t calls = mock_->Calls("chat_completions");
  ASSERT_EQ(a_->Post("/api/chat", Ask("What is Driftwood, after the outage?")).status, 200);
  EXPECT_EQ(b_->Post("/api/chat", Ask("What is Driftwood, after the outage?")).Json()["cached"], true);
  EXPECT_EQ(mock_->Calls("chat_completions"), calls + 1);
}

}  // namespace
}  // namespace folio::test
