// faults_process_test.cc: the processes around the workers failing or being
// replaced while requests run:
//  - nginx reloaded (SIGHUP to its master) under 16 connections of chats,
//    streams and searches: no request fails, a stream spanning it completes;
//  - nginx restarted (supervisorctl restart nginx) and its master killed
//    (SIGKILL, supervisord starts another): the only failures are
//    connections refused or reset during the gap, the stack serves again
//    within a bound, no worker restarts, no answered turn is lost, and no
//    orphaned nginx worker is left holding the ports;
//  - the whole stack SIGTERM'd mid-stream: the stream ends with its done
//    event, a plain chat in flight gets its answer, both turns are committed,
//    and every process is gone within DRAIN_TIMEOUT_S;
//  - a process that dies inside a read transaction of each LMDB environment:
//    the running workers' housekeeping frees its reader slot (read from the
//    reader table itself), with no worker restarted.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <sstream>
#include <thread>

#include "chat_load.h"
#include "child.h"
#include "clock.h"
#include "mock_llm.h"
#include "inflight.h"
#include "proc_util.h"
#include "response_cache.h"
#include "sessions.h"
#include "stack_suite.h"
#include "store.h"

namespace folio::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kClients = 16;
constexpr int kDrainS = 10;
// Answers the load has before a fault (it is under way on every client)
// and after the stack serves again (what clients send then succeeds);
// both together are over the 100 requests a reload test asks for.
constexpr int kWarmUp = 3 * kClients, kAfterwards = 4 * kClients;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

MockBehaviour Reply(const std::string& text, int latency_ms = 0, int token_delay_ms = 0) {
  MockBehaviour b;
  b.reply = text;
  b.latency_ms = latency_ms;
  b.token_delay_ms = token_delay_ms;
  return b;
}

std::string Words(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += (i ? " w" : "w") + std::to_string(i);
  return s;
}

// Chats (every fifth one streamed, later ones continuing the client's
// session) and searches, each with its own text so that none is a cache hit.
ChatLoad::Request MixedRequest(int client, int n) {
  std::string text = "client " + std::to_string(client) + " question " + std::to_string(n) + " about Tollgate?";
  if (n % 3 == 0) return {Kind::kSearch, text};
  return {n % 5 == 4 ? Kind::kStream : Kind::kChat, text};
}

// The nginx master: the nginx process whose parent is supervisord.
pid_t NginxMaster(const TestStack& stack) {
  for (pid_t p : stack.NginxPids())
    if (ParentOf(p) == stack.supervisord_pid()) return p;
  return -1;
}

// Live processes named nginx whose process group is `pgid` (a master's
// workers). An orphan that exited is a zombie of this test process (the
// stack's subreaper) until reaped: not counted.
std::vector<pid_t> NginxInGroup(pid_t pgid) {
  std::vector<pid_t> out;
  for (pid_t p : AllPids())
    if (ProcessName(p) == "nginx" && getpgid(p) == pgid && ProcessAlive(p)) out.push_back(p);
  return out;
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

class NginxFaultTest : public StackSuite {
 protected:
  static void SetUpTestSuite() {
    StartStack({{"OPENAI_API_KEY", "sk-x"}, {"WORKERS", "2"},
                // 2 × 12 chat threads, each keeping a connection to the mock:
                // within its 32 server threads (more would queue for 1 s).
                {"CHAT_THREADS", "12"}, {"RATE_LIMIT_RPS", "100000"}, {"RATE_LIMIT_BURST", "100000"},
                {"CONN_LIMIT_PER_IP", "1000"}, {"DRAIN_TIMEOUT_S", std::to_string(kDrainS)}},
               WithMock());
  }
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StackSuite::SetUp());
    mock_->Reset();
    mock_->SetChatDefault(Reply("a real answer for the load", 20));
    workers_ = stack_->WorkerPids();
    ASSERT_EQ(workers_.size(), 2u);
    master_ = NginxMaster(*stack_);
    ASSERT_GT(master_, 0);
  }
  // Workers are never restarted by anything nginx does.
  void TearDown() override {
    if (stack_ != nullptr) {
      EXPECT_EQ(stack_->WorkerPids(), workers_);
    }
  }

  // Every chat answered is in its session.
  static void ExpectAnsweredTurnsStored(const std::vector<Outcome>& outcomes) {
    std::map<std::string, std::set<std::string>> stored;
    int turns = 0;
    for (const Outcome& o : outcomes) {
      std::string id = o.AnsweredSession();
      if (id.empty()) continue;
      ++turns;
      if (!stored.count(id)) {
        HttpResponse r = stack_->Get("/api/sessions/" + id);
        ASSERT_EQ(r.status, 200) << "answered session lost: " << o.Describe();
        const nlohmann::json body = r.Json();  // kept alive: the loop walks into it
        for (const auto& m : body["messages"]) stored[id].insert(m["content"].get<std::string>());
      }
      // SESSION_MAX_MESSAGES (100) keeps the last turns: older ones may be gone
      // from a session that continued, never from one that did not.
      bool last_turn = true;
      for (const Outcome& later : outcomes)
        if (later.session_sent == id && later.start > o.start && !later.AnsweredSession().empty()) last_turn = false;
      if (last_turn) {
        EXPECT_TRUE(stored[id].count(o.message)) << "turn lost: " << o.Describe();
      }
    }
    EXPECT_GT(turns, 20);
  }

  std::vector<pid_t> workers_;
  pid_t master_ = -1;
};

TEST_F(NginxFaultTest, ReloadUnderLoadFailsNoRequest) {
  // A stream that spans the reload: the old nginx worker finishes it.
  const std::string slow = Words(20);
  mock_->PushChat(Reply(slow, 0, 100));
  Outcome stream;
  std::thread streaming([&] { stream = Send(stack_->port(), Kind::kStream, "a slow stream across the reload"); });
  ASSERT_TRUE(MockLlm::WaitFor([] { return mock_->Calls("chat_completions") >= 1; }));
  std::vector<pid_t> old_workers;
  for (pid_t p : stack_->NginxPids())
    if (p != master_) old_workers.push_back(p);

  ChatLoad load(stack_->port(), kClients, MixedRequest);
  load.Start();
  EXPECT_TRUE(load.WaitForMore(kWarmUp)) << "the load never got going";
  const auto reloaded = Clock::now();
  ASSERT_EQ(kill(master_, SIGHUP), 0);
  bool old_gone = MockLlm::WaitFor([&] {
    for (pid_t p : old_workers)
      if (ProcessAlive(p)) return false;
    return true;
  }, seconds(kDrainS + 5));
  const double old_gone_ms = Ms(Clock::now() - reloaded);
  EXPECT_TRUE(load.WaitForMore(kAfterwards)) << "nothing answered after the reload";
  load.Stop();
  streaming.join();

  EXPECT_TRUE(old_gone) << "the old nginx workers never exited";
  EXPECT_EQ(NginxMaster(*stack_), master_) << "a reload keeps the master";
  std::vector<Outcome> outcomes = load.outcomes();
  int failed = 0;
  for (const Outcome& o : outcomes)
    if (!o.Answered()) ++failed, ADD_FAILURE() << o.Describe();
  EXPECT_GT(outcomes.size(), 100u);
  EXPECT_EQ(failed, 0);
  ASSERT_TRUE(stream.Answered()) << stream.Describe();
  std::string text;
  for (const SseEvent& e : stream.events)
    if (e.name == "token") text += e.data["text"].get<std::string>();
  EXPECT_EQ(text, slow);
  ExpectAnsweredTurnsStored(outcomes);
  Clock::duration slowest{};
  for (const Outcome& o : outcomes) slowest = std::max(slowest, o.end - o.start);
  std::printf("[ reload   ] %zu requests, %d failed, slowest %.0f ms; old nginx workers gone %.0f ms after SIGHUP\n",
              outcomes.size(), failed, Ms(slowest), old_gone_ms);
}

// Failures are connection-level (no HTTP answer) and lie in [from, to].
void ExpectOnlyConnectionFailuresWithin(const std::vector<Outcome>& outcomes, Clock::time_point from,
                                        Clock::time_point to, const char* what) {
  int failed = 0, in_flight = 0;
  Clock::time_point first = to, last = from;
  for (const Outcome& o : outcomes) {
    if (o.Answered()) continue;
    ++failed;
    in_flight += o.start < from;
    EXPECT_EQ(o.response.status, 0) << "an HTTP error, not a refused connection: " << o.Describe();
    EXPECT_TRUE(o.end >= from && o.start <= to) << "failed outside the restart window: " << o.Describe();
    first = std::min(first, o.start), last = std::max(last, o.end);
  }
  // Clients retry a refused connection after 10 ms (ChatLoad), so `failed`
  // counts attempts; the window is what a client would see.
  std::printf("[ %-8s ] %zu requests, %d attempts failed (connection refused/reset) within %.0f ms, %d of them "
              "already in flight at the fault\n",
              what, outcomes.size(), failed, failed ? Ms(last - first) : 0.0, in_flight);
  ::testing::Test::RecordProperty(std::string(what) + "_failed", failed);
  ::testing::Test::RecordProperty(std::string(what) + "_in_flight_failed", in_flight);
}

TEST_F(NginxFaultTest, RestartUnderLoadFailsOnlyConnectionsDuringTheGap) {
  ChatLoad load(stack_->port(), kClients, MixedRequest);
  load.Start();
  EXPECT_TRUE(load.WaitForMore(kWarmUp)) << "the load never got going";
  const auto restart = Clock::now();
  std::string out;
  ASSERT_EQ(stack_->Supervisorctl("restart nginx", &out), 0) << out;
  const HttpResponse ping = PollHttp(stack_->port(), "/ping", [](const HttpResponse& r) { return r.status == 200; },
                                     seconds(10));
  const auto serving = Clock::now();
  EXPECT_TRUE(load.WaitForMore(kAfterwards)) << "nothing answered after the restart";
  load.Stop();

  ASSERT_EQ(ping.status, 200) << "nginx did not come back";
  EXPECT_LT(serving - restart, seconds(5));
  EXPECT_NE(NginxMaster(*stack_), master_);
  std::vector<Outcome> outcomes = load.outcomes();
  ExpectOnlyConnectionFailuresWithin(outcomes, restart, serving + milliseconds(100), "restart");
  ExpectAnsweredTurnsStored(outcomes);
  std::printf("[ restart  ] serving again %.0f ms after `supervisorctl restart nginx` began\n",
              Ms(serving - restart));
}

// nginx's workers outlive a master killed outright and keep its ports:
// scripts/nginx-run stops them, so supervisord's next nginx can bind.
TEST_F(NginxFaultTest, KilledMasterIsReplacedWithoutOrphansOrARestartLoop) {
  const size_t exits_before = Count(stack_->ReadLog("supervisord.log"), "exited: nginx");
  ChatLoad load(stack_->port(), kClients, MixedRequest);
  load.Start();
  EXPECT_TRUE(load.WaitForMore(kWarmUp)) << "the load never got going";
  const auto killed = Clock::now();
  ASSERT_EQ(kill(master_, SIGKILL), 0);
  // Whatever the outcome, no orphan of this test outlives it.
  struct Reap {
    pid_t group;
    ~Reap() {
      for (pid_t p : NginxInGroup(group)) kill(p, SIGKILL);
    }
  } reap{master_};
  pid_t replacement = -1;
  const bool replaced = MockLlm::WaitFor([&] {
    replacement = NginxMaster(*stack_);
    return replacement > 0 && replacement != master_ && NginxInGroup(master_).empty() &&
           stack_->Get("/ping", {{}, milliseconds(500)}).status == 200;
  }, seconds(kDrainS + 5));
  const auto serving = Clock::now();
  std::this_thread::sleep_for(milliseconds(3000));  // long enough for a failed bind to show (nginx tries ~2.5 s)
  load.Stop();

  ASSERT_TRUE(replaced) << "old workers still running: " << NginxInGroup(master_).size() << "\n"
                        << stack_->ReadLog("nginx-error.log");
  EXPECT_EQ(NginxMaster(*stack_), replacement) << "nginx is being restarted over and over";
  EXPECT_EQ(Count(stack_->ReadLog("supervisord.log"), "exited: nginx"), exits_before + 1)
      << stack_->ReadLog("supervisord.log");
  std::vector<Outcome> outcomes = load.outcomes();
  ExpectOnlyConnectionFailuresWithin(outcomes, killed, serving + milliseconds(100), "kill -9");
  ExpectAnsweredTurnsStored(outcomes);
  std::printf("[ kill -9  ] a new master serving and no orphan left %.0f ms after the kill\n", Ms(serving - killed));
}

TEST(StackSigtermTest, StreamInFlightFinishesItsTurnIsCommittedAndNothingIsLeft) {
  MockLlm mock;
  ASSERT_TRUE(mock.Start().ok());
  std::string error;
  auto stack = TestStack::Start({{"OPENAI_API_KEY", "sk-x"}, {"LLM_BASE_URL", mock.base_url()},
                                 {"DRAIN_TIMEOUT_S", std::to_string(kDrainS)}},
                                &error);
  ASSERT_NE(stack, nullptr) << error;
  std::vector<pid_t> family = stack->Descendants();
  const std::string data_dir = stack->data_dir();

  // ≈ 2.5 s of tokens, then a plain chat whose upstream takes 1.5 s.
  const std::string streamed = Words(25), plain = "the plain answer arrives after the signal";
  mock.PushChat(Reply(streamed, 0, 100));
  Outcome stream, chat;
  std::atomic<size_t> tokens_received{0};
  // jthreads: an ASSERT that returns early still joins them (no terminate()).
  std::jthread streaming([&] {
    stream = Send(stack->port(), Kind::kStream, "stream through the shutdown", "", seconds(30),
                  [&](const std::string& so_far) { tokens_received = Count(so_far, "event: token"); });
  });
  ASSERT_TRUE(MockLlm::WaitFor([&] { return mock.Calls("chat_completions") >= 1; }));
  mock.PushChat(Reply(plain, 1500));
  std::jthread chatting([&] { chat = Send(stack->port(), Kind::kChat, "plain chat through the shutdown"); });
  ASSERT_TRUE(MockLlm::WaitFor([&] { return mock.Calls("chat_completions") >= 2; }));
  ASSERT_TRUE(MockLlm::WaitFor([&] { return tokens_received >= 3; })) << "the stream's tokens never reached the client";

  const auto signalled = Clock::now();
  const int rc = stack->Terminate(seconds(kDrainS + 10));
  const double drain_ms = Ms(Clock::now() - signalled);
  streaming.join();
  chatting.join();

  EXPECT_EQ(rc, 0);
  EXPECT_LT(drain_ms, kDrainS * 1000.0);
  for (pid_t p : family) EXPECT_FALSE(ProcessAlive(p)) << "left behind: " << p << " " << ProcessName(p);
  ASSERT_TRUE(stream.Answered()) << stream.Describe();
  std::string text;
  for (const SseEvent& e : stream.events)
    if (e.name == "token") text += e.data["text"].get<std::string>();
  EXPECT_EQ(text, streamed);
  ASSERT_TRUE(chat.Answered()) << chat.Describe();
  EXPECT_EQ(chat.response.Json()["response"], plain);

  // Both turns are in the store the stack left behind.
  StoreOptions options;
  options.path = data_dir + "/lmdb";
  options.databases = SessionDatabases();
  options.map_size_mb = 256;  // LMDB_MAP_MB's default, as the stack ran
  Result<std::unique_ptr<Store>> store = Store::Open(options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  Result<SessionStore> sessions = SessionStore::Open(store->get());
  ASSERT_TRUE(sessions.ok());
  for (const Outcome* o : {&stream, &chat}) {
    Result<Session> s = sessions->Get(o->AnsweredSession(), UnixNow());
    ASSERT_TRUE(s.ok()) << s.status().ToString() << ": " << o->Describe();
    ASSERT_EQ(s->messages.size(), 2u);
    EXPECT_EQ(s->messages[0].content, o->message);
    EXPECT_EQ(s->messages[1].content, o == &stream ? streamed : plain);
  }
  std::printf("[ sigterm  ] stack exited %.0f ms after SIGTERM (stream of 2.5 s in flight, DRAIN_TIMEOUT_S=%d)\n",
              drain_ms, kDrainS);
  mock.Stop();
}

// The pids in an environment's reader table, as `mdb_stat -r` prints it
// (it opens the environment without taking a slot of its own, and without
// clearing stale ones: that is -rr).
std::set<pid_t> ReaderPids(const std::string& env_dir) {
  std::string out;
  RunCommand("mdb_stat -r " + env_dir, &out);
  std::set<pid_t> pids;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    long pid = 0;
    std::string thread, txnid;
    if (fields >> pid >> thread >> txnid && pid > 0) pids.insert(static_cast<pid_t>(pid));
  }
  return pids;
}

TEST(ReaderSlotTest, ADeadProcessesReaderSlotsAreFreedByTheWorkersHousekeeping) {
  std::string error;
  auto stack = TestStack::Start({}, &error);
  ASSERT_NE(stack, nullptr) << error;
  ASSERT_EQ(stack->Post("/api/chat", R"({"message":"Fill the cache a little?"})").status, 200);
  const std::vector<pid_t> workers = stack->WorkerPids();
  const std::string data = stack->data_dir();
  struct Env {
    std::string dir;
    std::vector<std::string> dbs;
    CommitSync sync;
  };
  const std::vector<Env> envs = {
      {data + "/lmdb", SessionDatabases(), CommitSync::kEveryCommit},
      {data + "/cache", {kCacheEntriesDb, kCacheLruDb, kCacheStatsDb}, CommitSync::kOnRequest},
      {data + "/inflight", {kInflightDb}, CommitSync::kOnRequest},
  };
  // A process that opens each environment, begins a read transaction in
  // it, and is killed holding all three.
  Pipe ready;
  Child reader([&] {
    std::vector<std::unique_ptr<Store>> stores;
    std::vector<ReadTxn> txns;
    for (const Env& e : envs) {
      StoreOptions so;
      so.path = e.dir;
      so.databases = e.dbs;
      so.commit_sync = e.sync;
      so.map_size_mb = e.dir == data + "/lmdb" ? 256 : e.dir == data + "/cache" ? 96 : 64;
      Result<std::unique_ptr<Store>> store = Store::Open(so);
      if (!store.ok()) return 1;
      Result<ReadTxn> txn = (*store)->BeginRead();
      if (!txn.ok()) return 2;
      txns.push_back(std::move(txn.value()));
      stores.push_back(std::move(store.value()));
    }
    ready.Signal();
    pause();
    return 0;
  });
  ASSERT_EQ(ready.Wait(seconds(30)), '!') << "the reader process failed to open the environments";
  const pid_t reader_pid = reader.pid();
  for (const Env& e : envs) EXPECT_TRUE(ReaderPids(e.dir).count(reader_pid)) << e.dir << ": no slot of the reader";
  reader.Kill();
  const auto killed = Clock::now();
  for (const Env& e : envs) {
    EXPECT_TRUE(MockLlm::WaitFor([&] { return !ReaderPids(e.dir).count(reader_pid); }, seconds(15)))
        << e.dir << ": the dead reader's slot is still held";
  }
  std::printf("[ readers  ] a dead process's slots in 3 environments freed within %.0f ms by the housekeeping\n",
              Ms(Clock::now() - killed));
  EXPECT_EQ(stack->WorkerPids(), workers) << "a worker restarted: its start-up, not the housekeeping, cleared them";
}

}  // namespace
}  // namespace folio::test
