// group_commit.h: small synced writes from many threads of one process,
// committed together — one LMDB write transaction and one fsync for every
// write that queued while the previous commit was syncing.
//
// A synced LMDB commit costs two fdatasyncs (≈ 0.4-1 ms here, far more on a
// busy disk) under a writer lock that every process shares, so one commit per
// chat caps the whole instance at a thousand or two chats per second. Here a
// batch pays once, and a batch holds every write that arrived during the
// previous one: the rate adapts to the disk instead of queueing on it.
//
// One committer thread per GroupCommit runs the batches. A caller either waits
// (Write) or leaves a callback (Submit) that the committer runs once the write
// is on disk, so an accept thread can go back to accepting while its answer
// waits for the disk (server.cc sends the answer from the callback).
//
// Thread-safe; one GroupCommit per Store per process (batches do not span
// processes: the LMDB writer lock orders the processes' batches). Create it
// in the process that uses it: its thread does not survive fork().
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "status.h"
#include "store.h"

namespace folio {

class GroupCommit {
 public:
  // Called on the committer thread after each batch: how many writes it held
  // and how long its transaction took, commit and sync included.
  using BatchObserver = std::function<void(size_t writes, double seconds)>;

  // Called on the committer thread when a batch failed because the store
  // is full ("store_full"): returns true if it made room (in transactions of
  // its own), and the batch then runs once more (up to four rounds while
  // it is still full).
  using MakeRoom = std::function<bool()>;

  // REQUIRES: `store` outlives this object.
  explicit GroupCommit(Store* store, BatchObserver observer = nullptr, MakeRoom make_room = nullptr);
  // Commits what is queued, then stops the committer thread.
  ~GroupCommit();
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Runs `op` in a write transaction shared with other ops, in arrival order.
  // Its result: op's own Status if it failed (the others still commit), else
  // the transaction's — a store error (full map, I/O) fails every op of the
  // batch and commits none. OK means on disk.
  // REQUIRES: an op that fails does so before it writes (its writes would be
  // committed with the batch); ops do not call Store::Write and do not block.
  using Op = std::function<Status(WriteTxn&)>;
  using Done = std::function<void(const Status&)>;

  // Waits for the result. A wait bounded by the batch ahead and its own.
  Status Write(Op op);
  // Returns at once; `done` runs on the committer thread with the result.
  // `op` and `done` own what they capture. `done` must not block long: the
  // next batch waits for it.
  void Submit(Op op, Done done);

  struct Counters {
    uint64_t batches = 0;  // transactions committed or failed
    uint64_t writes = 0;   // ops submitted
  };
  Counters counters() const;
  // The last batch whose transaction failed (a full map, a failing disk),
  // with the environment's last committed transaction id at that moment;
  // reset to OK when a batch commits again.
  struct LastFailure {
    Status status;
    uint64_t txn_id = 0;
  };
  LastFailure last_failure() const;

 private:
  struct Pending {
    Op op;
    Done done;
    Status result;
  };
  void Run();  // the committer thread
  Status CommitBatch(std::vector<Pending>& batch);  // the transaction's result

  Store* store_;  // not owned
  BatchObserver observer_;
  MakeRoom make_room_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::vector<Pending> queue_;  // guarded by mu_
  bool stopping_ = false;       // guarded by mu_
  Counters counters_;           // guarded by mu_
  LastFailure last_failure_;    // guarded by mu_
  std::thread committer_;
};

}  // namespace folio
