// store.cc: the only file of folio that includes <lmdb.h>; it turns LMDB's
// return codes into Status.
//
// Durability, or what a committed write promises.
// LMDB is copy-on-write: a commit writes new pages, then one of two meta pages
// that names the new root. It never overwrites pages the last committed snapshot
// uses, so there is no log to replay and nothing to repair after a crash.
//
//  - A killed process (kill -9, OOM killer, abort) loses nothing it committed,
//    in either CommitSync mode: mdb_txn_commit() has written the pages into the
//    kernel's page cache (pwrite) before returning, and the kernel writes them
//    back whether or not the process lives. A write transaction the process had
//    not committed vanishes; LMDB's writer lock is a robust mutex, so the next
//    writer takes it over; the dead process's reader slots are freed by
//    ClearStaleReaders().
//  - A kernel crash or power loss keeps what reached the disk:
//      kEveryCommit: every committed transaction (LMDB fdatasyncs the pages,
//        then writes the meta page synchronously).
//      kOnRequest (MDB_NOSYNC): a Durability::kSynced write has been flushed by
//        mdb_env_sync() before Write() returns; relaxed commits may be lost. Worse:
//        the kernel writes dirty pages back in any order and LMDB pages carry no
//        checksum, so a meta page that reached the disk before the pages it points
//        at makes the environment unreadable, including data that was synced
//        earlier (lmdb.h on MDB_NOSYNC: "a system crash can corrupt the database"
//        unless the filesystem preserves write order, which ext4 does not promise).
//    So data that must survive a power loss lives in a kEveryCommit environment,
//    and a kOnRequest environment holds data that can be rebuilt (a cache): after
//    an unclean shutdown of the machine it should be deleted rather than trusted.
//
// Processes. LMDB handles must not cross fork(): the environment keeps the opening
// pid (for reader slots and file locks). Every entry point checks getpid() and
// the destructor of a Store inherited by a child deliberately leaks instead of
// closing the parent's environment.
#include "store.h"

#include <fcntl.h>
#include <lmdb.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "log.h"

namespace folio {
namespace {

// Set while this thread is inside Store::Write: LMDB's writer lock is not
// reentrant, and a nested Write would wait for itself forever.
thread_local bool tl_in_write = false;

Status FromMdb(int rc, std::string_view what) {
  std::string detail = std::string(what) + ": " + mdb_strerror(rc);
  switch (rc) {
    case MDB_MAP_FULL:
      return ResourceExhausted(Reason::kStoreFull, "the store is full (map_size_mb reached): " + detail);
    case MDB_READERS_FULL:
      return Unavailable("store_readers_full", "all reader slots are in use (max_readers): " + detail);
    case MDB_MAP_RESIZED:
      return Unavailable("store_map_resized", "another process grew the map; restart this one: " + detail);
    case MDB_BAD_VALSIZE:
      return InvalidArgument("store_bad_size", "key empty or over 511 bytes: " + detail);
    case ENOENT:
    case EACCES:
    case EAGAIN:
    case EROFS:
    case ENOSPC:
      return Unavailable("store_unavailable", detail);
    default:
      return Internal("store_error", detail);
  }
}

MDB_val ToVal(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view FromVal(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

// RAII owner of an MDB_cursor; LMDB requires write-txn cursors closed before commit.
class Cursor {
 public:
  Cursor() = default;
  ~Cursor() {
    if (cursor_ != nullptr) mdb_cursor_close(cursor_);
  }
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  MDB_cursor** out() { return &cursor_; }
  MDB_cursor* get() const { return cursor_; }

 private:
  MDB_cursor* cursor_ = nullptr;
};

int CountReaderLine(const char* line, void* ctx) {
  // mdb_reader_list prints a header, then one line per occupied slot, or
  // "(no active readers)".
  if (line[0] != '(' && std::string_view(line).find("pid") == std::string_view::npos) {
    ++*static_cast<unsigned*>(ctx);
  }
  return 0;
}

}  // namespace

// ---- ReadTxn / WriteTxn ----------------------------------------------------

ReadTxn::ReadTxn(ReadTxn&& other) noexcept : txn_(std::exchange(other.txn_, nullptr)) {}

ReadTxn& ReadTxn::operator=(ReadTxn&& other) noexcept {
  if (this != &other) {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
    txn_ = std::exchange(other.txn_, nullptr);
  }
  return *this;
}

ReadTxn::~ReadTxn() {
  if (txn_ != nullptr) mdb_txn_abort(txn_);
}

Result<std::optional<std::string_view>> ReadTxn::Get(Db db, std::string_view key) const {
  if (key.empty()) return InvalidArgument("store_bad_size", "empty key");
  MDB_val k = ToVal(key);
  MDB_val v;
  int rc = mdb_get(txn_, db.dbi_, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string_view>();
  if (rc != 0) return FromMdb(rc, "mdb_get");
  return std::optional<std::string_view>(FromVal(v));
}

Status ReadTxn::ForEach(Db db, std::string_view from, const Visitor& fn) const {
  Cursor cursor;
  int rc = mdb_cursor_open(txn_, db.dbi_, cursor.out());
  if (rc != 0) return FromMdb(rc, "mdb_cursor_open");
  MDB_val k = ToVal(from);
  MDB_val v;
  rc = mdb_cursor_get(cursor.get(), &k, &v, from.empty() ? MDB_FIRST : MDB_SET_RANGE);
  while (rc == 0) {
    if (!fn(FromVal(k), FromVal(v))) return Status::Ok();
    rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT);
  }
  return rc == MDB_NOTFOUND ? Status::Ok() : FromMdb(rc, "mdb_cursor_get");
}

Status WriteTxn::Put(Db db, std::string_view key, std::string_view value) {
  if (!failed_.ok()) return failed_;
  if (key.empty()) return failed_ = InvalidArgument("store_bad_size", "empty key");
  if (!has_room_) {
    Result<bool> room = store_->HasRoom();
    if (!room.ok()) return failed_ = room.status();
    has_room_ = *room;
  }
  if (!*has_room_) {
    return failed_ = ResourceExhausted(Reason::kStoreFull, "the store is full down to its reserve; delete data first");
  }
  MDB_val k = ToVal(key);
  MDB_val v = ToVal(value);
  int rc = mdb_put(txn_, db.dbi_, &k, &v, 0);
  if (rc != 0) failed_ = FromMdb(rc, "mdb_put");
  return failed_;
}

Result<bool> WriteTxn::Delete(Db db, std::string_view key) {
  if (!failed_.ok()) return failed_;
  if (key.empty()) return false;  // LMDB cannot hold an empty key
  MDB_val k = ToVal(key);
  int rc = mdb_del(txn_, db.dbi_, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != 0) return failed_ = FromMdb(rc, "mdb_del");
  return true;
}

// ---- Store -----------------------------------------------------------------

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  if (options.path.empty()) return InvalidArgument("store_bad_options", "store path is empty");
  if (options.databases.size() > options.max_dbs) {
    return InvalidArgument("store_bad_options", "more databases than max_dbs");
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!options.read_only && fs::create_directories(options.path, ec)) {
    fs::permissions(options.path, fs::perms::owner_all, ec);
  }
  if (ec) return Unavailable("store_unavailable", "cannot create " + options.path + ": " + ec.message());

  std::unique_ptr<Store> store(new Store());
  store->path_ = options.path;
  store->commit_sync_ = options.commit_sync;
  store->on_write_ = options.on_write;
  store->owner_pid_ = getpid();
  store->read_only_ = options.read_only;
  int rc = mdb_env_create(&store->env_);
  if (rc != 0) return FromMdb(rc, "mdb_env_create");
  // A read-only open keeps the map size the file records.
  if ((!options.read_only && (rc = mdb_env_set_mapsize(store->env_, options.map_size_mb << 20)) != 0) ||
      (rc = mdb_env_set_maxdbs(store->env_, options.max_dbs)) != 0 ||
      (rc = mdb_env_set_maxreaders(store->env_, options.max_readers)) != 0) {
    return FromMdb(rc, "mdb_env_set");
  }
  // MDB_NOTLS: a read txn is not bound to its thread and a thread may hold
  // several; reader slots are then per transaction, not per thread.
  unsigned flags = MDB_NOTLS;
  if (options.commit_sync == CommitSync::kOnRequest) flags |= MDB_NOSYNC;
  if (options.read_only) flags |= MDB_RDONLY | MDB_NOLOCK;
  rc = mdb_env_open(store->env_, options.path.c_str(), flags, 0600);
  if (rc != 0) return FromMdb(rc, "mdb_env_open " + options.path);

  MDB_envinfo info;
  MDB_stat st;
  if ((rc = mdb_env_info(store->env_, &info)) != 0 || (rc = mdb_env_stat(store->env_, &st)) != 0) {
    return FromMdb(rc, "mdb_env_info");
  }
  if (options.read_only) {
    // mdb_env_open read the meta pages with pread(); every other page is
    // read through the map, where a page past the end of a truncated file
    // is a SIGBUS rather than an error.
    const uint64_t needed = uint64_t{st.ms_psize} * (info.me_last_pgno + 1);
    const uint64_t size = fs::file_size(options.path + "/data.mdb", ec);
    if (ec || size < needed) {
      return Internal("store_truncated", options.path + "/data.mdb holds " + std::to_string(size) +
                                             " bytes, its pages need " + std::to_string(needed));
    }
  } else {
    Result<int> dead = store->ClearStaleReaders();
    if (!dead.ok()) return dead.status();
    if (*dead > 0) LogWarn("store_stale_readers_cleared", {{"path", options.path}, {"count", *dead}});
  }

  // Named-database handles are per environment and opened once, here, before any
  // other thread can use the Store (mdb_dbi_open must not run concurrently).
  MDB_txn* txn = nullptr;
  if ((rc = mdb_txn_begin(store->env_, nullptr, options.read_only ? MDB_RDONLY : 0, &txn)) != 0) {
    return FromMdb(rc, "mdb_txn_begin");
  }
  for (const std::string& name : options.databases) {
    MDB_dbi dbi = 0;
    rc = mdb_dbi_open(txn, name.c_str(), options.read_only ? 0 : MDB_CREATE, &dbi);
    if (rc == MDB_NOTFOUND && options.read_only) continue;
    if (rc != 0) {
      mdb_txn_abort(txn);
      return FromMdb(rc, "mdb_dbi_open " + name);
    }
    store->dbs_.emplace(name, dbi);
  }
  if ((rc = mdb_txn_commit(txn)) != 0) return FromMdb(rc, "mdb_txn_commit");  // keeps the handles, read-only too
  if (!options.read_only) {
    if (Status s = store->Sync(); !s.ok()) return s;
  }
  store->map_pages_ = info.me_mapsize / st.ms_psize;  // an existing larger map wins over options
  store->reserve_pages_ = std::max<uint64_t>(64, store->map_pages_ * options.reserve_percent / 100);
  return store;
}

Store::~Store() {
  // A child that inherited this object through fork() must leave the parent's
  // environment alone (see the top of this file).
  if (env_ != nullptr && getpid() == owner_pid_) mdb_env_close(env_);
}

Status Store::CheckProcess() const {
  if (getpid() != owner_pid_) {
    return Internal("store_used_after_fork", "an LMDB environment was used in a forked child; open a Store there");
  }
  return Status::Ok();
}

Result<bool> Store::HasFreePages(uint64_t pages) const {
  if (Status s = CheckProcess(); !s.ok()) return s;
  MDB_envinfo info;
  int rc = mdb_env_info(env_, &info);
  if (rc != 0) return FromMdb(rc, "mdb_env_info");
  const uint64_t untouched = map_pages_ > info.me_last_pgno + 1 ? map_pages_ - (info.me_last_pgno + 1) : 0;
  if (untouched >= pages) return true;
  // Near the end of the map (rare): add up LMDB's free list, as mdb_stat -f does.
  // Each record of the free database (dbi 0) is an ID list whose first word is
  // its length. A read-only cursor on it is allowed, even while this thread
  // holds the write transaction (MDB_NOTLS).
  Result<ReadTxn> txn = BeginRead();
  if (!txn.ok()) return txn.status();
  Cursor cursor;
  if ((rc = mdb_cursor_open(txn->txn_, 0, cursor.out())) != 0) return FromMdb(rc, "mdb_cursor_open(free)");
  uint64_t free_pages = 0;
  MDB_val k, v;
  for (rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
    size_t count = 0;
    if (v.mv_size >= sizeof(count)) std::memcpy(&count, v.mv_data, sizeof(count));
    free_pages += count;
  }
  if (rc != MDB_NOTFOUND) return FromMdb(rc, "mdb_cursor_get(free)");
  return untouched + free_pages >= pages;
}

Result<Db> Store::Database(std::string_view name) const {
  auto it = dbs_.find(name);
  if (it == dbs_.end()) return NotFound("store_unknown_db", "database not opened: " + std::string(name));
  return Db(it->second);
}

Result<ReadTxn> Store::BeginRead() const {
  if (Status s = CheckProcess(); !s.ok()) return s;
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
  if (rc != 0) return FromMdb(rc, "mdb_txn_begin(read)");
  return ReadTxn(txn);
}

Status Store::Write(const WriteFn& fn, Durability durability) {
  if (Status s = CheckProcess(); !s.ok()) return s;
  if (tl_in_write) return Internal("store_nested_write", "Store::Write called inside a write transaction");
  if (read_only_) return Internal("store_read_only", path_ + " was opened read-only");
  using Clock = std::chrono::steady_clock;
  const Clock::time_point asked = Clock::now();
  MDB_txn* raw = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &raw);
  if (rc != 0) return FromMdb(rc, "mdb_txn_begin(write)");
  const Clock::time_point locked = Clock::now();

  struct InWrite {
    InWrite() { tl_in_write = true; }
    ~InWrite() { tl_in_write = false; }
  };
  Status status;
  {
    InWrite in_write;
    WriteTxn txn(raw, this);  // aborts on scope exit unless committed below
    status = fn(txn);
    if (status.ok()) status = txn.failed_;
    if (status.ok()) {
      rc = mdb_txn_commit(std::exchange(txn.txn_, nullptr));  // frees the txn even on failure
      if (rc != 0) status = FromMdb(rc, "mdb_txn_commit");
    }
  }  // aborted here unless committed: the writer lock is free
  if (on_write_) {
    auto us = [](Clock::duration d) { return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count()); };
    on_write_(us(locked - asked), us(Clock::now() - locked));
  }
  if (status.ok() && durability == Durability::kSynced && commit_sync_ == CommitSync::kOnRequest) {
    status = Sync();
  }
  return status;
}

Status Store::Put(Db db, std::string_view key, std::string_view value, Durability durability) {
  return Write([&](WriteTxn& txn) { return txn.Put(db, key, value); }, durability);
}

Result<std::optional<std::string>> Store::Get(Db db, std::string_view key) const {
  Result<ReadTxn> txn = BeginRead();
  if (!txn.ok()) return txn.status();
  Result<std::optional<std::string_view>> found = txn->Get(db, key);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return std::optional<std::string>();
  return std::optional<std::string>(std::string(**found));  // copy before the txn ends
}

Result<bool> Store::Delete(Db db, std::string_view key, Durability durability) {
  bool removed = false;
  Status s = Write(
      [&](WriteTxn& txn) {
        Result<bool> r = txn.Delete(db, key);
        if (!r.ok()) return r.status();
        removed = *r;
        return Status::Ok();
      },
      durability);
  if (!s.ok()) return s;
  return removed;
}

Result<DbStats> Store::Stat(Db db) const {
  Result<ReadTxn> txn = BeginRead();
  if (!txn.ok()) return txn.status();
  MDB_stat st;
  int rc = mdb_stat(txn->txn_, db.dbi_, &st);
  if (rc != 0) return FromMdb(rc, "mdb_stat");
  DbStats out;
  out.entries = st.ms_entries;
  out.bytes = uint64_t{st.ms_psize} * (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages);
  out.depth = st.ms_depth;
  return out;
}

Result<StoreInfo> Store::EnvInfo() const {
  if (Status s = CheckProcess(); !s.ok()) return s;
  MDB_envinfo info;
  MDB_stat st;
  int rc = mdb_env_info(env_, &info);
  if (rc == 0) rc = mdb_env_stat(env_, &st);
  if (rc != 0) return FromMdb(rc, "mdb_env_info");
  StoreInfo out;
  out.map_size_bytes = info.me_mapsize;
  out.page_size = st.ms_psize;
  out.used_bytes = uint64_t{st.ms_psize} * (info.me_last_pgno + 1);
  out.last_txn_id = info.me_last_txnid;
  out.max_readers = info.me_maxreaders;
  out.reader_slots = info.me_numreaders;
  mdb_reader_list(env_, CountReaderLine, &out.readers_in_use);
  return out;
}

Result<int> Store::ClearStaleReaders() {
  if (Status s = CheckProcess(); !s.ok()) return s;
  int dead = 0;
  int rc = mdb_reader_check(env_, &dead);
  if (rc != 0) return FromMdb(rc, "mdb_reader_check");
  return dead;
}

Status Store::Sync() {
  if (Status s = CheckProcess(); !s.ok()) return s;
  int rc = mdb_env_sync(env_, 1);
  return rc == 0 ? Status::Ok() : FromMdb(rc, "mdb_env_sync");
}

Status Store::CopyTo(const std::string& dir) const {
  if (Status s = CheckProcess(); !s.ok()) return s;
  // MDB_CP_COMPACT walks the B-trees inside one read transaction and never
  // takes the writer lock (the plain copy takes it while it copies the
  // meta pages). LMDB writes the file with O_DIRECT where the filesystem
  // allows it, so a large copy does not push the live pages out of the
  // page cache.
  int rc = mdb_env_copy2(env_, dir.c_str(), MDB_CP_COMPACT);
  return rc == 0 ? Status::Ok() : FromMdb(rc, "mdb_env_copy2 " + dir);
}

Result<pid_t> Store::OpenedBy(const std::string& dir) {
  // LMDB's own protocol (mdb_env_setup_locks): every process with the
  // environment open holds F_RDLCK on byte 0 of lock.mdb; the first opener
  // asks for F_WRLCK there to learn it is alone. Asking whether F_WRLCK
  // would be granted tells the same without taking anything.
  const int fd = ::open((dir + "/lock.mdb").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return pid_t{0};
    return Unavailable("store_unavailable", dir + "/lock.mdb: " + std::strerror(errno));
  }
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  probe.l_start = 0;
  probe.l_len = 1;
  const int rc = ::fcntl(fd, F_GETLK, &probe);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Unavailable("store_unavailable", dir + "/lock.mdb: " + std::strerror(err));
  return probe.l_type == F_UNLCK ? pid_t{0} : probe.l_pid;
}

}  // namespace folio
