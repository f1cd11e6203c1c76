// housekeeper.h: the background thread of a worker process that frees what
// killed processes left behind (LMDB reader slots, concurrency tickets,
// upstream slots, in-flight counts) and keeps the stores in shape (expired
// in-flight and cache entries, session eviction and sweeps), and starts the
// scheduled backups (BACKUP_KEEP > 0: backup_schedule.h) on a thread of
// their own, so that a long copy never delays the rest. One per process,
// started once the state is open; stops (and joins both) on destruction.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "app.h"

namespace folio {

class Housekeeper {
 public:
  explicit Housekeeper(App& app);
  ~Housekeeper();
  Housekeeper(const Housekeeper&) = delete;
  Housekeeper& operator=(const Housekeeper&) = delete;

 private:
  void Run();
  void MaybeStartBackup();
  App& app_;
  const BackupSchedule backups_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> backup_running_{false};
  std::atomic<int64_t> next_backup_ms_{0};  // unix ms when the schedule is asked again
  std::thread backup_thread_;
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace folio
