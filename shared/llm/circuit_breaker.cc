// circuit_breaker.cc: a three-state breaker kept in six int64 atomics.
//
// Why a mapped file: worker processes share nothing else cheaply, and a
// breaker per process would let each of N workers send `threshold` doomed
// calls before it learns what the others know. std::atomic<int64_t> is
// lock-free and therefore address-free, so the same word mapped MAP_SHARED
// into many processes is one atomic object for all of them.
//
// The state is derived, never stored as an enum:
//   open_until == 0              closed
//   now <  open_until            open
//   now >= open_until (!= 0)     half-open: the first caller to CAS the
//                                trial lease from an expired value gets
//                                the one trial call
// Opening writes the lease as the end of the cooldown before it writes
// open_until, so a caller that read the old open_until still finds the
// lease held and cannot start a second trial. A timestamp implausibly far
// in the future (the wall clock stepped back, or a stale file) counts as
// expired, so a clock jump can never wedge the breaker open.
//
// Decisions race benignly: two callers may both see "closed" while a third
// opens it; the breaker bounds load on a sick upstream, it is not a lock.
#include "circuit_breaker.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>
#include <type_traits>

namespace folio {

// The file layout (version 1). The header is plain data written once under
// flock; everything after it is atomics. Field order is the ABI: append only,
// and bump kVersion on any other change.
struct CircuitBreaker::Shared {
  uint64_t magic;
  uint32_t version;
  uint32_t size;
  std::atomic<int64_t> consecutive_failures;
  std::atomic<int64_t> open_until_ms;
  std::atomic<int64_t> last_change_ms;
  std::atomic<int64_t> total_opens;
  std::atomic<int64_t> trial_lease_until_ms;
  std::atomic<int64_t> key_rejected;  // 0 | 1
};

namespace {

using Shared = CircuitBreaker::Shared;

constexpr uint64_t kMagic = 0x4b52424f494c4f46ull;  // "FOLIOBRK" little-endian
constexpr uint32_t kVersion = 1;
constexpr size_t kFileSize = 4096;  // one page; room to append fields

static_assert(std::atomic<int64_t>::is_always_lock_free, "cross-process atomics must be lock-free");
static_assert(sizeof(std::atomic<int64_t>) == sizeof(int64_t), "atomic must have the plain layout");
static_assert(std::is_standard_layout_v<Shared>, "the mapped layout must be standard layout");
static_assert(sizeof(Shared) <= kFileSize);

// RAII owner of a file descriptor.
class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// RAII flock(LOCK_EX). Unlocks explicitly: the lock belongs to the open file
// description, which the mapping keeps alive after close(fd) — relying on
// close() would leave every later Open() of the file blocked forever.
class FileLock {
 public:
  explicit FileLock(int fd) : fd_(::flock(fd, LOCK_EX) == 0 ? fd : -1) {}
  ~FileLock() {
    if (fd_ >= 0) ::flock(fd_, LOCK_UN);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool locked() const { return fd_ >= 0; }

 private:
  int fd_;
};

Status FileError(const std::string& what, const std::string& path) {
  return Internal("breaker_file", what + " " + path + ": " + std::strerror(errno));
}

bool HeaderValid(const Shared* s) { return s->magic == kMagic && s->version == kVersion && s->size == kFileSize; }

// Zeroes the state ("closed", no history) and writes the header last, so a
// crash midway leaves a file the next Open() re-initialises.
void Initialise(void* at) {
  std::memset(at, 0, kFileSize);
  auto* s = new (at) Shared();  // value-initialised: every atomic is 0
  s->version = kVersion;
  s->size = static_cast<uint32_t>(kFileSize);
  std::atomic_thread_fence(std::memory_order_release);
  s->magic = kMagic;
}

// True when `t` is later than `now` by at most `horizon` ms. Further out
// means the wall clock went backwards (or the file is stale): treat as past.
bool InFuture(int64_t t, int64_t now, int64_t horizon) { return t > now && t - now <= horizon; }

}  // namespace

struct CircuitBreaker::Mapping {
  void* addr = nullptr;         // mmap'ed file, or nullptr
  std::unique_ptr<Shared> heap;  // in-memory mode
  Mapping() = default;
  ~Mapping() {
    if (addr != nullptr) ::munmap(addr, kFileSize);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  Shared* shared() const { return addr != nullptr ? static_cast<Shared*>(addr) : heap.get(); }
};

const char* BreakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed: return "closed";
    case BreakerState::kOpen: return "open";
    case BreakerState::kHalfOpen: return "half_open";
  }
  return "closed";
}

CircuitBreaker::CircuitBreaker(std::unique_ptr<Mapping> mapping, CircuitBreakerOptions options, std::string path)
    : mapping_(std::move(mapping)), shared_(mapping_->shared()), options_(options), path_(std::move(path)) {}

CircuitBreaker::~CircuitBreaker() = default;

Result<std::unique_ptr<CircuitBreaker>> CircuitBreaker::Open(const std::string& path, CircuitBreakerOptions options) {
  // 0600: only folio's own processes map it (a file an older folio made
  // readable to others is tightened too).
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (fd.get() < 0) return FileError("cannot open", path);
  (void)::fchmod(fd.get(), 0600);
  // Another process's Open() waits here rather than see a half-initialised
  // header. Released (before `fd` closes) when this function returns.
  FileLock lock(fd.get());
  if (!lock.locked()) return FileError("cannot lock", path);
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) return FileError("cannot stat", path);
  if (!S_ISREG(st.st_mode)) {
    return Internal("breaker_file", path + " is not a regular file");
  }
  // Never shrink below kFileSize: another process may have it mapped, and
  // touching a page past EOF is SIGBUS. Growing zero-fills; a wrong size
  // then fails the header check below and is re-initialised.
  if (st.st_size != static_cast<off_t>(kFileSize) && ::ftruncate(fd.get(), kFileSize) != 0) {
    return FileError("cannot size", path);
  }
  void* addr = ::mmap(nullptr, kFileSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (addr == MAP_FAILED) return FileError("cannot map", path);
  auto mapping = std::make_unique<Mapping>();
  mapping->addr = addr;
  if (!HeaderValid(static_cast<Shared*>(addr))) Initialise(addr);
  return std::unique_ptr<CircuitBreaker>(new CircuitBreaker(std::move(mapping), options, path));
}

std::unique_ptr<CircuitBreaker> CircuitBreaker::InMemory(CircuitBreakerOptions options) {
  auto mapping = std::make_unique<Mapping>();
  mapping->heap = std::make_unique<Shared>();
  mapping->heap->magic = kMagic;
  mapping->heap->version = kVersion;
  mapping->heap->size = static_cast<uint32_t>(kFileSize);
  return std::unique_ptr<CircuitBreaker>(new CircuitBreaker(std::move(mapping), options, ""));
}

namespace {

int64_t CooldownMs(const CircuitBreakerOptions& o) { return std::max<int64_t>(0, o.cooldown.count()); }
// A lease set at opening runs to the end of the cooldown; one set by a
// trial runs trial_lease. Either is plausible up to the larger of the two.
int64_t LeaseHorizonMs(const CircuitBreakerOptions& o) {
  return std::max<int64_t>(CooldownMs(o), std::max<int64_t>(1, o.trial_lease.count()));
}

}  // namespace

bool CircuitBreaker::Allow(int64_t now_ms) {
  const int64_t until = shared_->open_until_ms.load(std::memory_order_acquire);
  if (until == 0) return true;
  if (InFuture(until, now_ms, CooldownMs(options_))) return false;
  // Half-open: take the trial lease, unless a live one is held.
  int64_t lease = shared_->trial_lease_until_ms.load(std::memory_order_acquire);
  if (InFuture(lease, now_ms, LeaseHorizonMs(options_))) return false;
  const int64_t mine = now_ms + std::max<int64_t>(1, options_.trial_lease.count());
  return shared_->trial_lease_until_ms.compare_exchange_strong(lease, mine, std::memory_order_acq_rel);
}

void CircuitBreaker::RecordSuccess(int64_t now_ms) {
  // Loads first: a healthy steady state then writes nothing to the shared line.
  if (shared_->consecutive_failures.load(std::memory_order_relaxed) != 0) {
    shared_->consecutive_failures.store(0, std::memory_order_release);
  }
  if (shared_->key_rejected.load(std::memory_order_relaxed) != 0) {
    shared_->key_rejected.store(0, std::memory_order_release);
  }
  int64_t until = shared_->open_until_ms.load(std::memory_order_acquire);
  if (until != 0 && shared_->open_until_ms.compare_exchange_strong(until, 0, std::memory_order_acq_rel)) {
    shared_->trial_lease_until_ms.store(0, std::memory_order_release);
    shared_->last_change_ms.store(now_ms, std::memory_order_release);
  }
}

void CircuitBreaker::RecordFailure(int64_t now_ms) {
  const int64_t failures = shared_->consecutive_failures.fetch_add(1, std::memory_order_acq_rel) + 1;
  int64_t until = shared_->open_until_ms.load(std::memory_order_acquire);
  if (until == 0) {
    if (failures < std::max(1, options_.failure_threshold)) return;
  } else if (InFuture(until, now_ms, CooldownMs(options_))) {
    return;  // already open: a straggler's failure changes nothing
  }
  // Closed at the threshold, or half-open and a call failed: (re)open.
  const int64_t reopen_at = std::max<int64_t>(1, now_ms + CooldownMs(options_));
  shared_->trial_lease_until_ms.store(reopen_at, std::memory_order_release);  // before open_until: see top
  if (shared_->open_until_ms.compare_exchange_strong(until, reopen_at, std::memory_order_acq_rel)) {
    shared_->total_opens.fetch_add(1, std::memory_order_relaxed);
    shared_->last_change_ms.store(now_ms, std::memory_order_release);
  }
}

void CircuitBreaker::SetKeyRejected(bool rejected) {
  shared_->key_rejected.store(rejected ? 1 : 0, std::memory_order_release);
}

bool CircuitBreaker::key_rejected() const { return shared_->key_rejected.load(std::memory_order_acquire) != 0; }

BreakerState CircuitBreaker::State(int64_t now_ms) const {
  const int64_t until = shared_->open_until_ms.load(std::memory_order_acquire);
  if (until == 0) return BreakerState::kClosed;
  return InFuture(until, now_ms, CooldownMs(options_)) ? BreakerState::kOpen : BreakerState::kHalfOpen;
}

BreakerSnapshot CircuitBreaker::Snapshot(int64_t now_ms) const {
  BreakerSnapshot s;
  s.state = State(now_ms);
  s.consecutive_failures = shared_->consecutive_failures.load(std::memory_order_acquire);
  s.open_until_ms = shared_->open_until_ms.load(std::memory_order_acquire);
  s.last_change_ms = shared_->last_change_ms.load(std::memory_order_acquire);
  s.total_opens = shared_->total_opens.load(std::memory_order_acquire);
  s.trial_in_flight = s.state == BreakerState::kHalfOpen &&
                      InFuture(shared_->trial_lease_until_ms.load(std::memory_order_acquire), now_ms,
                               LeaseHorizonMs(options_));
  s.key_rejected = key_rejected();
  return s;
}

}  // namespace folio
