// admin_test.cc: the folio-admin binary against the real stack (nginx,
// supervisord, two workers, the mock upstream), on its live data directory:
// status, cache, sessions, index and config commands, each checked against
// what the stack itself says over HTTP; and against missing or damaged
// directories, which it must report without creating or repairing anything.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "admin_run.h"
#include "mock_llm.h"
#include "proc_util.h"
#include "sessions.h"
#include "stack_suite.h"
#include "state_layout.h"
#include "store.h"

namespace folio::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string& kAdmin = kAdminBinary;

std::string Ask(const std::string& message) { return nlohmann::json({{"message", message}}).dump(); }

class AdminTest : public StackSuite {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(fs::exists(kAdmin)) << kAdmin << " is not built (cmake --build ... --target folio-admin)";
    live_sessions_.clear();
    StartStack({{"OPENAI_API_KEY", "sk-admin-test"}, {"RATE_LIMIT_RPS", "10000"}, {"RATE_LIMIT_BURST", "10000"}},
               WithMock());
  }

  static AdminRun Admin(const std::string& args, std::map<std::string, std::string> overrides = {}) {
    std::map<std::string, std::string> env = stack_->env();
    for (const auto& [k, v] : overrides) env[k] = v;
    return RunAdmin(args, env);
  }

  // A chat in a new session; remembers the session as live.
  static nlohmann::json Chat(const std::string& message) {
    HttpResponse r = stack_->Post("/api/chat", Ask(message));
    EXPECT_EQ(r.status, 200) << r.body;
    nlohmann::json body = r.Json();
    if (body.contains("session_id")) live_sessions_.insert(body["session_id"].get<std::string>());
    return body;
  }

  // In-flight entries linger a few seconds after their answer and serve
  // identical questions meanwhile; waits until the workers purged them all.
  static bool WaitForNoInflight() {
    return MockLlm::WaitFor(
        [] {
          nlohmann::json s = Admin("status --json").Json();
          return s.is_object() && s["inflight"].value("entries", -1) == 0;
        },
        seconds(30));
  }

  static inline std::set<std::string> live_sessions_;
};

TEST_F(AdminTest, StatusShowsIndexSessionsCacheBreakerAndWorkers) {
  ASSERT_FALSE(Chat("What is Lantern?")["cached"]);
  Chat("Which databases has Maya used in production?");
  AdminRun run = Admin("status --json");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  nlohmann::json s = run.Json();
  ASSERT_TRUE(s.is_object()) << run.out;
  EXPECT_EQ(s["ok"], true);
  nlohmann::json manifest = nlohmann::json::parse(ReadFile(stack_->data_dir() + "/index/manifest.json"));
  EXPECT_EQ(s["index"]["chunks"], manifest["counts"]["chunks"]);
  EXPECT_GT(s["index"]["chunks"].get<int>(), 0);
  EXPECT_EQ(s["sessions"]["active"].get<size_t>(), live_sessions_.size());
  EXPECT_GT(s["store"]["used_bytes"].get<int64_t>(), 0);
  EXPECT_EQ(s["cache"]["enabled"], true);
  EXPECT_GT(s["cache"]["entries"].get<int>(), 0);
  EXPECT_EQ(s["breaker"]["state"], "closed");
  // The workers, from their metrics slots: the same processes supervisord runs.
  std::vector<pid_t> pids = stack_->WorkerPids();
  std::set<int> expected(pids.begin(), pids.end()), listed;
  int64_t requests = 0;
  for (const auto& p : s["workers"]["processes"]) {
    EXPECT_TRUE(p["alive"].get<bool>()) << p;
    listed.insert(p["pid"].get<int>());
    requests += p["requests"].get<int64_t>();
  }
  EXPECT_EQ(listed, expected);
  EXPECT_EQ(s["workers"]["running"], 2);
  EXPECT_GE(requests, 2);  // the chats above, at least
  // The same, for a person.
  AdminRun text = Admin("status");
  EXPECT_EQ(text.exit_code, 0) << text.err;
  for (const char* section : {"index", "store", "sessions", "cache", "inflight", "breaker", "workers"})
    EXPECT_NE(text.out.find(std::string("  ") + section), std::string::npos) << section << "\n" << text.out;
}

TEST_F(AdminTest, SessionsListShowAndDeleteOnTheLiveStore) {
  nlohmann::json chat = Chat("What is Driftwood?");
  const std::string id = chat["session_id"];
  const std::string shown = id.substr(0, 6) + "\xE2\x80\xA6";

  AdminRun list = Admin("sessions list --json");
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.Json()["total"].get<size_t>(), live_sessions_.size());
  EXPECT_NE(list.out.find(shown), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find(id), std::string::npos) << "a whole id printed without --full-ids";
  EXPECT_EQ(Admin("sessions list").out.find(id), std::string::npos);
  EXPECT_NE(Admin("sessions list --full-ids --json").out.find("\"" + id + "\""), std::string::npos);

  AdminRun show = Admin("sessions show " + id + " --json");
  ASSERT_EQ(show.exit_code, 0) << show.err;
  nlohmann::json session = show.Json();
  EXPECT_EQ(session["id"], shown);
  ASSERT_EQ(session["messages"].size(), 2u) << session;
  EXPECT_EQ(session["messages"][0]["role"], "user");
  EXPECT_EQ(session["messages"][0]["content"], "What is Driftwood?");
  EXPECT_EQ(session["messages"][1]["role"], "assistant");
  EXPECT_EQ(session["messages"][1]["content"], chat["response"]);
  // By the prefix `list` shows, in text.
  AdminRun by_prefix = Admin("sessions show " + ShellQuote(shown));
  EXPECT_EQ(by_prefix.exit_code, 0) << by_prefix.err;
  EXPECT_NE(by_prefix.out.find("What is Driftwood?"), std::string::npos) << by_prefix.out;

  AdminRun del = Admin("sessions delete " + id + " --json");
  ASSERT_EQ(del.exit_code, 0) << del.err;
  EXPECT_EQ(del.Json()["deleted"], true);
  live_sessions_.erase(id);
  EXPECT_EQ(stack_->Get("/api/sessions/" + id).status, 404);
  AdminRun again = Admin("sessions show " + id + " --json");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.Json()["error"]["code"], "session_not_found");
  EXPECT_EQ(Admin("sessions delete " + id).exit_code, 1);
  EXPECT_EQ(Admin("sessions show not-a-session").exit_code, 1);

  AdminRun purge = Admin("sessions purge-expired --json");
  EXPECT_EQ(purge.exit_code, 0) << purge.err;
  EXPECT_EQ(purge.Json()["purged"], 0);  // nothing here is a day old
}

TEST_F(AdminTest, CacheClearMakesTheNextIdenticalChatAMiss) {
  const std::string question = "What is Riverbed?";
  const int calls_before = mock_->Calls("chat_completions");
  EXPECT_EQ(Chat(question)["cached"], false);
  EXPECT_EQ(Chat(question)["cached"], true);
  EXPECT_EQ(mock_->Calls("chat_completions"), calls_before + 1);

  AdminRun stats = Admin("cache stats --json");
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_GT(stats.Json()["entries"].get<int>(), 0) << stats.out;
  // The hit just made, once its worker folded its counts into the shared
  // totals (GET /api/cache/stats makes the worker answering it do so).
  EXPECT_TRUE(MockLlm::WaitFor([&] {
    (void)stack_->Get("/api/cache/stats");
    stats = Admin("cache stats --json");
    const nlohmann::json totals = stats.Json();
    return totals.is_object() && totals.value("hits", 0) >= 1;
  })) << stats.out;

  AdminRun clear = Admin("cache clear --json");
  ASSERT_EQ(clear.exit_code, 0) << clear.err;
  EXPECT_EQ(clear.Json()["entries"], 0);
  EXPECT_GT(clear.Json()["cleared"].get<int>(), 0);
  EXPECT_EQ(Admin("cache stats --json").Json()["entries"], 0);

  ASSERT_TRUE(WaitForNoInflight());
  EXPECT_EQ(Chat(question)["cached"], false);
  EXPECT_EQ(mock_->Calls("chat_completions"), calls_before + 2);
}

TEST_F(AdminTest, IndexVerifyPassesOnTheRealIndexAndFailsOnDamagedCopies) {
  AdminRun info = Admin("index info --json");
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_EQ(info.Json()["quick_check"]["ok"], true);
  AdminRun good = Admin("index verify --json");
  ASSERT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_EQ(good.Json()["ok"], true);
  EXPECT_GT(good.Json()["chunks"].get<int>(), 0);

  // Same size, garbage inside: only the full verification can tell.
  const std::string garbled = stack_->dir() + "/index-garbled";
  fs::copy(stack_->data_dir() + "/index", garbled);
  {
    std::fstream f(garbled + "/chunks.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(garbled + "/chunks.bin") / 2));
    f << std::string(64, '\x5a');
  }
  AdminRun bad = Admin("index verify --index-dir " + garbled + " --json");
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_EQ(bad.Json()["ok"], false);
  EXPECT_EQ(bad.Json()["error"]["code"], "index_corrupt");
  EXPECT_NE(bad.err.find("FAILED verification"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("chunks.bin"), std::string::npos) << bad.err;

  // Truncated: the quick check already refuses it.
  const std::string truncated = stack_->dir() + "/index-truncated";
  fs::copy(stack_->data_dir() + "/index", truncated);
  fs::resize_file(truncated + "/chunks.bin", fs::file_size(truncated + "/chunks.bin") / 2);
  AdminRun cut = Admin("index verify", {{"INDEX_DIR", truncated}});
  EXPECT_EQ(cut.exit_code, 1);
  EXPECT_NE(cut.err.find("chunks.bin"), std::string::npos) << cut.err;
  EXPECT_EQ(Admin("index info --index-dir " + truncated).exit_code, 1);
}

TEST_F(AdminTest, ConfigCheckNamesTheBadVariableAndPassesWithTheStackEnvironment) {
  AdminRun ok = Admin("config check --json");
  ASSERT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_EQ(ok.Json()["ok"], true);
  EXPECT_EQ(ok.Json()["data_dir"], stack_->data_dir());
  EXPECT_EQ(ok.Json()["config"]["OPENAI_API_KEY"], "<set, 13 chars>");  // never the key itself
  AdminRun bad = Admin("config check", {{"WORKERS", "abc"}});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("WORKERS: got \"abc\""), std::string::npos) << bad.out;
  AdminRun bad_json = Admin("config check --json", {{"WORKERS", "abc"}, {"LMDB_MAP_MB", "1"}});
  EXPECT_EQ(bad_json.exit_code, 1);
  EXPECT_EQ(bad_json.Json()["problems"].size(), 2u) << bad_json.out;
  // Other commands refuse to guess map sizes from a configuration the worker would reject.
  AdminRun refused = Admin("sessions list --json", {{"LMDB_MAP_MB", "abc"}});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.Json()["error"]["code"], "invalid_config");
  EXPECT_NE(refused.err.find("LMDB_MAP_MB"), std::string::npos) << refused.err;
}

TEST_F(AdminTest, HelpExitsZeroOnEveryLevel) {
  for (const char* command :
       {"", "status", "cache", "cache stats", "cache clear", "sessions", "sessions list", "sessions show",
        "sessions delete", "sessions purge-expired", "index", "index info", "index verify", "config", "config check",
        "backup", "verify-backup", "restore"}) {
    AdminRun help = RunAdmin(std::string(command) + " --help", {});
    EXPECT_EQ(help.exit_code, 0) << command << ": " << help.err;
    EXPECT_NE(help.out.find("Usage"), std::string::npos) << command;
  }
  EXPECT_EQ(RunAdmin("", {}).exit_code, 2);
  EXPECT_EQ(RunAdmin("sessions", {}).exit_code, 2);
  EXPECT_EQ(RunAdmin("restore", {}).exit_code, 2) << "restore without a backup directory";
  EXPECT_EQ(RunAdmin("status --no-such-flag", {}).exit_code, 2);
}

TEST_F(AdminTest, CommandsOnAMissingDataDirFailCleanlyAndCreateNothing) {
  const std::string missing = stack_->dir() + "/no-such-data";
  const std::string run_missing = stack_->dir() + "/no-such-run";
  for (const char* command :
       {"status", "cache stats", "cache clear", "sessions list", "sessions show AAAAAAAAAAAAAAAAAAAAAA",
        "sessions delete AAAAAAAAAAAAAAAAAAAAAA", "sessions purge-expired"}) {
    AdminRun run = Admin(std::string(command) + " --data-dir " + missing + " --run-dir " + run_missing + " --json");
    EXPECT_EQ(run.exit_code, 1) << command;
    EXPECT_EQ(run.Json()["error"]["code"], "no_data_dir") << command << ": " << run.out;
    EXPECT_NE(run.err.find("no data directory at " + missing), std::string::npos) << command << ": " << run.err;
  }
  for (const char* command : {"index info", "index verify"}) {
    AdminRun run = Admin(std::string(command) + " --data-dir " + missing);
    EXPECT_EQ(run.exit_code, 1) << command;
    EXPECT_NE(run.err.find("no index at " + missing + "/index"), std::string::npos) << command << ": " << run.err;
  }
  EXPECT_FALSE(fs::exists(missing));
  EXPECT_FALSE(fs::exists(run_missing));
  // A data directory without environments: each piece is reported absent, none is created.
  const std::string empty = stack_->dir() + "/empty-data";
  fs::create_directory(empty);
  AdminRun status = Admin("status --json --data-dir " + empty + " --run-dir " + run_missing);
  EXPECT_EQ(status.exit_code, 1);
  EXPECT_EQ(status.Json()["sessions"]["error"]["code"], "no_session_store") << status.out;
  EXPECT_EQ(status.Json()["workers"]["present"], false);
  EXPECT_TRUE(fs::is_empty(empty));
}

TEST_F(AdminTest, PurgeExpiredDeletesOnlyExpiredSessionsOfAStoppedInstance) {
  // A data directory made by the worker's own code, with sessions idle for
  // two days and one fresh, and no process holding it.
  const std::string data = stack_->dir() + "/stopped-data";
  fs::create_directory(data);
  std::vector<std::string> problems;
  Result<Config> config = Config::Load(&problems, [&](const char* name) -> const char* {
    return std::string(name) == "DATA_DIR" ? data.c_str() : nullptr;
  });
  ASSERT_TRUE(config.ok());
  const StateLayout layout = StateLayoutOf(*config);
  const int64_t now = std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  {
    Result<std::unique_ptr<Store>> store = Store::Open(layout.sessions_store);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    Result<SessionStore> sessions = SessionStore::Open(store->get(), layout.sessions);
    ASSERT_TRUE(sessions.ok());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(sessions->Create(now - 2 * 86400).ok());
    ASSERT_TRUE(sessions->Create(now).ok());
  }
  AdminRun before = Admin("sessions list --json --data-dir " + data);
  ASSERT_EQ(before.exit_code, 0) << before.err;
  EXPECT_EQ(before.Json()["total"], 1);
  AdminRun purge = Admin("sessions purge-expired --json --data-dir " + data);
  ASSERT_EQ(purge.exit_code, 0) << purge.err;
  EXPECT_EQ(purge.Json()["purged"], 3);
  EXPECT_EQ(purge.Json()["remaining"], 1);
}

}  // namespace
}  // namespace folio::test
