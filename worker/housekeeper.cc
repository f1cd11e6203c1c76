// housekeeper.cc: the background thread of a worker process. Every 250 ms
// it looks at what is due: stale LMDB reader slots and killed workers'
// in-flight counts (every 5 s), killed workers' tickets and upstream slots
// (every pass), finished in-flight entries and expired cache entries
// (every 5 s, with this process's cache counts), session eviction ahead of
// need (every 2 s), the sweep of expired sessions (every SESSION_SWEEP_S)
// and, when one may be due, a scheduled backup.
#include "housekeeper.h"

#include <chrono>

#include "backup_schedule.h"
#include "log.h"

namespace folio {

Housekeeper::Housekeeper(App& app)
    : app_(app), backups_(StateLayoutOf(app.config).backups), thread_(&Housekeeper::Run, this) {}

Housekeeper::~Housekeeper() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (backup_thread_.joinable()) backup_thread_.join();
}

void Housekeeper::MaybeStartBackup() {
  // On Redis the sessions are Redis's to persist (its AOF): nothing local to copy.
  if (!app_.store || !backups_.enabled() || backup_running_.load() || UnixMsCoarse() < next_backup_ms_.load()) return;
  if (backup_thread_.joinable()) backup_thread_.join();  // the last one, finished
  backup_running_ = true;
  backup_thread_ = std::thread([this] {
    LowerBackupPriority();  // behind the chat threads, CPU and disk
    next_backup_ms_ = RunScheduledBackup(backups_, *app_.store, UnixMsCoarse());
    backup_running_ = false;
  });
}

void Housekeeper::Run() {
  using std::chrono::seconds;
  const auto sweep_every = seconds(app_.settings.session_sweep_s);
  auto next_readers = std::chrono::steady_clock::now();
  auto next_sweep = std::chrono::steady_clock::now() + seconds(5);
  auto next_purge = std::chrono::steady_clock::now() + seconds(5);
  auto next_evict = std::chrono::steady_clock::now();
  uint64_t evictions_counted = 0;
  while (!stop_.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    if (!app_.sessions) continue;  // not open yet
    auto now = std::chrono::steady_clock::now();
    if (now >= next_readers) {
      // A worker killed mid-read leaves its reader slot behind, in any of
      // the three environments; enough of them would exhaust the table, and
      // each pins old pages that writers cannot reuse (the file grows). A
      // check is one fcntl probe per distinct pid in the table.
      auto clear = [](const char* env, Result<int> cleared) {
        if (cleared.ok() && *cleared > 0) LogWarn("stale_readers_cleared", {{"env", env}, {"count", *cleared}});
      };
      if (app_.store) clear("sessions", app_.store->ClearStaleReaders());
      if (app_.cache) clear("cache", app_.cache->ClearStaleReaders());
      if (app_.inflight_store) clear("inflight", app_.inflight_store->ClearStaleReaders());
      app_.metrics->ReclaimDeadSlots();  // a killed worker's in-flight count
      next_readers = now + seconds(5);
    }
    if (app_.limits) app_.limits->ReclaimDead();  // tickets and upstream slots of killed workers
    if (now >= next_purge) {
      if (app_.inflight) (void)app_.inflight->Purge(UnixMsCoarse());
      if (app_.cache) (void)app_.cache->PurgeExpired(UnixMsCoarse(), 200);
      // This process's cache counts reach the shared totals even when it
      // serves nothing more (a busy one folds them in on its next lookup).
      if (app_.cache) (void)app_.cache->Flush();
      next_purge = now + seconds(5);
    }
    if (now >= next_evict && app_.sessions) {
      // Ahead of need: the store keeps room for everyone's next turns.
      Result<int> evicted = app_.sessions->EvictIfNearFull();
      if (!evicted.ok()) LogWarn("session_eviction_failed", {{"reason", evicted.status().message()}});
      next_evict = now + seconds(2);
    }
    if (app_.sessions) {  // evictions of this process, the housekeeper's and any commit's
      const uint64_t evicted = app_.sessions->evicted();
      app_.metrics->Add(Counter::kSessionsEvicted, static_cast<int64_t>(evicted - evictions_counted));
      evictions_counted = evicted;
    }
    MaybeStartBackup();
    if (now >= next_sweep && app_.sessions) {
      Result<int> swept = app_.sessions->SweepExpired(UnixNow());
      if (swept.ok() && *swept > 0) LogInfo("sessions_expired", {{"count", *swept}});
      if (!swept.ok()) LogWarn("session_sweep_failed", {{"reason", swept.status().message()}});
      next_sweep = now + sweep_every;
    }
  }
}

}  // namespace folio
