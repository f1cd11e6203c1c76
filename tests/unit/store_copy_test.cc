// store_copy_test.cc: what backups ask of the LMDB store — a compacting
// copy that is one consistent snapshot while a writer keeps committing, a
// read-only open that writes nothing (not even lock.mdb) and refuses a
// truncated file before reading it, and telling whether another process has
// an environment open, from LMDB's own lock, through that process's death.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "child.h"
#include "temp_dir.h"
#include "store.h"

namespace folio {
namespace {

namespace fs = std::filesystem;
using test::Child;
using test::Pipe;
using test::TempDir;

class StoreCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.path = dir_.path() + "/env";
    options_.map_size_mb = 64;
    options_.databases = {"items", "count"};
    options_.commit_sync = CommitSync::kOnRequest;  // relaxed writes: thousands of commits, no fsync each
    Result<std::unique_ptr<Store>> opened = Store::Open(options_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened.value());
    items_ = *store_->Database("items");
    count_ = *store_->Database("count");
  }

  // Writes item n and the count n + 1 in one transaction: a snapshot holds
  // exactly `count` items, whatever moment it is taken at.
  Status WriteItem(int n) {
    return store_->Write(
        [&](WriteTxn& txn) -> Status {
          char key[16];
          std::snprintf(key, sizeof key, "item%08d", n);
          if (Status s = txn.Put(items_, key, std::string(300, static_cast<char>('a' + n % 26))); !s.ok()) return s;
          return txn.Put(count_, "n", std::to_string(n + 1));
        },
        Durability::kRelaxed);
  }

  std::unique_ptr<Store> OpenReadOnly(const std::string& path, Status* error = nullptr) {
    StoreOptions ro;
    ro.path = path;
    ro.read_only = true;
    ro.databases = options_.databases;
    Result<std::unique_ptr<Store>> opened = Store::Open(ro);
    if (error != nullptr) *error = opened.ok() ? Status::Ok() : opened.status();
    return opened.ok() ? std::move(opened.value()) : nullptr;
  }

  TempDir dir_;
  StoreOptions options_;
  std::unique_ptr<Store> store_;
  Db items_, count_;
};

TEST_F(StoreCopyTest, CopyWhileAWriterCommitsIsOneConsistentSnapshot) {
  for (int n = 0; n < 2000; ++n) ASSERT_TRUE(WriteItem(n).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> written{2000};
  std::thread writer([&] {
    for (int n = 2000; !stop.load(); ++n) {
      if (!WriteItem(n).ok()) return;
      written = n + 1;
    }
  });
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (written.load() < 2100 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
  const std::string copy = dir_.path() + "/copy";
  fs::create_directory(copy);
  const int before = written.load();
  Status copied = store_->CopyTo(copy);  // the writer keeps committing meanwhile
  stop = true;
  writer.join();
  ASSERT_TRUE(copied.ok()) << copied.ToString();
  ASSERT_GE(before, 2100) << "the writer never got going";

  std::unique_ptr<Store> snapshot = OpenReadOnly(copy);
  ASSERT_NE(snapshot, nullptr);
  Result<ReadTxn> txn = snapshot->BeginRead();
  ASSERT_TRUE(txn.ok());
  Result<std::optional<std::string_view>> count = txn->Get(*snapshot->Database("count"), "n");
  ASSERT_TRUE(count.ok() && count->has_value());
  int items = 0;
  ASSERT_TRUE(txn->ForEach(*snapshot->Database("items"), "", [&](std::string_view, std::string_view v) {
                   items += v.size() == 300 ? 1 : 0;
                   return true;
                 }).ok());
  EXPECT_EQ(std::to_string(items), std::string(**count));
  EXPECT_GE(items, before);
  EXPECT_LE(items, written.load());
}

TEST_F(StoreCopyTest, CopyIsCompactedAndRefusesAnExistingFile) {
  for (int n = 0; n < 3000; ++n) ASSERT_TRUE(WriteItem(n).ok());
  ASSERT_TRUE(store_->Write(
                        [&](WriteTxn& txn) -> Status {
                          for (int n = 0; n < 2900; ++n) {
                            char key[16];
                            std::snprintf(key, sizeof key, "item%08d", n);
                            if (Result<bool> r = txn.Delete(items_, key); !r.ok()) return r.status();
                          }
                          return Status::Ok();
                        },
                        Durability::kSynced)
                  .ok());
  const std::string copy = dir_.path() + "/copy";
  fs::create_directory(copy);
  ASSERT_TRUE(store_->CopyTo(copy).ok());
  EXPECT_LT(fs::file_size(copy + "/data.mdb") * 4, fs::file_size(options_.path + "/data.mdb"))
      << "the free pages of 2,900 deleted items were copied";
  EXPECT_FALSE(store_->CopyTo(copy).ok()) << "a copy overwrote an existing data.mdb";
}

TEST_F(StoreCopyTest, ReadOnlyOpenWritesNothingAndLeavesOutMissingDatabases) {
  ASSERT_TRUE(WriteItem(0).ok());
  const std::string copy = dir_.path() + "/copy";
  fs::create_directory(copy);
  ASSERT_TRUE(store_->CopyTo(copy).ok());
  const auto size = fs::file_size(copy + "/data.mdb");
  {
    StoreOptions ro;
    ro.path = copy;
    ro.read_only = true;
    ro.databases = {"items", "no_such_db"};
    Result<std::unique_ptr<Store>> opened = Store::Open(ro);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_TRUE((*opened)->Database("items").ok());
    EXPECT_EQ((*opened)->Database("no_such_db").status().error(), "store_unknown_db");
    Status write = (*opened)->Put(*(*opened)->Database("items"), "k", "v", Durability::kSynced);
    EXPECT_EQ(write.error(), "store_read_only");
  }
  EXPECT_FALSE(fs::exists(copy + "/lock.mdb"));
  EXPECT_EQ(fs::file_size(copy + "/data.mdb"), size);
  EXPECT_EQ(std::distance(fs::directory_iterator(copy), fs::directory_iterator()), 1);
}

TEST_F(StoreCopyTest, ReadOnlyOpenRefusesATruncatedFileBeforeReadingItsPages) {
  for (int n = 0; n < 500; ++n) ASSERT_TRUE(WriteItem(n).ok());
  const std::string copy = dir_.path() + "/copy";
  fs::create_directory(copy);
  ASSERT_TRUE(store_->CopyTo(copy).ok());
  fs::resize_file(copy + "/data.mdb", fs::file_size(copy + "/data.mdb") / 2);
  Status error;
  EXPECT_EQ(OpenReadOnly(copy, &error), nullptr);
  EXPECT_EQ(error.error(), "store_truncated") << error.ToString();
}

TEST_F(StoreCopyTest, OpenedByNamesTheProcessHoldingTheEnvironmentUntilItDies) {
  const std::string env = dir_.path() + "/shared";
  EXPECT_EQ(*Store::OpenedBy(env), 0) << "no environment there at all";
  Pipe opened, never;
  Child holder([&] {
    StoreOptions o;
    o.path = env;
    o.databases = {"items"};
    Result<std::unique_ptr<Store>> s = Store::Open(o);
    opened.Signal(s.ok() ? '+' : '-');
    never.Wait(std::chrono::seconds(60));
    return 0;
  });
  ASSERT_EQ(opened.Wait(), '+');
  Result<pid_t> holder_pid = Store::OpenedBy(env);
  ASSERT_TRUE(holder_pid.ok()) << holder_pid.status().ToString();
  EXPECT_EQ(*holder_pid, holder.pid());
  holder.Kill();  // SIGKILL: no close, no cleanup; the kernel drops its lock
  EXPECT_EQ(*Store::OpenedBy(env), 0);
  EXPECT_TRUE(fs::exists(env + "/lock.mdb"));
}

}  // namespace
}  // namespace folio
