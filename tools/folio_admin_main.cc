// folio-admin: the operator's command for a folio instance, running or
// stopped. A thin main over admin_*.cc (which work through shared/): parse
// the flags, load the configuration exactly as the worker does (Config::Load
// over the environment, --data-dir/--run-dir/--index-dir on top), run one
// command, print its answer as text or, with --json, as one JSON document on
// stdout. Exit 0 ok, 1 a failure or a problem found, 2 bad usage.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "admin.h"
#include "log.h"

namespace folio::admin {
namespace {

constexpr char kFooter[] =
    "\nGlobal options (--json, --data-dir, --run-dir, --index-dir) go before or after the command.\n"
    "Settings come from the worker's environment variables (DATA_DIR, RUN_DIR, INDEX_DIR, LMDB_MAP_MB,\n"
    "CACHE_*, ...): run folio-admin with the environment the stack runs with. It never creates files.";

// `config check`: the worker's own validation, problems listed one per line.
Answer ConfigCheck(const Result<Config>& config, const std::vector<std::string>& problems) {
  Answer a;
  a.doc["ok"] = config.ok();
  a.doc["problems"] = problems;
  if (!config.ok()) {
    a.exit_code = 1;
    a.text = "configuration invalid, " + std::to_string(problems.size()) + " problem(s):\n";
    for (const std::string& p : problems) a.text += "  " + p + "\n";
    a.error = "invalid configuration";
    return a;
  }
  const StateLayout layout = StateLayoutOf(*config);
  a.doc["data_dir"] = Shown(layout.data_dir);
  a.doc["run_dir"] = Shown(layout.run_dir);
  a.doc["index_dir"] = Shown(layout.index_dir);
  a.doc["config"] = config->Masked();  // secrets masked
  a.text = "configuration ok (" + std::to_string(ConfigVars().size()) + " variables checked)\n" + "  data dir    " +
           Shown(layout.data_dir) + "\n" + "  run dir     " + Shown(layout.run_dir) + "\n" + "  index dir   " +
           Shown(layout.index_dir) + "\n" + "  sessions    LMDB map " +
           std::to_string(layout.sessions_store.map_size_mb) + " MiB, idle expiry " +
           std::to_string(layout.sessions.ttl_s) + " s\n" + "  cache       " +
           (layout.cache_enabled ? "LMDB map " + std::to_string(layout.cache.map_size_mb) + " MiB, ttl " +
                                       std::to_string(layout.cache.ttl_s) + " s"
                                 : std::string("disabled")) +
           "\n";
  return a;
}

// The library logs JSON lines to stdout (the worker's log stream), but this
// program's stdout is its answer. Called after parsing, so --help still goes
// to stdout: points fd 1 at stderr and returns a stream on the original stdout.
FILE* TakeStdout() {
  std::fflush(stdout);
  int answer_fd = ::dup(STDOUT_FILENO);
  if (answer_fd < 0) return stdout;
  ::dup2(STDERR_FILENO, STDOUT_FILENO);
  FILE* answer = ::fdopen(answer_fd, "w");
  return answer != nullptr ? answer : stdout;
}

int Print(const Answer& a, bool json, FILE* out) {
  if (json) {
    std::string doc = a.doc.dump(2, ' ', false, Json::error_handler_t::replace);
    std::fprintf(out, "%s\n", doc.c_str());
  } else {
    std::fputs(a.text.c_str(), out);
  }
  std::fflush(out);
  if (!a.error.empty()) std::fprintf(stderr, "folio-admin: %s\n", a.error.c_str());
  return a.exit_code;
}

int Main(int argc, char** argv) {
  CLI::App app{"folio-admin: inspect and maintain a folio instance, live or stopped"};
  app.require_subcommand(1);
  app.fallthrough();    // global options after a subcommand reach this level
  app.footer(kFooter);  // inherited by every subcommand added below
  bool json = false;
  std::map<std::string, std::string> overrides;
  app.add_flag("--json", json, "print one JSON document on stdout instead of text");
  app.add_option_function<std::string>(
      "--data-dir", [&](const std::string& v) { overrides["DATA_DIR"] = v; }, "data directory (overrides DATA_DIR)");
  app.add_option_function<std::string>(
      "--run-dir", [&](const std::string& v) { overrides["RUN_DIR"] = v; },
      "run directory of the running stack (overrides RUN_DIR)");
  app.add_option_function<std::string>(
      "--index-dir", [&](const std::string& v) { overrides["INDEX_DIR"] = v; },
      "index directory (overrides INDEX_DIR; default $DATA_DIR/index)");

  CLI::App* status =
      app.add_subcommand("status", "index, session store, sessions, cache, in-flight table, breaker, workers");

  CLI::App* cache = app.add_subcommand("cache", "the shared response cache ($DATA_DIR/cache)");
  cache->require_subcommand(1);
  CLI::App* cache_stats = cache->add_subcommand("stats", "entries, bytes, hits and misses of every worker");
  CLI::App* cache_clear = cache->add_subcommand("clear", "delete every cached answer (counters are kept)");

  CLI::App* sessions = app.add_subcommand("sessions", "conversations in the session store ($DATA_DIR/lmdb)");
  sessions->require_subcommand(1);
  size_t limit = 100;
  bool full_ids = false;
  std::string id;
  const char* kIdHelp = "session id, or a prefix of at least 6 characters naming exactly one active session";
  const char* kFullIdsHelp = "print session ids whole (they are their users' secrets: cut to 6 characters by default)";
  CLI::App* sessions_list = sessions->add_subcommand("list", "active sessions, most recently updated first");
  sessions_list->add_option("--limit", limit, "sessions to print; 0: all")->capture_default_str();
  sessions_list->add_flag("--full-ids", full_ids, kFullIdsHelp);
  CLI::App* sessions_show = sessions->add_subcommand("show", "a session's messages");
  sessions_show->add_option("id", id, kIdHelp)->required();
  sessions_show->add_flag("--full-ids", full_ids, kFullIdsHelp);
  CLI::App* sessions_delete = sessions->add_subcommand("delete", "forget a session (as DELETE /api/sessions/ID does)");
  sessions_delete->add_option("id", id, kIdHelp)->required();
  sessions_delete->add_flag("--full-ids", full_ids, kFullIdsHelp);
  CLI::App* sessions_purge = sessions->add_subcommand("purge-expired", "delete every expired session now");

  CLI::App* index = app.add_subcommand("index", "the index the workers serve ($INDEX_DIR)");
  index->require_subcommand(1);
  CLI::App* index_info = index->add_subcommand("info", "the manifest, and whether the index opens");
  CLI::App* index_verify =
      index->add_subcommand("verify", "full verification: every checksum, record, posting and link; exit 1 if bad");

  std::string backup_dir;
  bool with_cache = false;
  CLI::App* backup = app.add_subcommand(
      "backup", "a consistent copy of the session store, made while the instance serves (DEST must not exist)");
  backup->add_option("dest", backup_dir, "directory to create for the backup")->required();
  backup->add_flag("--with-cache", with_cache, "copy the response cache too (it is rebuildable: off by default)");
  CLI::App* verify_backup =
      app.add_subcommand("verify-backup", "check a backup without restoring it: checksums, every record; exit 1 if bad");
  verify_backup->add_option("src", backup_dir, "the backup directory")->required();
  CLI::App* restore = app.add_subcommand(
      "restore", "verify a backup, then put it in place of the stopped instance's stores (refuses a running one)");
  restore->add_option("src", backup_dir, "the backup directory")->required();

  CLI::App* config = app.add_subcommand("config", "the configuration, as the worker reads it");
  config->require_subcommand(1);
  CLI::App* config_check = config->add_subcommand(
      "check", "validate the environment like the worker, start nothing; exit 1 with the problems");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints the help or the error
    return rc == 0 ? 0 : 2;
  }

  FILE* out = TakeStdout();
  InitLogging("warn");
  std::vector<std::string> problems;
  Result<Config> loaded = Config::Load(&problems, [&](const char* name) -> const char* {
    auto it = overrides.find(name);
    return it != overrides.end() ? it->second.c_str() : std::getenv(name);
  });
  if (config_check->parsed()) return Print(ConfigCheck(loaded, problems), json, out);
  if (!loaded.ok()) {
    Answer bad = Failure(InvalidArgument("invalid_config", "invalid configuration (see `folio-admin config check`)"));
    bad.doc["error"]["problems"] = problems;
    for (const std::string& p : problems) std::fprintf(stderr, "config: %s\n", p.c_str());
    return Print(bad, json, out);
  }
  Context ctx{loaded.value(), StateLayoutOf(loaded.value())};

  if (status->parsed()) return Print(RunStatus(ctx), json, out);
  if (cache_stats->parsed()) return Print(RunCacheStats(ctx), json, out);
  if (cache_clear->parsed()) return Print(RunCacheClear(ctx), json, out);
  if (sessions_list->parsed()) return Print(RunSessionsList(ctx, limit, full_ids), json, out);
  if (sessions_show->parsed()) return Print(RunSessionsShow(ctx, id, full_ids), json, out);
  if (sessions_delete->parsed()) return Print(RunSessionsDelete(ctx, id, full_ids), json, out);
  if (sessions_purge->parsed()) return Print(RunSessionsPurgeExpired(ctx), json, out);
  if (index_info->parsed()) return Print(RunIndexInfo(ctx), json, out);
  if (index_verify->parsed()) return Print(RunIndexVerify(ctx), json, out);
  if (backup->parsed()) return Print(RunBackup(ctx, backup_dir, with_cache), json, out);
  if (verify_backup->parsed()) return Print(RunVerifyBackup(backup_dir), json, out);
  if (restore->parsed()) return Print(RunRestore(ctx, backup_dir), json, out);
  return 2;  // unreachable: every leaf is handled above and one is required
}

}  // namespace
}  // namespace folio::admin

int main(int argc, char** argv) { return folio::admin::Main(argc, argv); }
