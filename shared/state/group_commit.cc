// group_commit.cc: the committer thread.
//
// It sleeps until the queue is non-empty, takes the whole queue, runs every
// op in one transaction, commits with one sync, then calls each op's `done`.
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

namespace {
constexpr int kMakeRoomRounds = 4;
}  // namespace

void GroupCommit::Run() {
  std::vector<Pending> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is committed
      batch.swap(queue_);
    }
    Status txn_status = CommitBatch(batch);
    // One round of eviction may free less than a batch of large records
    // needs (a few hundred KB each in a small map): a few more rounds, each
    // freeing more, before the batch's turns are refused.
    for (int round = 0; round < kMakeRoomRounds && txn_status.Is(Reason::kStoreFull) && make_room_ && make_room_();
         ++round) {
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
      last_failure_ = std::move(failure);
    }
    for (Pending& p : batch) {
      try {
        p.done(p.result);
      } catch (...) {  // a caller's bug must not stop every later commit
        LogError("group_commit_callback_threw", {});
      }
    }
    batch.clear();
  }
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
        Durability::kSynced);
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
