// session_flood_test.cc: clients creating sessions flat out cannot stop
// another client's conversation from being saved. One client is held to
// its new-session budget (CLIENT_SESSIONS_PER_MIN); many addresses (behind
// the trusted proxy the test plays) that fill a small store make the least
// recently used sessions go, never the conversation in use. Prints the
// store's size under that load.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "stack.h"

namespace folio::test {
namespace {

using std::chrono::seconds;

// 2,000 characters of 4 bytes each after a greeting: as much as one message
// may store (≈ 8 KB).
std::string BigMessage() {
  std::string m = "hi ";
  for (int i = 0; i < 1997; ++i) m += "\xF0\x9F\x98\x80";
  return m;
}

HttpResponse NewChat(const TestStack& stack, const std::string& message, const std::string& client) {
  HttpOptions options{{{"X-Forwarded-For", client}}, std::chrono::milliseconds(15000)};
  return stack.Post("/api/chat", nlohmann::json({{"message", message}}).dump(), options);
}

class SessionFloodTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    stack_ = TestStack::Start({{"TRUSTED_PROXIES", "127.0.0.1/32"},
                               {"LMDB_MAP_MB", "8"},
                               {"CLIENT_SESSIONS_PER_MIN", "10"},
                               {"RATE_LIMIT_RPS", "100000"},
                               {"RATE_LIMIT_BURST", "100000"}},
                              &error);
    ASSERT_NE(stack_, nullptr) << error;
  }

  // The victim's conversation: a first turn, then one per call.
  void VictimTurn(int n) {
    HttpOptions options{{{"X-Forwarded-For", "198.51.100.7"}}, std::chrono::milliseconds(15000)};
    nlohmann::json body = {{"message", "victim question " + std::to_string(n) + ": what has she built?"}};
    if (!victim_session_.empty()) body["session_id"] = victim_session_;
    HttpResponse r = stack_->Post("/api/chat", body.dump(), options);
    ASSERT_EQ(r.status, 200) << r.body;
    victim_session_ = r.Json()["session_id"];
    victim_turns_.push_back("victim question " + std::to_string(n) + ": what has she built?");
  }

  // Every turn the victim was answered for is in its transcript.
  void ExpectVictimConversationWhole() {
    HttpResponse got = stack_->Get("/api/sessions/" + victim_session_);
    ASSERT_EQ(got.status, 200) << got.body;
    std::set<std::string> stored;
    const nlohmann::json body = got.Json();
    for (const auto& m : body["messages"]) stored.insert(m["content"].get<std::string>());
    for (const std::string& turn : victim_turns_) EXPECT_TRUE(stored.count(turn)) << "lost: " << turn;
  }

  long StoreFileKb() {
    std::error_code ec;
    auto size = std::filesystem::file_size(stack_->data_dir() + "/lmdb/data.mdb", ec);
    return ec ? -1 : static_cast<long>(size / 1024);
  }

  std::unique_ptr<TestStack> stack_;
  std::string victim_session_;
  std::vector<std::string> victim_turns_;
};

TEST_F(SessionFloodTest, OneClientIsHeldToItsNewSessionBudget) {
  VictimTurn(0);
  int created = 0, refused = 0;
  for (int i = 0; i < 60; ++i) {
    HttpResponse r = NewChat(*stack_, BigMessage(), "203.0.113.66");
    if (r.status == 200) ++created;
    if (r.status == 429) {
      ++refused;
      EXPECT_EQ(r.Json()["error"]["code"], "session_budget") << r.body;
      EXPECT_NE(r.Header("retry-after"), "");
    }
    if (i % 10 == 0) VictimTurn(i + 1);
  }
  std::printf("[sessions] one client, 60 new chats flat out: %d created, %d refused\n", created, refused);
  EXPECT_LE(created, 10);
  EXPECT_EQ(created + refused, 60);
  ExpectVictimConversationWhole();
}

TEST_F(SessionFloodTest, ManyAddressesFillingTheStoreEvictOthersNotTheConversationInUse) {
  VictimTurn(0);
  constexpr int kThreads = 4, kPerThread = 400;  // ≈ 1,600 sessions of ≈ 10 KB into 8 MB
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string message = BigMessage();
      for (int i = 0; i < kPerThread; ++i) {
        // A new address for every session: no per-client budget helps here.
        const std::string client = "10." + std::to_string(t) + "." + std::to_string(i / 250) + "." + std::to_string(i % 250);
        (NewChat(*stack_, message, client).status == 200 ? ok : failed)++;
      }
    });
  }
  long peak_kb = 0;
  for (int n = 1; ok + failed < kThreads * kPerThread; ++n) {
    VictimTurn(n);
    peak_kb = std::max(peak_kb, StoreFileKb());
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (std::thread& t : threads) t.join();
  VictimTurn(1000);
  peak_kb = std::max(peak_kb, StoreFileKb());

  std::string metrics = stack_->Get("/metrics").body;
  const size_t at = metrics.find("\nfolio_sessions_evicted_total ");
  ASSERT_NE(at, std::string::npos) << metrics.substr(0, 2000);
  const long evicted = std::atol(metrics.c_str() + at + std::string("\nfolio_sessions_evicted_total ").size());
  const nlohmann::json storage = stack_->Get("/api/health").Json()["checks"]["storage"];
  std::printf("[sessions] %d sessions from %d addresses into an 8 MB store: %d answered, %d failed, %ld evicted; "
              "store file %.1f MB at most, %.1f MB in use at the end; the victim's %zu turns all saved\n",
              kThreads * kPerThread, kThreads * kPerThread, ok.load(), failed.load(), evicted, peak_kb / 1024.0,
              storage.value("map_used_mb", -1.0), victim_turns_.size());
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(evicted, 0) << "the store never filled: the test proves nothing";
  EXPECT_LE(peak_kb, 8 * 1024);
  ExpectVictimConversationWhole();
  EXPECT_EQ(storage["status"], "ok") << storage.dump();
}

}  // namespace
}  // namespace folio::test
