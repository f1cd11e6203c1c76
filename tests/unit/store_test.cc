// store_test.cc: the LMDB store on a real environment in a fresh temp dir:
// basic operations, transactions, a full map, and the multi-process facts the
// workers rely on (stale readers of killed processes, a writer killed inside its
// transaction, two processes writing at once). Forked children open their own
// Store and leave with _exit() so no gtest or parent state runs twice.
#include "store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "child.h"
#include "temp_dir.h"

namespace folio {
namespace {

using test::Child;
using test::Pipe;
using test::TempDir;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.path = dir_.path("env");
    options_.map_size_mb = 64;
    options_.databases = {"alpha", "beta"};
    Reopen();
  }
  void Reopen() {
    store_.reset();
    Result<std::unique_ptr<Store>> opened = Store::Open(options_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened.value());
    alpha_ = *store_->Database("alpha");
    beta_ = *store_->Database("beta");
  }
  std::optional<std::string> GetOrDie(Db db, const std::string& key) {
    Result<std::optional<std::string>> got = store_->Get(db, key);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got.ok() ? *got : std::nullopt;
  }

  TempDir dir_{"folio-store-test"};
  StoreOptions options_;
  std::unique_ptr<Store> store_;
  Db alpha_, beta_;
};

TEST_F(StoreTest, PutThenGetReturnsACopy) {
  ASSERT_TRUE(store_->Put(alpha_, "k", "v1", Durability::kSynced).ok());
  EXPECT_EQ(GetOrDie(alpha_, "k"), "v1");
  ASSERT_TRUE(store_->Put(alpha_, "k", "v2", Durability::kRelaxed).ok());
  EXPECT_EQ(GetOrDie(alpha_, "k"), "v2");
}

TEST_F(StoreTest, WriteObserverSeesEveryTransactionAndItsHeldTime) {
  std::vector<uint64_t> held;
  options_.on_write = [&held](uint64_t, uint64_t held_us) { held.push_back(held_us); };
  Reopen();
  held.clear();  // Open's own transaction
  ASSERT_TRUE(store_->Put(alpha_, "k", "v", Durability::kRelaxed).ok());
  Status refused = store_->Write(
      [&](WriteTxn&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the held time measured below
        return NotFound("nope", "aborted on purpose");
      },
      Durability::kRelaxed);
  EXPECT_FALSE(refused.ok());
  ASSERT_EQ(held.size(), 2u);  // an aborted transaction held the lock too
  EXPECT_GE(held[1], 20000u);
}

TEST_F(StoreTest, MissingKeyIsNullopt) { EXPECT_EQ(GetOrDie(alpha_, "nope"), std::nullopt); }

TEST_F(StoreTest, DeleteReportsWhetherARecordWasRemoved) {
  ASSERT_TRUE(store_->Put(alpha_, "k", "v", Durability::kSynced).ok());
  Result<bool> first = store_->Delete(alpha_, "k", Durability::kSynced);
  Result<bool> second = store_->Delete(alpha_, "k", Durability::kSynced);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_TRUE(*first);
  EXPECT_FALSE(*second);
  EXPECT_EQ(GetOrDie(alpha_, "k"), std::nullopt);
}

TEST_F(StoreTest, NamedDatabasesAreSeparate) {
  ASSERT_TRUE(store_->Put(alpha_, "k", "in alpha", Durability::kSynced).ok());
  EXPECT_EQ(GetOrDie(beta_, "k"), std::nullopt);
  EXPECT_EQ(store_->Database("gamma").status().code(), Code::kNotFound);
}

TEST_F(StoreTest, DataSurvivesReopen) {
  ASSERT_TRUE(store_->Put(beta_, "k", "kept", Durability::kSynced).ok());
  Reopen();
  EXPECT_EQ(GetOrDie(beta_, "k"), "kept");
}

TEST_F(StoreTest, BadKeysAreInvalidArgument) {
  EXPECT_EQ(store_->Put(alpha_, "", "v", Durability::kSynced).code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->Put(alpha_, std::string(600, 'k'), "v", Durability::kSynced).code(), Code::kInvalidArgument);
}

TEST_F(StoreTest, ForEachVisitsKeysInOrderFromStartUntilToldToStop) {
  for (const char* k : {"d", "a", "c", "b", "e"}) {
    ASSERT_TRUE(store_->Put(alpha_, k, std::string("v") + k, Durability::kRelaxed).ok());
  }
  Result<ReadTxn> txn = store_->BeginRead();
  ASSERT_TRUE(txn.ok());
  std::vector<std::string> seen;
  ASSERT_TRUE(txn->ForEach(alpha_, "", [&](std::string_view k, std::string_view v) {
                   seen.push_back(std::string(k) + "=" + std::string(v));
                   return true;
                 }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a=va", "b=vb", "c=vc", "d=vd", "e=ve"}));
  seen.clear();
  ASSERT_TRUE(txn->ForEach(alpha_, "bb", [&](std::string_view k, std::string_view) {
                   seen.emplace_back(k);
                   return seen.size() < 2;
                 }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"c", "d"}));
}

TEST_F(StoreTest, FailedWriteCallbackCommitsNothing) {
  Status s = store_->Write(
      [&](WriteTxn& txn) -> Status {
        EXPECT_TRUE(txn.Put(alpha_, "a", "1").ok());
        EXPECT_TRUE(txn.Put(beta_, "b", "2").ok());
        return Unavailable("test_abort", "changed my mind");
      },
      Durability::kSynced);
  EXPECT_EQ(s.error(), "test_abort");
  EXPECT_EQ(GetOrDie(alpha_, "a"), std::nullopt);
  EXPECT_EQ(GetOrDie(beta_, "b"), std::nullopt);
}

TEST_F(StoreTest, WriteTxnSeesItsOwnWritesAndCommitsAtomically) {
  Status s = store_->Write(
      [&](WriteTxn& txn) -> Status {
        if (Status p = txn.Put(alpha_, "a", "1"); !p.ok()) return p;
        Result<std::optional<std::string_view>> got = txn.Get(alpha_, "a");
        EXPECT_TRUE(got.ok() && got->has_value() && **got == "1");
        return txn.Put(beta_, "b", "2");
      },
      Durability::kSynced);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(GetOrDie(alpha_, "a"), "1");
  EXPECT_EQ(GetOrDie(beta_, "b"), "2");
}

TEST_F(StoreTest, ReadTxnIsASnapshot) {
  ASSERT_TRUE(store_->Put(alpha_, "k", "old", Durability::kSynced).ok());
  Result<ReadTxn> txn = store_->BeginRead();
  ASSERT_TRUE(txn.ok());
  ASSERT_TRUE(store_->Put(alpha_, "k", "new", Durability::kSynced).ok());
  Result<std::optional<std::string_view>> got = txn->Get(alpha_, "k");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, "old");
}

TEST_F(StoreTest, NestedWriteIsRefusedInsteadOfDeadlocking) {
  Status inner;
  Status outer = store_->Write(
      [&](WriteTxn&) -> Status {
        inner = store_->Put(alpha_, "k", "v", Durability::kSynced);
        return Status::Ok();
      },
      Durability::kSynced);
  EXPECT_TRUE(outer.ok());
  EXPECT_EQ(inner.error(), "store_nested_write");
}

TEST_F(StoreTest, StatAndEnvInfoDescribeTheEnvironment) {
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(store_->Put(alpha_, "k" + std::to_string(i), std::string(100, 'x'), Durability::kRelaxed).ok());
  }
  Result<DbStats> stats = store_->Stat(alpha_);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->entries, 10u);
  EXPECT_GT(stats->bytes, 0u);
  Result<ReadTxn> reader = store_->BeginRead();
  ASSERT_TRUE(reader.ok());
  Result<StoreInfo> info = store_->EnvInfo();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->map_size_bytes, 64u << 20);
  EXPECT_GT(info->used_bytes, 0u);
  EXPECT_EQ(info->max_readers, 512u);
  EXPECT_EQ(info->readers_in_use, 1u);
}

TEST(StoreMapFullTest, FullMapIsResourceExhaustedAndStoreRecoversAfterDeletes) {
  TempDir dir{"folio-store-test"};
  StoreOptions options;
  options.path = dir.path("env");
  options.map_size_mb = 4;
  options.databases = {"t"};
  options.commit_sync = CommitSync::kOnRequest;  // 1000 synced commits would only slow the test
  Result<std::unique_ptr<Store>> store = Store::Open(options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  Db db = *(*store)->Database("t");
  const std::string value(1024, 'v');
  int written = 0;
  Status last;
  for (; written < 20000; ++written) {
    last = (*store)->Put(db, "key" + std::to_string(written), value, Durability::kRelaxed);
    if (!last.ok()) break;
  }
  ASSERT_EQ(last.code(), Code::kResourceExhausted) << last.ToString();
  EXPECT_EQ(last.error(), "store_full");
  ASSERT_GT(written, 100);
  // Reads still work on a full map.
  Result<std::optional<std::string>> got = (*store)->Get(db, "key0");
  ASSERT_TRUE(got.ok() && got->has_value());
  // Deletes draw on the reserve that Put may not touch (64 pages here): a delete
  // copies every page it touches, so batches stay small relative to the reserve.
  const int kBatch = 20;
  for (int i = 0; i < written / 2; i += kBatch) {
    Status s = (*store)->Write(
        [&](WriteTxn& txn) -> Status {
          for (int j = i; j < i + kBatch && j < written / 2; ++j) {
            Result<bool> r = txn.Delete(db, "key" + std::to_string(j));
            if (!r.ok()) return r.status();
          }
          return Status::Ok();
        },
        Durability::kRelaxed);
    ASSERT_TRUE(s.ok()) << "batch " << i << ": " << s.ToString();
  }
  EXPECT_TRUE((*store)->Put(db, "after", value, Durability::kSynced).ok());
}

// A reader slot of a killed process stays taken (pinning its snapshot) until
// mdb_reader_check notices the process is gone.
TEST_F(StoreTest, StaleReaderOfKilledChildIsCleared) {
  Pipe ready;
  Child child([&] {
    Result<std::unique_ptr<Store>> own = Store::Open(options_);
    if (!own.ok()) return 2;
    Result<ReadTxn> txn = (*own)->BeginRead();
    if (!txn.ok()) return 3;
    ready.Signal();
    pause();
    return 0;
  });
  ASSERT_EQ(ready.Wait(), '!');
  child.Kill();
  Result<StoreInfo> before = store_->EnvInfo();
  ASSERT_TRUE(before.ok());
  EXPECT_GE(before->readers_in_use, 1u);
  Result<int> cleared = store_->ClearStaleReaders();
  ASSERT_TRUE(cleared.ok()) << cleared.status().ToString();
  EXPECT_GE(*cleared, 1);
  EXPECT_EQ(store_->EnvInfo()->readers_in_use, 0u);
}

// LMDB's writer lock is a robust mutex: a writer killed inside its transaction
// does not block the others, and its uncommitted changes vanish.
TEST_F(StoreTest, WriterKilledInsideItsTransactionDoesNotBlockOthers) {
  Pipe ready;
  Child child([&] {
    Result<std::unique_ptr<Store>> own = Store::Open(options_);
    if (!own.ok()) return 2;
    Db db = *(*own)->Database("alpha");
    (void)(*own)->Write(
        [&](WriteTxn& txn) -> Status {
          (void)txn.Put(db, "doomed", "never committed");
          ready.Signal();
          pause();
          return Status::Ok();
        },
        Durability::kSynced);
    return 0;
  });
  ASSERT_EQ(ready.Wait(), '!');
  child.Kill();
  ASSERT_TRUE(store_->Put(alpha_, "after", "ok", Durability::kSynced).ok());
  EXPECT_EQ(GetOrDie(alpha_, "doomed"), std::nullopt);
  EXPECT_EQ(GetOrDie(alpha_, "after"), "ok");
}

TEST_F(StoreTest, TwoProcessesWritingConcurrentlySeeEachOthersWrites) {
  constexpr int kEach = 200;
  Pipe child_done, parent_done;
  Child child([&] {
    Result<std::unique_ptr<Store>> own = Store::Open(options_);
    if (!own.ok()) return 2;
    Db db = *(*own)->Database("alpha");
    for (int i = 0; i < kEach; ++i) {
      if (!(*own)->Put(db, "child/" + std::to_string(i), "c", Durability::kSynced).ok()) return 3;
    }
    child_done.Signal();
    if (parent_done.Wait() != '!') return 4;
    for (int i = 0; i < kEach; ++i) {
      Result<std::optional<std::string>> got = (*own)->Get(db, "parent/" + std::to_string(i));
      if (!got.ok() || *got != std::optional<std::string>("p")) return 5;
    }
    return 0;
  });
  for (int i = 0; i < kEach; ++i) {
    ASSERT_TRUE(store_->Put(alpha_, "parent/" + std::to_string(i), "p", Durability::kSynced).ok());
  }
  parent_done.Signal();
  ASSERT_EQ(child_done.Wait(), '!');
  EXPECT_EQ(child.Wait(), 0);
  EXPECT_EQ(store_->Stat(alpha_)->entries, 2u * kEach);
  EXPECT_EQ(GetOrDie(alpha_, "child/0"), "c");
}

TEST_F(StoreTest, StoreInheritedThroughForkRefusesToWork) {
  Child child([&] {
    Status s = store_->Put(alpha_, "k", "v", Durability::kSynced);
    return s.error() == "store_used_after_fork" ? 0 : 1;
  });
  EXPECT_EQ(child.Wait(), 0);
}

TEST(StoreCommitSyncTest, RelaxedEnvironmentHonoursBothDurabilities) {
  TempDir dir{"folio-store-test"};
  StoreOptions options;
  options.path = dir.path("nested/env");  // Open creates missing directories
  options.databases = {"cache"};
  options.commit_sync = CommitSync::kOnRequest;
  Result<std::unique_ptr<Store>> store = Store::Open(options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  Db db = *(*store)->Database("cache");
  ASSERT_TRUE((*store)->Put(db, "r", "relaxed", Durability::kRelaxed).ok());
  ASSERT_TRUE((*store)->Put(db, "s", "synced", Durability::kSynced).ok());
  EXPECT_EQ(*(*store)->Get(db, "r"), "relaxed");
  EXPECT_EQ(*(*store)->Get(db, "s"), "synced");
}

TEST(StoreOpenTest, UnusablePathIsUnavailable) {
  StoreOptions options;
  options.path = "/proc/folio-cannot-exist/env";
  EXPECT_EQ(Store::Open(options).status().code(), Code::kUnavailable);
  options.path = "";
  EXPECT_EQ(Store::Open(options).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace folio
