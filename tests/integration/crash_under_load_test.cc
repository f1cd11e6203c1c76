// crash_under_load_test.cc: workers killed with SIGKILL every second while
// 64 connections of mixed chats (cache hits, new questions, follow-ups in a
// session) and searches run through nginx for 20 s. Afterwards:
//  - the only failures are 502s, from requests in flight on a killed worker
//    (counted against the kills);
//  - supervisord replaced every killed worker within about a second;
//  - no in-flight entry, upstream slot or client ticket is left held, as
//    the surviving workers' housekeeping left things;
//  - then every process of the stack is killed at once, and the files
//    alone hold every session turn a client was answered for;
//  - every record of every database of the three LMDB environments decodes,
//    and each index entry and its record agree.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "api_keys.h"
#include "inflight.h"
#include "mock_llm.h"
#include "response_cache.h"
#include "sessions.h"
#include "stack.h"
#include "store.h"

namespace folio::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kConnections = 64;
constexpr auto kLoadFor = seconds(20);
constexpr auto kKillEvery = seconds(1);
// supervisord counts a worker as started after startsecs=1; killing a younger
// one would count as a failed start (and three make it FATAL), which is a
// different scenario from a running worker crashing.
constexpr auto kMinWorkerAge = milliseconds(1300);

// The 64 connections are 16 clients of 4 connections each, by API key, so
// the per-client concurrency tickets are exercised (and must be reclaimed
// from killed workers) without one client's limit refusing its own load.
constexpr int kClientKeys = 16;
std::string ClientKey(int i) { return "crash-under-load-client-key-" + std::to_string(i); }

std::string WriteKeysFile(const TempDir& dir) {
  const std::string path = dir.path("api_keys.txt");
  std::ofstream out(path);
  for (int i = 0; i < kClientKeys; ++i) out << ApiKeyFileLine(ClientKey(i)) << "\n";
  return path;
}

struct Ledger {
  std::mutex mu;
  std::map<std::string, std::vector<std::string>> acked;  // session id → user messages answered, in order
  std::map<int, int> statuses;
  std::vector<std::string> unexpected;  // non-200, non-502 answers
  std::vector<std::pair<Clock::time_point, Clock::time_point>> failed;  // each 502: sent, answered
  int requests = 0;
};

void Client(const TestStack& stack, int index, const std::atomic<bool>& stop, Ledger& ledger) {
  std::mt19937 rng(index);
  std::string session;  // this client's conversation, once it has one
  for (int n = 0; !stop.load(); ++n) {
    const int kind = static_cast<int>(rng() % 4);
    std::string path = "/api/chat", body, message;
    if (kind == 0) {
      path = "/api/search";
      body = R"({"query":"Which databases has Maya used?","k":3})";
    } else if (kind == 1) {
      message = "What is Tollgate?";  // the same for everybody: a cache hit after the first
      body = nlohmann::json({{"message", message}}).dump();
    } else {
      message = "Question " + std::to_string(index) + "-" + std::to_string(n) + " about Lantern?";
      nlohmann::json j = {{"message", message}};
      if (kind == 3 && !session.empty()) j["session_id"] = session;
      body = j.dump();
    }
    // Sixteen clients (by API key) of four connections each: every request
    // takes a concurrency ticket, and none is refused even while a killed
    // worker's tickets wait (≤ 1 s) to be reclaimed.
    const auto sent = Clock::now();
    HttpResponse r = stack.Post(path, body, {{{"X-API-Key", ClientKey(index % kClientKeys)}}, seconds(30)});
    const auto answered = Clock::now();
    std::lock_guard<std::mutex> lock(ledger.mu);
    if (r.status == 502) ledger.failed.emplace_back(sent, answered);
    ++ledger.requests;
    ++ledger.statuses[r.status];
    if (r.status == 200 && path == "/api/chat") {
      std::string id = r.Json()["session_id"];
      ledger.acked[id].push_back(message);
      if (kind >= 2) session = id;
    } else if (r.status != 200 && r.status != 502) {
      ledger.unexpected.push_back(std::to_string(r.status) + " " + r.body.substr(0, 200));
    }
  }
}

// Kills a worker at least kMinWorkerAge old every kKillEvery; records how long
// supervisord took to start a replacement (a pid it had not seen before).
// A kill's window: from kill() to the first poll that found the process gone
// (or a zombie). Until all its threads have run their exit, a thread that
// was blocked in accept() and is still waiting for a CPU can take one more
// connection off the shared socket before it dies (the kernel dequeues
// first, then delivers SIGKILL on the way back to user space); on two busy
// cores that wait can last tens of milliseconds.
struct KillWindow {
  pid_t pid = 0;
  Clock::time_point killed, gone = Clock::time_point::max();
};

struct Killer {
  std::vector<double> restart_ms;
  std::vector<KillWindow> kill_windows;
  int kills = 0;

  void Run(const TestStack& stack, const std::atomic<bool>& stop) {
    std::map<pid_t, Clock::time_point> seen;
    std::vector<Clock::time_point> pending_kills;  // kills not yet replaced
    std::mt19937 rng(7);
    auto next_kill = Clock::now() + kKillEvery;
    while (!stop.load() || !pending_kills.empty()) {
      const auto now = Clock::now();
      const std::vector<pid_t> alive = stack.WorkerPids();
      for (KillWindow& w : kill_windows)
        if (w.gone == Clock::time_point::max() && std::find(alive.begin(), alive.end(), w.pid) == alive.end())
          w.gone = now;
      for (pid_t p : alive) {
        if (seen.emplace(p, now).second && !pending_kills.empty()) {
          restart_ms.push_back(std::chrono::duration<double, std::milli>(now - pending_kills.front()).count());
          pending_kills.erase(pending_kills.begin());
        }
      }
      if (!stop.load() && now >= next_kill) {
        std::vector<pid_t> old_enough;
        for (pid_t p : stack.WorkerPids())
          if (now - seen[p] >= kMinWorkerAge) old_enough.push_back(p);
        const pid_t victim = old_enough.empty() ? 0 : old_enough[rng() % old_enough.size()];
        const auto before_kill = Clock::now();  // after the scan of /proc, which is slow under load
        if (victim > 0 && kill(victim, SIGKILL) == 0) {
          ++kills;
          kill_windows.push_back({victim, before_kill});
          pending_kills.push_back(now);
        }
        next_kill = now + kKillEvery;
      }
      if (stop.load() && !pending_kills.empty() && now - pending_kills.front() > seconds(10)) break;  // never replaced
      std::this_thread::sleep_for(milliseconds(20));
    }
  }
};

double Gauge(const std::string& metrics, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(metrics, m, std::regex("\n" + name + " ([0-9.e+-]+)"))) return -1;
  return std::stod(m[1]);
}

// What a stopped instance's three environments hold, every record of every
// database read (a cursor walk visits every leaf page of each B-tree) and
// checked: records decode, and each index entry and its record name each other.
struct OfflineState {
  std::map<std::string, Session> sessions;  // by LMDB key
  int session_index = 0, cache_entries = 0, cache_index = 0, cache_stats = 0, inflight = 0;
  std::vector<std::string> problems;
};

// Every (key, value) of database `name` of the environment at `path`.
std::vector<std::pair<std::string, std::string>> Walk(const std::string& path, const std::vector<std::string>& dbs,
                                                      const std::string& name, CommitSync sync,
                                                      std::vector<std::string>* problems) {
  std::vector<std::pair<std::string, std::string>> out;
  StoreOptions so;
  so.path = path;
  so.databases = dbs;
  so.commit_sync = sync;
  Result<std::unique_ptr<Store>> store = Store::Open(so);
  if (!store.ok()) {
    problems->push_back(path + ": " + store.status().ToString());
    return out;
  }
  Result<ReadTxn> txn = (*store)->BeginRead();
  Result<Db> db = (*store)->Database(name);
  if (!txn.ok() || !db.ok()) {
    problems->push_back(path + " " + name + ": cannot read");
    return out;
  }
  Status walked = txn->ForEach(*db, "", [&](std::string_view k, std::string_view v) {
    out.emplace_back(std::string(k), std::string(v));
    return true;
  });
  if (!walked.ok()) problems->push_back(path + " " + name + ": " + walked.ToString());
  return out;
}

OfflineState ReadOffline(const std::string& data) {
  OfflineState st;
  const std::string lmdb = data + "/lmdb", cache = data + "/cache", inflight = data + "/inflight";
  for (auto& [key, value] : Walk(lmdb, SessionDatabases(), kSessionsDb, CommitSync::kEveryCommit, &st.problems)) {
    Result<Session> s = DecodeSession(value);
    if (s.ok()) st.sessions.emplace(key, std::move(s.value()));
    else st.problems.push_back("session record " + key.substr(0, 6) + ": " + s.status().message());
  }
  std::set<std::string> indexed;
  for (auto& [key, value] : Walk(lmdb, SessionDatabases(), kSessionsLruDb, CommitSync::kEveryCommit, &st.problems)) {
    ++st.session_index;
    const std::string record = key.size() > 8 ? key.substr(8) : "";
    auto it = st.sessions.find(record);
    int64_t ms = 0;
    for (int i = 0; i < 8 && i < static_cast<int>(key.size()); ++i) ms = (ms << 8) | static_cast<uint8_t>(key[i]);
    if (it == st.sessions.end()) st.problems.push_back("session index entry without its record");
    else if (it->second.updated_ms != ms) st.problems.push_back("session index entry out of date");
    indexed.insert(record);
  }
  for (const auto& [key, session] : st.sessions)
    if (!indexed.count(key)) st.problems.push_back("session record " + key.substr(0, 6) + " missing from the index");

  const std::vector<std::string> cache_dbs = {kCacheEntriesDb, kCacheLruDb, kCacheStatsDb};
  std::map<std::string, int64_t> entries;  // key → last access
  for (auto& [key, value] : Walk(cache, cache_dbs, kCacheEntriesDb, CommitSync::kOnRequest, &st.problems)) {
    ++st.cache_entries;
    Result<CachedAnswer> a = DecodeCacheRecord(value);
    if (a.ok()) entries[key] = a->last_access_ms;
    else st.problems.push_back("cache entry: " + a.status().message());
  }
  std::set<std::string> cache_indexed;
  for (auto& [key, value] : Walk(cache, cache_dbs, kCacheLruDb, CommitSync::kOnRequest, &st.problems)) {
    ++st.cache_index;
    const std::string entry = key.size() > 8 ? key.substr(8) : "";
    if (!entries.count(entry)) st.problems.push_back("cache index entry without its entry");
    cache_indexed.insert(entry);
  }
  for (const auto& [key, last] : entries)
    if (!cache_indexed.count(key)) st.problems.push_back("cache entry missing from the index");
  st.cache_stats =
      static_cast<int>(Walk(cache, cache_dbs, kCacheStatsDb, CommitSync::kOnRequest, &st.problems).size());
  for (auto& [key, value] : Walk(inflight, {kInflightDb}, kInflightDb, CommitSync::kOnRequest, &st.problems)) {
    ++st.inflight;
    if (!InflightTable::IsRecord(value)) st.problems.push_back("in-flight record does not decode");
  }
  return st;
}

TEST(CrashUnderLoadTest, KilledWorkersLoseNoAnsweredTurnAndLeaveNothingStuck) {
  MockLlm mock;
  ASSERT_TRUE(mock.Start().ok());
  MockBehaviour quick;
  quick.latency_ms = 20;
  mock.SetChatDefault(quick);
  std::string error;
  const TempDir keys_dir("folio-crash-keys");
  const std::string keys_file = WriteKeysFile(keys_dir);
  auto stack = TestStack::Start({{"OPENAI_API_KEY", "sk-x"}, {"LLM_BASE_URL", mock.base_url()}, {"WORKERS", "2"},
                                 {"API_KEYS_FILE", keys_file},
                                 // Keys only name the clients here: /metrics stays the instance's.
                                 {"OPERATOR_ACCESS", "loopback"},
                                 {"CHAT_THREADS", "48"}, {"CHAT_QUEUE", "128"}, {"SESSION_MAX_MESSAGES", "1000"},
                                 {"CLIENT_MAX_CONCURRENT", "15"}, {"MAX_CONCURRENT_LLM", "64"},
                                 {"CONN_LIMIT_PER_IP", "1000"}, {"RATE_LIMIT_RPS", "100000"},
                                 {"RATE_LIMIT_BURST", "100000"}},
                                &error);
  ASSERT_NE(stack, nullptr) << error;

  Ledger ledger;
  Killer killer;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int i = 0; i < kConnections; ++i) clients.emplace_back(Client, std::cref(*stack), i, std::cref(stop), std::ref(ledger));
  std::thread killing([&] { killer.Run(*stack, stop); });
  std::this_thread::sleep_for(kLoadFor);
  stop = true;
  for (auto& t : clients) t.join();
  killing.join();

  // Failures: only 502s (nginx: the worker died holding the request).
  const int failed = ledger.statuses[502];
  EXPECT_TRUE(ledger.unexpected.empty()) << ledger.unexpected.size() << " unexpected, first: " << ledger.unexpected[0];
  EXPECT_EQ(ledger.statuses[0], 0) << "requests without any answer";
  EXPECT_GT(killer.kills, 10);
  // A request fails only if the killed worker held it: every 502 was in
  // flight when a kill happened (connections still in the shared socket's
  // backlog go to the other worker, not to a 502), so no kill can fail more
  // than the 64 connections. How many it does fail depends on how many the
  // killed worker was holding (about half when both are equally fast).
  int unexplained = 0;
  for (const auto& [sent, answered] : ledger.failed) {
    bool spans_a_kill = false;
    for (const KillWindow& k : killer.kill_windows)  // sent before the process was gone, failed after the kill
      spans_a_kill |= sent <= k.gone && k.killed <= answered;
    unexplained += !spans_a_kill;
  }
  EXPECT_EQ(unexplained, 0) << "502s that were not in flight at any kill";
  std::printf("[ 502s     ] %zu, %d of them not in flight at a kill\n", ledger.failed.size(), unexplained);
  double slowest_exit_ms = 0;
  for (const KillWindow& k : killer.kill_windows)
    if (k.gone != Clock::time_point::max())
      slowest_exit_ms = std::max(slowest_exit_ms, std::chrono::duration<double, std::milli>(k.gone - k.killed).count());
  std::printf("[ kills    ] a killed worker was gone within %.0f ms (polled every 20 ms)\n", slowest_exit_ms);
  EXPECT_LE(failed, killer.kills * kConnections);
  ::testing::Test::RecordProperty("requests", ledger.requests);
  ::testing::Test::RecordProperty("kills", killer.kills);
  ::testing::Test::RecordProperty("failed_502", failed);
  std::printf("[ load     ] %d requests, %d answered 200, %d failed (502) over %d kills: %.1f per kill\n",
              ledger.requests, ledger.statuses[200], failed, killer.kills,
              killer.kills ? static_cast<double>(failed) / killer.kills : 0.0);

  // supervisord replaced every killed worker, each within about a second.
  ASSERT_EQ(static_cast<int>(killer.restart_ms.size()), killer.kills) << "a killed worker was never replaced";
  double worst = 0;
  for (double ms : killer.restart_ms) worst = std::max(worst, ms);
  std::printf("[ restarts ] %zu, slowest %.0f ms after the kill (polled every 20 ms)\n", killer.restart_ms.size(), worst);
  EXPECT_LE(worst, 1100) << "a worker took longer than a second to come back";

  // Nothing left held by the killed workers, as the survivors' housekeeping
  // found it (/metrics reclaims nothing itself): in-flight records (results
  // linger 5 s, then purge), upstream slots, client tickets.
  std::string metrics;
  const bool settled = MockLlm::WaitFor(
      [&] {
        metrics = stack->Get("/metrics").body;
        return Gauge(metrics, "folio_inflight_entries") == 0 && Gauge(metrics, "folio_upstream_slots_in_use") == 0 &&
               Gauge(metrics, "folio_client_tickets_in_use") == 0;
      },
      seconds(20));
  EXPECT_TRUE(settled) << "in-flight " << Gauge(metrics, "folio_inflight_entries") << ", upstream slots "
                       << Gauge(metrics, "folio_upstream_slots_in_use") << ", client tickets "
                       << Gauge(metrics, "folio_client_tickets_in_use");
  EXPECT_EQ(stack->Get("/ready").status, 200);

  // Every process of the stack killed at once, nothing stopped in order:
  // what an answer promised must be in the files.
  const std::string data = stack->data_dir();
  stack->KillEverything();
  const OfflineState state = ReadOffline(data);

  // Every answered turn is in its session, in order.
  int sessions = 0, turns = 0, lost = 0;
  for (const auto& [id, messages] : ledger.acked) {
    ++sessions;
    turns += static_cast<int>(messages.size());
    auto found = state.sessions.find(SessionKey(id));
    if (found == state.sessions.end()) {
      lost += static_cast<int>(messages.size());
      ADD_FAILURE() << "session " << id.substr(0, 6) << " answered " << messages.size() << " turns but is not stored";
      continue;
    }
    std::vector<std::string> stored;
    for (const Message& m : found->second.messages)
      if (m.role == Role::kUser) stored.push_back(m.content);
    size_t at = 0;  // acked must be a subsequence: a turn committed but never answered may sit between
    for (const std::string& s : stored)
      if (at < messages.size() && s == messages[at]) ++at;
    if (at != messages.size()) {
      lost += static_cast<int>(messages.size() - at);
      ADD_FAILURE() << "session " << id.substr(0, 6) << " lost an answered turn: " << messages[at];
    }
  }
  std::printf("[ sessions ] %d sessions, %d answered turns, %d lost (read from the files after killing everything)\n",
              sessions, turns, lost);
  EXPECT_EQ(lost, 0);
  EXPECT_GT(state.cache_entries, 0);
  std::printf("[ storage  ] every record of every database walked: %zu sessions (+ %d index entries), %d cache entries "
              "(+ %d index entries), %d in-flight records; %d problems\n",
              state.sessions.size(), state.session_index, state.cache_entries, state.cache_index, state.inflight,
              static_cast<int>(state.problems.size()));
  for (size_t i = 0; i < std::min<size_t>(state.problems.size(), 10); ++i) ADD_FAILURE() << state.problems[i];
  mock.Stop();
}

}  // namespace
}  // namespace folio::test
