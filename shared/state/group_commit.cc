// group_commit.cc: the committer thread.
//
// It sleeps until the queue is non-empty, takes the whole queue, runs every
// op in one transaction, commits with one sync, then calls each op's `done`
// (pipelined: after the next batch's commit, or a Sync() when none follows).
// Writes that queue meanwhile form the next batch. Nobody waits for more than
// the batch ahead of it plus its own.
#include "group_commit.h"

#include <chrono>
#include <future>
#include <utility>

#include "log.h"

namespace folio {

GroupCommit::GroupCommit(Store* store, BatchObserver observer, MakeRoom make_room)
    : store_(store),
      pipelined_(store->commit_sync() == CommitSync::kDataEveryCommit),
      observer_(std::move(observer)),
      make_room_(std::move(make_room)),
      committer_(&GroupCommit::Run, this) {}

GroupCommit::~GroupCommit() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_one();
  committer_.join();
}

Status GroupCommit::Write(Op op) {
  std::promise<Status> result;
  std::future<Status> future = result.get_future();
  Submit(std::move(op), [&result](const Status& s) { result.set_value(s); });
  return future.get();
}

void GroupCommit::Submit(Op op, Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(Pending{std::move(op), std::move(done), Status::Ok()});
    ++counters_.writes;
  }
  work_cv_.notify_one();
}

void GroupCommit::Run() {
  std::vector<Pending> batch;
  std::vector<Pending> unsynced;  // pipelined: committed, meta page not yet synced
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (unsynced.empty()) work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && unsynced.empty()) return;  // stopping, and everything is on disk
      batch.swap(queue_);
    }
    if (batch.empty()) {  // nothing follows the last batch: sync it on its own
      Release(unsynced, store_->Sync());
      continue;
    }
    Status txn_status = CommitBatch(batch);
    if (txn_status.Is(Reason::kStoreFull) && make_room_ && make_room_()) {
      for (Pending& p : batch) p.result = Status::Ok();
      txn_status = CommitBatch(batch);  // each op reads its state afresh
    }
    LastFailure failure;
    if (!txn_status.ok()) {
      Result<StoreInfo> info = store_->EnvInfo();
      failure = {std::move(txn_status), info.ok() ? info->last_txn_id : 0};
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++counters_.batches;
      last_failure_ = failure;
    }
    // This commit's sync carried the previous batch's meta page; a failed
    // commit may not have synced at all.
    if (!unsynced.empty()) Release(unsynced, failure.status.ok() ? Status::Ok() : store_->Sync());
    if (pipelined_ && failure.status.ok()) {
      unsynced.swap(batch);
    } else {
      Release(batch, Status::Ok());
    }
  }
}

// Runs each write's `done` with its result, or with `unsynced` when that is
// an error (the sync that would have made the batch durable failed).
void GroupCommit::Release(std::vector<Pending>& batch, const Status& unsynced) {
  for (Pending& p : batch) {
    if (p.result.ok() && !unsynced.ok()) p.result = unsynced;
    try {
      p.done(p.result);
    } catch (...) {  // a caller's bug must not stop every later commit
      LogError("group_commit_callback_threw", {});
    }
  }
  batch.clear();
}

Status GroupCommit::CommitBatch(std::vector<Pending>& batch) {
  const auto start = std::chrono::steady_clock::now();
  Status txn_status;
  try {
    txn_status = store_->Write(
        [&](WriteTxn& txn) -> Status {
          for (Pending& p : batch) {
            p.result = p.op(txn);
            // A store error latched in the transaction fails the batch; an op's
            // own refusal (not found, collision) fails only that op.
            if (!txn.failed().ok()) return txn.failed();
          }
          return Status::Ok();
        },
        pipelined_ ? Durability::kSyncedByNext : Durability::kSynced);
  } catch (...) {  // the transaction was aborted on the way out
    txn_status = Internal("group_commit_op_threw", "a write threw; its batch was not committed");
  }
  if (!txn_status.ok()) {
    for (Pending& p : batch) {
      if (p.result.ok()) p.result = txn_status;
    }
  }
  if (observer_) {
    observer_(batch.size(), std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return txn_status;
}

GroupCommit::Counters GroupCommit::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

GroupCommit::LastFailure GroupCommit::last_failure() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_failure_;
}

}  // namespace folio
