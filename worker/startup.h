// startup.h: what a worker process checks and opens before it is ready,
// and the housekeeping it then does in the background (stale LMDB reader
// slots of killed processes, expired sessions). Called from main.cc only.
#pragma once

#include <atomic>
#include <thread>

#include "app.h"

namespace folio {

// Data directory writable, LMDB environment and session store open (into
// app). The first failure is returned; the caller reports it on /ready.
Status OpenState(App& app);

// A thread that clears stale reader slots every 30 s and sweeps expired
// sessions every SESSION_SWEEP_S. Stops (and joins) on destruction.
class Housekeeper {
 public:
  explicit Housekeeper(App& app);
  ~Housekeeper();
  Housekeeper(const Housekeeper&) = delete;
  Housekeeper& operator=(const Housekeeper&) = delete;

 private:
  void Run();
  App& app_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace folio
