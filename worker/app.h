// app.h: the state one worker process shares among its threads and hands to
// every handler: configuration, start time, readiness. Later issues add the
// store, index and LLM client here. Everything in App is safe to use from
// any thread of the process; nothing in it survives fork() or is shared
// with other processes (that is LMDB's job).
#pragma once

#include <mutex>
#include <string>

#include "clock.h"
#include "config.h"

namespace folio {

// Whether start-up checks have passed. Starts "not ready: starting".
class Readiness {
 public:
  void SetReady() {
    std::lock_guard<std::mutex> lock(mu_);
    ready_ = true;
    reason_.clear();
  }
  void SetNotReady(std::string reason) {
    std::lock_guard<std::mutex> lock(mu_);
    ready_ = false;
    reason_ = std::move(reason);
  }
  // Returns true when ready; otherwise fills *reason.
  bool IsReady(std::string* reason) const {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ready_ && reason) *reason = reason_;
    return ready_;
  }

 private:
  mutable std::mutex mu_;
  bool ready_ = false;
  std::string reason_ = "starting";
};

struct App {
  explicit App(Config c) : config(std::move(c)) {}
  const Config config;
  const SteadyTime started_at = std::chrono::steady_clock::now();
  Readiness readiness;
};

}  // namespace folio
