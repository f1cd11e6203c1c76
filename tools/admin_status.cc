// admin_status.cc: `folio-admin status` — one look at every piece of an
// instance's state: index, sessions store, sessions, response cache, in-flight
// table, breaker, token budget, scheduled backups and worker processes. Each section is read on its own, so one
// unreadable piece is reported beside the others rather than hiding them.
//
// Exit 1 when the data directory is missing or a persistent piece (index,
// LMDB environments) cannot be read. What exists only while the stack runs
// ($RUN_DIR: metrics, breaker) is reported absent without failing: a stopped
// stack is a state, not a problem.
#include <cstdio>

#include "admin.h"
#include "backup_schedule.h"
#include "clock.h"
#include "index_snapshot.h"
#include "inflight.h"
#include "metrics.h"
#include "metrics_reader.h"

namespace folio::admin {

namespace {

// One section: its JSON, its line of text, and whether it counts as a failure.
struct Section {
  const char* name;
  Json doc;
  std::string line;
  bool failed = false;
};

Section Broken(const char* name, const folio::Status& s) {
  return Section{name, Json{{"ok", false}, {"error", ErrorJson(s)}}, "FAILED: " + s.message(), true};
}

Section IndexSection(const StateLayout& layout) {
  Result<std::shared_ptr<IndexSnapshot>> opened = IndexSnapshot::Open(layout.index_dir);  // the workers' quick check
  if (!opened.ok()) {
    Section s = Broken("index", opened.status());
    s.doc["dir"] = Shown(layout.index_dir);
    return s;
  }
  const IndexManifest& m = (*opened)->manifest();
  return Section{"index",
                 Json{{"ok", true},
                      {"dir", Shown(layout.index_dir)},
                      {"chunks", m.chunks},
                      {"documents", m.documents},
                      {"kb_version", m.kb_version},
                      {"embedder", m.embedder},
                      {"built_at", m.built_at}},
                 std::to_string(m.chunks) + " chunks from " + std::to_string(m.documents) + " documents, kb " +
                     m.kb_version + ", " + m.embedder + ", built " + m.built_at};
}

// The sessions environment ("store") and its table ("sessions").
void SessionSections(const StateLayout& layout, std::vector<Section>* out) {
  Result<OpenedSessions> opened = OpenSessions(layout);
  if (!opened.ok()) {
    out->push_back(Broken("store", opened.status()));
    out->push_back(Broken("sessions", opened.status()));
    return;
  }
  Result<StoreInfo> info = opened->store->EnvInfo();
  if (info.ok()) {
    out->push_back(Section{"store",
                           Json{{"ok", true},
                                {"path", Shown(layout.sessions_store.path)},
                                {"used_bytes", info->used_bytes},
                                {"map_size_bytes", info->map_size_bytes},
                                {"readers_in_use", info->readers_in_use},
                                {"max_readers", info->max_readers},
                                {"last_txn_id", info->last_txn_id}},
                           FormatBytes(info->used_bytes) + " used of " + FormatBytes(info->map_size_bytes) + ", " +
                               std::to_string(info->readers_in_use) + "/" + std::to_string(info->max_readers) +
                               " reader slots in use"});
  } else {
    out->push_back(Broken("store", info.status()));
  }
  Result<uint64_t> stored = opened->sessions->Count();
  Result<std::vector<SessionSummary>> active = ListAllSessions(*opened->sessions, UnixNow());
  if (!stored.ok() || !active.ok()) {
    out->push_back(Broken("sessions", stored.ok() ? active.status() : stored.status()));
    return;
  }
  out->push_back(Section{
      "sessions", Json{{"ok", true}, {"active", active->size()}, {"stored", *stored}, {"ttl_s", layout.sessions.ttl_s}},
      std::to_string(active->size()) + " active (" + std::to_string(*stored) +
          " stored, expired ones until the next sweep), idle expiry " + std::to_string(layout.sessions.ttl_s) + " s"});
}

Section CacheSection(const StateLayout& layout) {
  if (!layout.cache_enabled)
    return Section{"cache", Json{{"ok", true}, {"enabled", false}}, "disabled (CACHE_TTL_S=0)"};
  Result<std::unique_ptr<ResponseCache>> cache = OpenCache(layout);
  if (!cache.ok()) return Broken("cache", cache.status());
  CacheStats s = (*cache)->Stats();
  if (!s.error.empty()) return Broken("cache", Internal("cache_stats", s.error));
  char rate[16];
  std::snprintf(rate, sizeof rate, "%.1f%%", 100 * s.hit_rate);
  return Section{"cache",
                 Json{{"ok", true},
                      {"enabled", true},
                      {"entries", s.entries},
                      {"bytes", s.bytes},
                      {"hits", s.hits},
                      {"misses", s.misses},
                      {"hit_rate", s.hit_rate},
                      {"evictions", s.evictions}},
                 std::to_string(s.entries) + " entries (" + FormatBytes(s.bytes) + "), " + std::to_string(s.hits) +
                     " hits / " + std::to_string(s.misses) + " misses (" + rate + ")"};
}

Section InflightSection(const StateLayout& layout) {
  Result<std::unique_ptr<Store>> store = OpenInflight(layout);
  if (!store.ok()) return Broken("inflight", store.status());
  Result<Db> db = (*store)->Database(kInflightDb);
  Result<DbStats> stats = db.ok() ? (*store)->Stat(*db) : Result<DbStats>(db.status());
  if (!stats.ok()) return Broken("inflight", stats.status());
  return Section{
      "inflight", Json{{"ok", true}, {"entries", stats->entries}},
      std::to_string(stats->entries) + " entries (answers in progress or just finished, purged by the workers)"};
}

Section BreakerSection(const StateLayout& layout) {
  Result<std::unique_ptr<CircuitBreaker>> breaker = OpenBreaker(layout);
  if (!breaker.ok() && breaker.status().code() == Code::kNotFound) {
    return Section{"breaker", Json{{"ok", true}, {"present", false}}, "absent (" + breaker.status().message() + ")"};
  }
  if (!breaker.ok()) return Broken("breaker", breaker.status());
  BreakerSnapshot b = (*breaker)->Snapshot(UnixMs());
  Json doc{{"ok", true},
           {"present", true},
           {"state", BreakerStateName(b.state)},
           {"consecutive_failures", b.consecutive_failures},
           {"total_opens", b.total_opens},
           {"open_until_ms", b.open_until_ms},
           {"key_rejected", b.key_rejected}};
  std::string line = std::string(BreakerStateName(b.state)) + ", " + std::to_string(b.consecutive_failures) +
                     " consecutive failure(s), opened " + std::to_string(b.total_opens) + " time(s)";
  if (b.key_rejected) line += "; the upstream REJECTED the API key";
  return Section{"breaker", doc, line};
}

// The day's LLM token spend against LLM_DAILY_TOKEN_BUDGET.
Section BudgetSection(const Context& ctx) {
  const int64_t budget = ctx.config.settings().llm_daily_token_budget;
  Result<std::unique_ptr<ClientLimits>> limits = OpenLimits(ctx);
  if (!limits.ok() && limits.status().code() == Code::kNotFound) {
    return Section{"budget", Json{{"ok", true}, {"present", false}, {"daily_token_budget", budget}},
                   "absent (" + limits.status().message() + ")"};
  }
  if (!limits.ok()) return Broken("budget", limits.status());
  const int64_t now = UnixMsCoarse();
  const int64_t spent = (*limits)->TokensSpentToday(now);
  const bool exhausted = (*limits)->TokenBudgetSpent(now);
  std::string line = std::to_string(spent) + " LLM tokens spent today (UTC)";
  line += budget > 0 ? " of a budget of " + std::to_string(budget) : ", no daily budget (LLM_DAILY_TOKEN_BUDGET=0)";
  if (exhausted) line += "; SPENT: answers come from the knowledge base until 00:00 UTC";
  return Section{"budget",
                 Json{{"ok", true}, {"present", true}, {"tokens_today", spent}, {"daily_token_budget", budget},
                      {"exhausted", exhausted}},
                 line};
}

// Scheduled backups: the newest one's age, and FAILING (a failure: exit 1)
// while the last attempt failed or none came for two intervals.
Section BackupSection(const StateLayout& layout) {
  const int64_t now_ms = UnixMsCoarse();
  const BackupHealth h = CheckBackupHealth(layout.backups, now_ms);
  Json doc = BackupHealthJson(layout.backups, h, now_ms);
  doc["ok"] = !h.failing;
  if (!h.enabled) return Section{"backup", doc, "no scheduled backups (BACKUP_KEEP=0)"};
  std::string line = std::to_string(h.count) + " kept in " + Shown(layout.backups.dir);
  if (h.newest) {
    line += ", the newest " + std::to_string((now_ms - h.newest->created_ms) / 1000) + " s old (" +
            std::to_string(h.newest_sessions) + " sessions, " + FormatBytes(h.newest_bytes) + ")";
  } else {
    line += ", none made yet";
  }
  if (h.failing) line += "; FAILING: " + h.reason;
  return Section{"backup", doc, line, h.failing};
}

Section WorkersSection(const StateLayout& layout) {
  Result<MetricsFileView> view = ReadMetricsFile(layout.metrics_path);
  if (!view.ok() && view.status().code() == Code::kNotFound) {
    return Section{"workers", Json{{"ok", true}, {"present", false}, {"running", 0}, {"processes", Json::array()}},
                   "none (" + view.status().message() + ")"};
  }
  if (!view.ok()) return Broken("workers", view.status());
  Json processes = Json::array();
  int running = 0;
  std::string list;
  for (const MetricsProcess& p : view->processes) {
    running += p.alive ? 1 : 0;
    processes.push_back(Json{{"pid", p.pid},
                             {"alive", p.alive},
                             {"requests", p.requests},
                             {"errors_5xx", p.errors},
                             {"in_flight", p.in_flight},
                             {"in_flight_peak", p.in_flight_peak},
                             {"upstream_calls", p.upstream_calls}});
    list += "\n            pid " + std::to_string(p.pid) +
            (p.alive ? "" : " (exited; its slot is reclaimed by the next worker start)") + ": " +
            std::to_string(p.requests) + " requests, " + std::to_string(p.in_flight) + " in flight, " +
            std::to_string(p.upstream_calls) + " upstream calls";
  }
  return Section{"workers",
                 Json{{"ok", true},
                      {"present", true},
                      {"running", running},
                      {"total_requests", view->total_requests},
                      {"processes", processes}},
                 std::to_string(running) + " running; " + std::to_string(view->total_requests) +
                     " requests served since the metrics file was made" + list};
}

}  // namespace

Answer RunStatus(const Context& ctx) {
  const StateLayout& layout = ctx.layout;
  if (folio::Status s = RequireDataDir(layout); !s.ok()) return Failure(s);
  std::vector<Section> sections;
  sections.push_back(IndexSection(layout));
  SessionSections(layout, &sections);
  sections.push_back(CacheSection(layout));
  sections.push_back(InflightSection(layout));
  sections.push_back(BreakerSection(layout));
  sections.push_back(BudgetSection(ctx));
  sections.push_back(BackupSection(layout));
  sections.push_back(WorkersSection(layout));

  Answer a;
  a.doc["data_dir"] = Shown(layout.data_dir);
  a.doc["run_dir"] = Shown(layout.run_dir);
  a.text = "folio instance: data " + Shown(layout.data_dir) + ", run " + Shown(layout.run_dir) + "\n";
  int failed = 0;
  for (const Section& s : sections) {
    a.doc[s.name] = s.doc;
    std::string name = s.name;
    a.text += "  " + name + std::string(10 - name.size(), ' ') + s.line + "\n";
    failed += s.failed ? 1 : 0;
  }
  a.doc["ok"] = failed == 0;
  if (failed > 0) {
    a.exit_code = 1;
    a.error = std::to_string(failed) + " part(s) of the instance could not be read (see above)";
  }
  return a;
}

}  // namespace folio::admin
