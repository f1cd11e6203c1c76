// backup_restore_test.cc: backups, restores and store formats through the
// real stack (scripts/start, supervisord, nginx, two workers; the LLM is the
// mock) and the real folio-admin binary:
//  - the disaster-recovery drill: chats under load, a backup taken mid-load
//    with no request failing, every process SIGKILLed and DATA_DIR wiped,
//    the backup restored, a new stack started: every turn answered before
//    the backup began is in its session, and the instance serves;
//  - restore refuses a running instance, and a truncated, damaged or
//    manifest-less backup (as does verify-backup), exit 1, the store
//    byte for byte as it was;
//  - a store written by a newer folio is refused at start, /ready naming
//    why, and left untouched;
//  - scheduled backups: one worker makes one when due, the newest
//    BACKUP_KEEP stay, /api/health and folio-admin status show its age, and
//    a failing backup directory is flagged by both.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include "admin_run.h"
#include "backup_schedule.h"
#include "chat_load.h"
#include "clock.h"
#include "file_util.h"
#include "mock_llm.h"
#include "proc_util.h"
#include "child.h"
#include "temp_dir.h"
#include "stack.h"
#include "state_layout.h"
#include "store_format.h"

namespace folio::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

// Stacks here take chats from one test client as fast as it sends them.
std::map<std::string, std::string> Env(std::map<std::string, std::string> extra) {
  std::map<std::string, std::string> env = {{"RATE_LIMIT_RPS", "100000"}, {"RATE_LIMIT_BURST", "100000"},
                                            {"CONN_LIMIT_PER_IP", "1000"}};
  for (auto& [k, v] : extra) env[k] = v;
  return env;
}

std::unique_ptr<TestStack> StartOrFail(const std::map<std::string, std::string>& env) {
  std::string error;
  std::unique_ptr<TestStack> stack = TestStack::Start(env, &error);
  EXPECT_NE(stack, nullptr) << error;
  return stack;
}

std::string NewChat(const TestStack& stack, const std::string& message) {
  HttpResponse r = stack.Post("/api/chat", ChatBody(message));
  EXPECT_EQ(r.status, 200) << r.body;
  return r.status == 200 ? r.Json().value("session_id", "") : "";
}

// The user messages of a session, oldest first, read through the stack.
std::vector<std::string> Transcript(const TestStack& stack, const std::string& id) {
  std::vector<std::string> out;
  HttpResponse r = stack.Get("/api/sessions/" + id);
  EXPECT_EQ(r.status, 200) << "session " << id.substr(0, 6) << ": " << r.body;
  if (r.status != 200) return out;
  const nlohmann::json body = r.Json();  // kept: the loop walks into it
  for (const auto& m : body["messages"])
    if (m.value("role", "") == "user") out.push_back(m.value("content", ""));
  return out;
}

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::string WorkerLogs(const TestStack& stack) {
  std::string all;
  for (const auto& e : fs::directory_iterator(stack.log_dir())) {
    const std::string name = e.path().filename().string();
    if (name.rfind("worker-", 0) == 0 && name.find("stderr") == std::string::npos) all += ReadFile(e.path().string());
  }
  return all;
}

TEST(BackupDrillTest, TurnsAnsweredBeforeTheBackupSurviveLosingEveryProcessAndTheDataDirectory) {
  MockLlm mock;
  ASSERT_TRUE(mock.Start().ok());
  MockBehaviour quick;
  quick.latency_ms = 20;
  mock.SetChatDefault(quick);
  TempDir root;
  const std::string data = root.path() + "/data", backup = root.path() + "/backup";
  const auto env = Env({{"OPENAI_API_KEY", "sk-drill"}, {"LLM_BASE_URL", mock.base_url()}, {"DATA_DIR", data},
                        {"SESSION_MAX_MESSAGES", "10000"}, {"SESSION_MAX_KB", "4096"}});
  std::unique_ptr<TestStack> first = StartOrFail(env);
  ASSERT_NE(first, nullptr);

  // Twelve clients, each continuing its own conversation, some streamed.
  ChatLoad load(first->port(), 12, [](int client, int n) {
    return ChatLoad::Request{n % 3 == 2 ? Kind::kStream : Kind::kChat,
                             "Drill question " + std::to_string(client) + "-" + std::to_string(n) + " about Lantern?"};
  });
  load.Start();
  auto answered = [&] {
    int n = 0;
    for (const Outcome& o : load.outcomes()) n += o.Answered() ? 1 : 0;
    return n;
  };
  ASSERT_TRUE(MockLlm::WaitFor([&] { return answered() >= 60; }, seconds(30)));
  const Clock::time_point backup_began = Clock::now();
  AdminRun made = RunAdmin("backup " + ShellQuote(backup) + " --json", first->env());
  const Clock::time_point backup_ended = Clock::now();
  const int answered_after_backup = answered();
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  // The load goes on past the backup: turns it must not hold.
  EXPECT_TRUE(MockLlm::WaitFor([&] { return answered() >= answered_after_backup + 30; }, seconds(30)));
  load.Stop();
  const std::vector<Outcome> outcomes = load.outcomes();
  int failed = 0;
  for (const Outcome& o : outcomes) {
    if (!o.Answered()) ADD_FAILURE() << "failed during the drill: " << o.Describe();
    failed += o.Answered() ? 0 : 1;
  }
  EXPECT_EQ(failed, 0);

  first->KillEverything();
  fs::remove_all(data);
  ASSERT_FALSE(fs::exists(data));
  AdminRun restored = RunAdmin("restore " + ShellQuote(backup), first->env());
  ASSERT_EQ(restored.exit_code, 0) << restored.out << restored.err;
  std::unique_ptr<TestStack> second = StartOrFail(env);
  ASSERT_NE(second, nullptr);

  // Every turn answered before the backup began, in its session, in order.
  std::map<std::string, std::vector<std::string>> acked;  // session → its answered messages, oldest first
  std::vector<const Outcome*> before;
  for (const Outcome& o : outcomes)
    if (o.Answered() && o.end < backup_began) before.push_back(&o);
  std::sort(before.begin(), before.end(), [](const Outcome* a, const Outcome* b) { return a->end < b->end; });
  for (const Outcome* o : before) acked[o->AnsweredSession()].push_back(o->message);
  int turns = 0, lost = 0;
  for (const auto& [id, messages] : acked) {
    const std::vector<std::string> stored = Transcript(*second, id);
    size_t at = 0;  // a subsequence: turns answered after the backup began may sit between
    for (const std::string& s : stored)
      if (at < messages.size() && s == messages[at]) ++at;
    turns += static_cast<int>(messages.size());
    lost += static_cast<int>(messages.size() - at);
    EXPECT_EQ(at, messages.size()) << "session " << id.substr(0, 6) << " lost " << messages[at] << "; it holds "
                                   << stored.size() << " turns, the first " << (stored.empty() ? "" : stored[0]);
  }
  // And none sent after it ended: what was restored is the backup.
  int later = 0, later_found = 0;
  for (const Outcome& o : outcomes) {
    if (!o.Answered() || o.start < backup_ended) continue;
    ++later;
    const std::vector<std::string> stored = Transcript(*second, o.AnsweredSession());
    later_found += std::count(stored.begin(), stored.end(), o.message) > 0 ? 1 : 0;
  }
  EXPECT_GT(later, 0);
  EXPECT_EQ(later_found, 0) << "turns sent after the backup ended were restored";
  std::printf("[ drill    ] %zu requests, 0 failed; backup of %s sessions, %s bytes in %.3f s taken mid-load; "
              "%d turns in %zu sessions answered before it began, %d lost after kill -9 of every process, "
              "wiping DATA_DIR and restoring; %d turns sent after it, none restored\n",
              outcomes.size(), made.Json()["manifest"]["sessions"].dump().c_str(), made.Json()["bytes"].dump().c_str(),
              made.Json().value("seconds", 0.0), turns, acked.size(), lost, later);
  EXPECT_GE(turns, 60);
  EXPECT_EQ(made.Json()["manifest"]["sessions"], 12);

  // The instance serves: a restored conversation goes on, a new one starts.
  const std::string resumed = acked.begin()->first;
  HttpResponse follow_up = second->Post("/api/chat", ChatBody("And after the restore?", resumed));
  EXPECT_EQ(follow_up.status, 200) << follow_up.body;
  EXPECT_FALSE(NewChat(*second, "A new visitor after the restore").empty());
  mock.Stop();
}

TEST(BackupRestoreTest, RestoreRefusesARunningInstanceAndBadBackupsAndLeavesTheStoreUntouched) {
  TempDir root;
  const std::string backup = root.path() + "/backup";
  std::unique_ptr<TestStack> stack = StartOrFail(Env({}));
  ASSERT_NE(stack, nullptr);
  const std::string id = NewChat(*stack, "What is Tollgate?");
  ASSERT_TRUE(RunAdmin("backup " + ShellQuote(backup), stack->env()).exit_code == 0);
  EXPECT_EQ(RunAdmin("verify-backup " + ShellQuote(backup), stack->env()).exit_code, 0);

  AdminRun live = RunAdmin("restore " + ShellQuote(backup) + " --json", stack->env());
  EXPECT_EQ(live.exit_code, 1);
  EXPECT_EQ(live.Json()["error"]["code"], "instance_running") << live.out;
  EXPECT_NE(live.err.find("the instance is running"), std::string::npos) << live.err;
  EXPECT_EQ(stack->Get("/api/sessions/" + id).status, 200) << "a refused restore touched the live store";

  const std::map<std::string, std::string> env = stack->env();
  ASSERT_EQ(stack->Terminate(seconds(20)), 0);
  const std::string store = stack->data_dir() + "/lmdb/data.mdb";
  const std::string before = *FileXxh3Hex(store, nullptr);

  // Bad copies of the good backup: each refused by both commands, exit 1.
  struct Bad {
    const char* name;
    std::function<void(const std::string&)> damage;
    const char* says;
  };
  const std::vector<Bad> bad = {
      {"truncated", [](const std::string& b) { fs::resize_file(b + "/lmdb/data.mdb", fs::file_size(b + "/lmdb/data.mdb") / 2); },
       "truncated"},
      {"one byte flipped",
       [](const std::string& b) {
         std::fstream f(b + "/lmdb/data.mdb", std::ios::in | std::ios::out | std::ios::binary);
         f.seekg(4096 + 100);
         const char c = static_cast<char>(f.get() ^ 0x20);
         f.seekp(4096 + 100);
         f.put(c);
       },
       "does not match its checksum"},
      {"no manifest", [](const std::string& b) { fs::remove(b + "/manifest.json"); }, "no manifest.json"},
  };
  for (const Bad& b : bad) {
    const std::string copy = root.path() + "/bad";
    fs::remove_all(copy);
    fs::copy(backup, copy, fs::copy_options::recursive);
    b.damage(copy);
    for (const char* command : {"verify-backup ", "restore "}) {
      AdminRun run = RunAdmin(command + ShellQuote(copy), env);
      EXPECT_EQ(run.exit_code, 1) << b.name << ", " << command << run.out;
      EXPECT_NE(run.err.find(b.says), std::string::npos) << b.name << ", " << command << run.err;
    }
  }
  EXPECT_EQ(*FileXxh3Hex(store, nullptr), before) << "a refused restore changed the store";
  for (const auto& e : fs::directory_iterator(stack->data_dir())) {
    const std::string name = e.path().filename().string();
    EXPECT_TRUE(name == "lmdb" || name == "cache" || name == "inflight" || name == "index" || name == "tls") << name;
  }

  // The good backup restores over the stopped instance; the replaced store is kept.
  AdminRun good = RunAdmin("restore " + ShellQuote(backup), env);
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_NE(good.out.find("kept at"), std::string::npos) << good.out;
  EXPECT_TRUE(fs::exists(stack->data_dir() + "/lmdb.replaced/data.mdb"));
}

TEST(StoreFormatStackTest, AStoreWrittenByANewerFolioIsRefusedAtStartWithItsReason) {
  TempDir root;
  const std::string data = root.path() + "/data";
  std::vector<std::string> problems;
  Result<Config> config = Config::Load(&problems, [&](const char* name) -> const char* {
    return std::string(name) == "DATA_DIR" ? data.c_str() : nullptr;
  });
  ASSERT_TRUE(config.ok());
  const StateLayout layout = StateLayoutOf(*config);
  {
    std::unique_ptr<Store> store = std::move(Store::Open(layout.sessions_store).value());
    const StoreFormat newer{kSessionStoreFormat + 1, kSessionStoreFormat + 1, "99.0.0"};
    ASSERT_TRUE(store->Put(*store->Database(kMetaDb), "format", EncodeStoreFormat(newer), Durability::kSynced).ok());
  }
  const std::string before = *FileXxh3Hex(layout.sessions_store.path + "/data.mdb", nullptr);

  std::string error;
  std::unique_ptr<TestStack> stack = TestStack::Start(Env({{"DATA_DIR", data}}), &error, seconds(20), false);
  ASSERT_NE(stack, nullptr) << error;
  std::string reason;
  const bool refused = MockLlm::WaitFor(
      [&] {
        HttpResponse ready = stack->Get("/ready");
        reason = ready.status == 503 ? ready.Json().value("reason", "") : "";
        return reason.find("newer folio") != std::string::npos;
      },
      seconds(30));
  ASSERT_TRUE(refused) << "last reason: " << reason;
  EXPECT_NE(reason.find("was written by a newer folio (99.0.0, store format 2"), std::string::npos) << reason;
  HttpResponse health = stack->Get("/api/health");
  EXPECT_EQ(health.status, 503);
  EXPECT_EQ(health.Json()["checks"]["startup"]["status"], "critical");
  EXPECT_EQ(stack->Post("/api/chat", ChatBody("hello?")).status, 503);
  ASSERT_EQ(stack->Terminate(seconds(20)), 0);
  EXPECT_EQ(*FileXxh3Hex(layout.sessions_store.path + "/data.mdb", nullptr), before) << "the refused store was written";
}

TEST(ScheduledBackupTest, OneWorkerBacksUpWhenDueKeepsTheNewestAndHealthShowsIt) {
  TempDir root;
  const std::string dir = root.path() + "/backups";
  // Three old backups: the newest is older than BACKUP_EVERY_S, so one is
  // due as soon as a worker starts; then BACKUP_KEEP=2 leaves two.
  const int64_t day_ago_ms = (UnixNow() - 86400) * 1000;
  for (int i = 0; i < 3; ++i) {
    const std::string old = dir + "/" + ScheduledBackupName(day_ago_ms + i * 1000);
    fs::create_directories(old);
    std::ofstream(old + "/manifest.json") << "{}";
  }
  std::unique_ptr<TestStack> stack =
      StartOrFail(Env({{"BACKUP_DIR", dir}, {"BACKUP_KEEP", "2"}, {"BACKUP_EVERY_S", "3600"}}));
  ASSERT_NE(stack, nullptr);
  ASSERT_TRUE(stack->WaitForWorkerLog("\"event\":\"backup_done\"", seconds(30)));
  std::vector<ScheduledBackup> kept = ListScheduledBackups(dir);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept.front().created_ms, day_ago_ms + 2000) << "not the newest kept";
  EXPECT_TRUE(VerifyBackup(kept.back().path)->ok());

  nlohmann::json backup = stack->Get("/api/health").Json()["checks"]["backup"];
  EXPECT_EQ(backup["status"], "ok") << backup.dump();
  EXPECT_EQ(backup["backups"], 2);
  EXPECT_LT(backup["last_backup_age_s"].get<int>(), 60) << backup.dump();
  AdminRun status = RunAdmin("status --json", stack->env());
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;
  EXPECT_EQ(status.Json()["backup"]["backups"], 2);
  EXPECT_EQ(status.Json()["backup"]["failing"], false);
  // The other worker found it made: one backup for the instance, not one each.
  EXPECT_EQ(Count(WorkerLogs(*stack), "\"event\":\"backup_done\""), 1);
}

TEST(ScheduledBackupTest, AFailingBackupDirectoryIsFlaggedByHealthAndStatus) {
  TempDir root;
  std::ofstream(root.path() + "/a-file") << "not a directory";
  std::unique_ptr<TestStack> stack =
      StartOrFail(Env({{"BACKUP_DIR", root.path() + "/a-file/backups"}, {"BACKUP_KEEP", "3"}}));
  ASSERT_NE(stack, nullptr);
  nlohmann::json health;
  ASSERT_TRUE(MockLlm::WaitFor(
      [&] {
        health = stack->Get("/api/health").Json();
        return health["checks"]["backup"].value("status", "") == "warn";
      },
      seconds(30)))
      << health.dump();
  EXPECT_EQ(health["status"], "degraded");
  EXPECT_NE(health["checks"]["backup"].value("reason", "").find("the last scheduled backup failed"), std::string::npos)
      << health.dump();
  AdminRun status = RunAdmin("status", stack->env());
  EXPECT_EQ(status.exit_code, 1);
  EXPECT_NE(status.out.find("FAILING: the last scheduled backup failed"), std::string::npos) << status.out;
  EXPECT_TRUE(stack->WaitForWorkerLog("\"event\":\"backup_failed\"", seconds(5)));
}

}  // namespace
}  // namespace folio::test
