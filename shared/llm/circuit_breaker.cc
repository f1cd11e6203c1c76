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

#include <algorithm>
#include <atomic>
#include <new>
#include <type_traits>

namespace folio {

// The file layout (version 1). The header is plain data written once under
// flock (shm_file.h); everything after it is atomics, all 0 when closed.
// Field order is the ABI: append only, and bump kVersion on any other change.
struct CircuitBreaker::Shared {
  SharedFileHeader header;
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

// Losing breaker state is always safe (it starts closed), and every version
// maps the one page: a longer file is cut back to it.
constexpr SharedFileFormat kFormat{kMagic, kVersion, kFileSize, FileSize::kExact,
                                   [](void* at) { new (at) Shared(); }};

// True when `t` is later than `now` by at most `horizon` ms. Further out
// means the wall clock went backwards (or the file is stale): treat as past.
bool InFuture(int64_t t, int64_t now, int64_t horizon) { return t > now && t - now <= horizon; }

}  // namespace

const char* BreakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed: return "closed";
    case BreakerState::kOpen: return "open";
    case BreakerState::kHalfOpen: return "half_open";
  }
  return "closed";
}

CircuitBreaker::CircuitBreaker(SharedMapping mapping, CircuitBreakerOptions options)
    : mapping_(std::move(mapping)), shared_(static_cast<Shared*>(mapping_.data())), options_(options) {}

CircuitBreaker::~CircuitBreaker() = default;

Result<std::unique_ptr<CircuitBreaker>> CircuitBreaker::Open(const std::string& path, CircuitBreakerOptions options) {
  // Another process's Open() waits for the lock rather than see a
  // half-initialised file.
  Result<LockedFile> file = LockedFile::Open(path, "breaker_file");
  if (!file.ok()) return file.status();
  Result<SharedMapping> mapping = file->MapFormatted(kFormat);
  if (!mapping.ok()) return mapping.status();
  return std::unique_ptr<CircuitBreaker>(new CircuitBreaker(std::move(*mapping), options));
}

std::unique_ptr<CircuitBreaker> CircuitBreaker::InMemory(CircuitBreakerOptions options) {
  return std::unique_ptr<CircuitBreaker>(new CircuitBreaker(SharedMapping::Private(kFormat), options));
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
