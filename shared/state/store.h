// store.h: the one LMDB environment of a process (owner of MDB_env), its named
// databases, and RAII read/write transactions. Open one Store per process
// *after* fork() and share it by pointer among that process's threads.
// Safe from any thread; a ReadTxn may move between threads but is used by one at
// a time. Values returned as string_view die with their transaction; Get() copies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "status.h"

// LMDB's handle types, so that <lmdb.h> stays inside store.cc.
struct MDB_env;
struct MDB_txn;

namespace folio {

class Store;

// What a successful write promises. See "Durability" at the top of store.cc.
//  - kSynced: on disk when Write() returns: survives a killed process, a kernel
//    crash and a power loss.
//  - kRelaxed: in the OS page cache when Write() returns: survives a killed
//    process (kill -9, OOM), not a kernel crash or power loss.
// Under CommitSync::kEveryCommit both behave as kSynced.
enum class Durability { kSynced, kRelaxed };

// How the environment commits; a per-environment LMDB setting, so every process
// opening the same path must pass the same value.
enum class CommitSync {
  // LMDB syncs data and meta page on every commit (≈ 0.4 ms). The default.
  kEveryCommit,
  // MDB_NOSYNC: commits go to the page cache (≈ 20 µs); kSynced writes call
  // mdb_env_sync() after the commit. A power loss can leave this environment
  // unreadable as a whole (store.cc explains why): use it for rebuildable data.
  kOnRequest,
};

struct StoreOptions {
  std::string path;                     // directory; created (mode 0700) if missing
  size_t map_size_mb = 1024;            // upper bound of the data file; MDB_MAP_FULL beyond it.
                                        // Every process must use the same value.
  unsigned max_dbs = 16;                // named databases the environment may ever hold
  unsigned max_readers = 512;           // reader slots: one per concurrently open ReadTxn,
                                        // summed over all threads of all processes
  std::vector<std::string> databases;   // named databases to create/open once, at Open()
  CommitSync commit_sync = CommitSync::kEveryCommit;
  // Share of the map (at least 64 pages) kept free for deletes: a B-tree delete
  // is copy-on-write and needs free pages too, so a map filled to its last page
  // could not even be emptied. Once free space falls below this, Put refuses
  // with "store_full" while Delete keeps working. A delete transaction copies
  // about one page per leaf it touches: on a full store, keep its batches well
  // below the reserve (tens of records on a tiny map, hundreds on a 1 GB one).
  unsigned reserve_percent = 5;
  // Opens an existing environment to read it only, taking no lock
  // (MDB_RDONLY | MDB_NOLOCK): for a copy that no process writes, such as a
  // backup, which must not gain a lock.mdb by being looked at. Nothing is
  // created: a database of `databases` that the file lacks is left out
  // (Database() says NotFound); Write() fails. A data file shorter than its last page is refused
  // (Internal "store_truncated") before any page is read through the map.
  bool read_only = false;
  // Optional: told of every write transaction this process ran (committed or
  // not): µs spent waiting for LMDB's writer lock (other writers, any
  // process), and µs holding it (the transaction's own work and commit; for
  // CommitSync::kEveryCommit that includes the fsync). Runs on the writer's
  // thread after the lock is released: keep it cheap.
  std::function<void(uint64_t wait_us, uint64_t held_us)> on_write;
};

// A named database of one Store. Cheap to copy; valid for that Store's lifetime.
class Db {
 public:
  Db() = default;

 private:
  friend class Store;
  friend class ReadTxn;
  friend class WriteTxn;
  explicit Db(unsigned int dbi) : dbi_(dbi) {}
  unsigned int dbi_ = 0;  // MDB_dbi
};

struct DbStats {
  uint64_t entries = 0;
  uint64_t bytes = 0;  // pages used by the B-tree (branch + leaf + overflow) × page size
  unsigned depth = 0;
};

struct StoreInfo {
  uint64_t map_size_bytes = 0;
  uint64_t page_size = 0;
  uint64_t used_bytes = 0;    // pages in use up to the high-water mark × page size
  uint64_t last_txn_id = 0;
  unsigned max_readers = 0;
  unsigned reader_slots = 0;  // high-water mark of the reader table
  unsigned readers_in_use = 0;  // slots held by live or stale readers (see ClearStaleReaders)
};

// A read-only snapshot. Destroying it releases its reader slot: keep it short,
// since old snapshots pin pages that writers would otherwise reuse (the file grows
// towards map_size_mb). Must be destroyed before its Store.
class ReadTxn {
 public:
  ReadTxn(ReadTxn&& other) noexcept;
  ReadTxn& operator=(ReadTxn&& other) noexcept;
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;
  ~ReadTxn();

  // nullopt if absent. The view points into the map: valid until this txn ends.
  Result<std::optional<std::string_view>> Get(Db db, std::string_view key) const;

  // Calls fn(key, value) in key order, starting at the first key >= `from`
  // ("" = the first key), while fn returns true. Views are valid until the txn ends.
  // REQUIRES: fn does not modify `db` through this transaction.
  using Visitor = std::function<bool(std::string_view key, std::string_view value)>;
  Status ForEach(Db db, std::string_view from, const Visitor& fn) const;

 protected:
  explicit ReadTxn(MDB_txn* txn) : txn_(txn) {}
  MDB_txn* txn_ = nullptr;  // owned; aborted by the destructor unless committed

 private:
  friend class Store;
};

// The write transaction handed to Store::Write()'s callback. Lives only inside
// that call; the first failed Put/Delete makes the whole transaction fail.
class WriteTxn : public ReadTxn {
 public:
  WriteTxn(WriteTxn&&) = delete;
  WriteTxn& operator=(WriteTxn&&) = delete;

  // Inserts or replaces. ResourceExhausted("store_full") when the map is full
  // down to its reserve (StoreOptions::reserve_percent);
  // InvalidArgument("store_bad_size") for an empty key or one over 511 bytes.
  Status Put(Db db, std::string_view key, std::string_view value);
  // true if a record was removed, false if there was none.
  Result<bool> Delete(Db db, std::string_view key);
  // The first Put/Delete error, which will make the commit fail; OK so far.
  const Status& failed() const { return failed_; }

 private:
  friend class Store;
  WriteTxn(MDB_txn* txn, const Store* store) : ReadTxn(txn), store_(store) {}
  const Store* store_;
  std::optional<bool> has_room_;  // asked of the Store at the first Put
  Status failed_;  // first error of Put/Delete: the commit is refused
};

class Store {
 public:
  // Creates the directory if needed, opens the environment, clears stale readers
  // and creates/opens options.databases. Unavailable if the directory or files
  // cannot be opened, Internal for other LMDB errors.
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The handle of a database named in options.databases; NotFound otherwise.
  Result<Db> Database(std::string_view name) const;

  Result<ReadTxn> BeginRead() const;

  // Runs fn in one write transaction: commits if fn returns OK (then syncs if
  // `durability` asks and the environment does not), aborts otherwise and
  // returns fn's Status. Write transactions are serialized across all threads
  // and processes: keep fn short and free of I/O.
  // REQUIRES: the calling thread holds no other write transaction (nesting is
  // refused with Internal("store_nested_write") rather than deadlocking).
  using WriteFn = std::function<Status(WriteTxn&)>;
  Status Write(const WriteFn& fn, Durability durability);

  // One-operation conveniences, each its own transaction.
  Status Put(Db db, std::string_view key, std::string_view value, Durability durability);
  Result<std::optional<std::string>> Get(Db db, std::string_view key) const;  // a copy
  Result<bool> Delete(Db db, std::string_view key, Durability durability);    // true if removed

  Result<DbStats> Stat(Db db) const;
  Result<StoreInfo> EnvInfo() const;

  // Frees reader slots of processes that died holding a read transaction, so
  // their snapshots stop pinning pages. Returns how many slots were freed.
  // Cheap (one fcntl probe per distinct pid): call it periodically and after a
  // worker dies.
  Result<int> ClearStaleReaders();

  // Forces every commit so far (from any process) to disk.
  Status Sync();

  // Writes a consistent snapshot of the environment to `dir`/data.mdb,
  // compacted (free pages left out, pages renumbered), from one read
  // transaction: writers are never blocked, only the pages they free while
  // the copy runs wait for it before they are reused. The copy is an
  // environment of its own (open it with read_only). Not synced: the caller
  // fsyncs the file and `dir`. REQUIRES: `dir` exists and holds no data.mdb.
  Status CopyTo(const std::string& dir) const;

  // The pid of a process that has the environment in `dir` open, 0 when
  // none has (or `dir` holds no environment). Every process with an LMDB
  // environment open holds a shared fcntl lock on its lock.mdb until it
  // closes it or dies, whatever killed it; this asks the kernel for a
  // conflicting lock (F_GETLK) without taking one. Creates nothing.
  // REQUIRES: this process does not have that environment open: closing any
  // descriptor of a file drops every fcntl lock the process holds on it,
  // LMDB's included (and a process's own locks never conflict anyway).
  static Result<pid_t> OpenedBy(const std::string& dir);

  // Whether free pages (never used + on LMDB's free list) exceed the reserve
  // (StoreOptions::reserve_percent): false means Put refuses "store_full".
  Result<bool> HasRoom() const { return HasFreePages(reserve_pages_); }
  // Whether at least `pages` pages are free. One mdb_env_info while the map
  // has that many never-used pages; near its end, a walk of the free list.
  Result<bool> HasFreePages(uint64_t pages) const;
  // The reserve, in pages (at least 64).
  uint64_t reserve_pages() const { return reserve_pages_; }

  const std::string& path() const { return path_; }
  CommitSync commit_sync() const { return commit_sync_; }

 private:
  friend class WriteTxn;
  Store() = default;
  Status CheckProcess() const;

  MDB_env* env_ = nullptr;  // owned
  pid_t owner_pid_ = 0;     // the process that opened env_; only it may use or close it
  std::string path_;
  CommitSync commit_sync_ = CommitSync::kEveryCommit;
  std::function<void(uint64_t, uint64_t)> on_write_;
  uint64_t map_pages_ = 0;
  uint64_t reserve_pages_ = 0;
  bool read_only_ = false;
  std::map<std::string, unsigned int, std::less<>> dbs_;  // name → MDB_dbi, fixed after Open
};

}  // namespace folio
