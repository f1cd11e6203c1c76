// seed_sessions.cc: fills an instance's session store with N sessions of a
// few turns each (about 1 KB a turn), as a stopped or a running instance
// would hold them, for bench/backup_bench.sh. The store is the one the
// environment's configuration names (DATA_DIR, LMDB_MAP_MB...), opened as a
// worker opens it; turns are committed in batches through the group commit.
// Usage: DATA_DIR=... bench-seed-sessions SESSIONS [TURNS]
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "clock.h"
#include "config.h"
#include "sessions.h"
#include "state_layout.h"
#include "store.h"

namespace {

// Waits for the turns in flight, at most kInFlight at a time.
class Flight {
 public:
  void Begin() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ < kInFlight; });
    ++in_flight_;
  }
  void End(const folio::Status& s) {
    std::lock_guard lock(mu_);
    --in_flight_;
    if (!s.ok()) ++failed_;
    cv_.notify_all();
  }
  int Drain() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ == 0; });
    return failed_;
  }

 private:
  static constexpr int kInFlight = 256;
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
  int failed_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: DATA_DIR=... bench-seed-sessions SESSIONS [TURNS]\n");
    return 2;
  }
  const long sessions = std::atol(argv[1]);
  const int turns = argc > 2 ? std::atoi(argv[2]) : 3;
  std::vector<std::string> problems;
  folio::Result<folio::Config> config = folio::Config::Load(&problems);
  if (!config.ok()) {
    for (const std::string& p : problems) std::fprintf(stderr, "config: %s\n", p.c_str());
    return 2;
  }
  const folio::StateLayout layout = folio::StateLayoutOf(*config);
  folio::Result<std::unique_ptr<folio::Store>> store = folio::Store::Open(layout.sessions_store);
  if (!store.ok()) {
    std::fprintf(stderr, "store: %s\n", store.status().message().c_str());
    return 1;
  }
  folio::Result<folio::SessionStore> opened = folio::SessionStore::Open(store->get(), layout.sessions);
  if (!opened.ok()) {
    std::fprintf(stderr, "sessions: %s\n", opened.status().message().c_str());
    return 1;
  }
  folio::SessionStore& s = *opened;
  const std::string question(180, 'q');
  const std::string answer(820, 'a');
  const int64_t now = folio::UnixNow();
  Flight flight;
  std::vector<std::string> ids;
  ids.reserve(static_cast<size_t>(sessions));
  for (long i = 0; i < sessions; ++i) {
    folio::Result<std::string> id = folio::NewSessionId();
    if (!id.ok()) return 1;
    ids.push_back(*id);
    flight.Begin();
    s.StartWithTurnAsync(*id, question, answer, now, [&](const folio::Status& st) { flight.End(st); });
  }
  int failed = flight.Drain();
  for (int t = 1; t < turns; ++t) {
    for (const std::string& id : ids) {
      flight.Begin();
      s.AppendTurnAsync(id, question, answer, now, [&](const folio::Status& st) { flight.End(st); });
    }
    failed = flight.Drain();
  }
  folio::Result<uint64_t> count = s.Count();
  std::printf("%llu sessions, %d turns each, %d failed\n",
              static_cast<unsigned long long>(count.ok() ? *count : 0), turns, failed);
  return failed == 0 ? 0 : 1;
}
