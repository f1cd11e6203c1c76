// housekeeper.h: the background thread of a worker process that frees what
// killed processes left behind (LMDB reader slots, concurrency tickets,
// upstream slots, in-flight counts) and keeps the stores in shape (expired
// in-flight and cache entries, session eviction and sweeps). One per process,
// started once the state is open; stops (and joins) on destruction.
#pragma once

#include <atomic>
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
  App& app_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace folio
