// group_commit_test.cc: writes queued behind a commit in progress share the
// next transaction; one op's refusal fails only that op; a store error fails
// the whole batch and commits none of it. Batching is forced, not hoped for:
// the first op holds its transaction open until every other writer has queued.
#include "group_commit.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "poll_until.h"
#include "temp_dir.h"

namespace folio {
namespace {

class GroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions options;
    options.path = dir_.path();
    options.map_size_mb = 16;
    options.databases = {"t"};
    Result<std::unique_ptr<Store>> store = Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
    db_ = *store_->Database("t");
    commits_ = std::make_unique<GroupCommit>(store_.get());
  }

  Store::WriteFn PutOp(std::string key) {
    return [this, key](WriteTxn& txn) { return txn.Put(db_, key, "v-" + key); };
  }
  bool Has(const std::string& key) {
    Result<std::optional<std::string>> v = store_->Get(db_, key);
    return v.ok() && v->has_value();
  }

  // Starts a writer whose op blocks until `release` is set, then `ops` more
  // writers, and waits until all of them have queued. Returns the futures
  // (blocker first) of each Write's Status.
  std::vector<std::future<Status>> QueueBehindBlocker(std::shared_future<void> release,
                                                      std::vector<Store::WriteFn> ops) {
    std::vector<std::future<Status>> results;
    std::promise<void> entered;
    results.push_back(std::async(std::launch::async, [&, release] {
      return commits_->Write([&](WriteTxn& txn) {
        entered.set_value();
        release.wait();
        return txn.Put(db_, "blocker", "x");
      });
    }));
    entered.get_future().wait();
    const uint64_t before = commits_->counters().writes;
    for (Store::WriteFn& op : ops) {
      results.push_back(std::async(std::launch::async, [this, op = std::move(op)] { return commits_->Write(op); }));
    }
    test::PollUntil([&] { return commits_->counters().writes >= before + ops.size(); }, std::chrono::seconds(10),
                    std::chrono::milliseconds(1));
    return results;
  }

  const test::TempDir dir_{"folio-group-commit"};  // first: outlives the store
  std::unique_ptr<Store> store_;
  Db db_;
  std::unique_ptr<GroupCommit> commits_;
};

TEST_F(GroupCommitTest, WritesQueuedDuringACommitShareTheNextOne) {
  std::promise<void> release;
  std::vector<Store::WriteFn> ops;
  for (int i = 0; i < 20; ++i) ops.push_back(PutOp("k" + std::to_string(i)));
  auto results = QueueBehindBlocker(release.get_future().share(), std::move(ops));
  release.set_value();
  for (auto& r : results) EXPECT_TRUE(r.get().ok());
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(Has("k" + std::to_string(i))) << i;
  EXPECT_TRUE(Has("blocker"));
  GroupCommit::Counters c = commits_->counters();
  EXPECT_EQ(c.writes, 21u);
  EXPECT_EQ(c.batches, 2u);  // the blocker's, then all 20 together
}

TEST_F(GroupCommitTest, AnOpsRefusalFailsOnlyThatOp) {
  std::promise<void> release;
  std::vector<Store::WriteFn> ops = {PutOp("a"), [](WriteTxn&) { return NotFound("nope", "refused before writing"); },
                                     PutOp("b")};
  auto results = QueueBehindBlocker(release.get_future().share(), std::move(ops));
  release.set_value();
  EXPECT_TRUE(results[0].get().ok());
  EXPECT_TRUE(results[1].get().ok());
  Status refused = results[2].get();
  EXPECT_EQ(refused.code(), Code::kNotFound);
  EXPECT_EQ(refused.error(), "nope");
  EXPECT_TRUE(results[3].get().ok());
  EXPECT_TRUE(Has("a"));
  EXPECT_TRUE(Has("b"));
}

TEST_F(GroupCommitTest, AStoreErrorFailsTheWholeBatchAndCommitsNone) {
  std::promise<void> release;
  std::vector<Store::WriteFn> ops = {PutOp("a"), [this](WriteTxn& txn) { return txn.Put(db_, "", "empty key"); },
                                     PutOp("b")};
  auto results = QueueBehindBlocker(release.get_future().share(), std::move(ops));
  release.set_value();
  EXPECT_TRUE(results[0].get().ok());  // the blocker's batch was its own
  for (size_t i = 1; i < results.size(); ++i) {
    Status s = results[i].get();
    EXPECT_FALSE(s.ok()) << i;
    EXPECT_EQ(s.error(), "store_bad_size") << i;
  }
  EXPECT_FALSE(Has("a"));
  EXPECT_FALSE(Has("b"));
}

TEST_F(GroupCommitTest, AWriterAloneCommitsAtOnce) {
  EXPECT_TRUE(commits_->Write(PutOp("solo")).ok());
  EXPECT_TRUE(Has("solo"));
  EXPECT_EQ(commits_->counters().batches, 1u);
}

}  // namespace
}  // namespace folio
