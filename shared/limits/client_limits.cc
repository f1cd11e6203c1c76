// client_limits.cc: limits in a mapped file of lock-free atomics.
//
// Why shared memory and not LMDB: the check runs on every request. An LMDB
// write transaction costs ~20 µs and is serialized across all processes, so
// it would cap the whole pool near 50k checks/s and make every request queue
// behind every other; a CAS on a mapped word costs ~0.1 µs and contends only
// with requests of the same client. Limit state is soft — losing it only
// admits more — so it needs no durability. std::atomic<uint64_t> is lock-free,
// hence address-free: one word mapped into N processes is one atomic for all.
//
// Layout: a header (counters, the day's token spend, the process table, the
// upstream slots), then an open-addressed table of client slots, 64 bytes each:
//   key         64-bit seeded hash of the client id; 0 = never used
//   general     rate word: window index (32 bits) | count (16) | previous count (16)
//   expensive   the same for AdmitExpensive
//   concurrent  16 nibbles: nibble i = tickets held by process row i
//   sessions    a rate word for AdmitNewSession
// A client lives in the first slot of its 16-slot probe window holding its
// hash; failing that it claims the first empty or stale one (no tickets, no
// counts in the current or previous window, so nothing is lost). Keys are
// replaced, never removed, so a lookup may stop at an empty slot. A window
// with no such slot fails open for the general budget and counts it (better
// than refusing a client because others are busy), but closed for the
// budgets that guard money and storage (expensive requests, new sessions):
// a flood of clients must not buy unlimited LLM calls by filling the table. Two threads claiming different slots for one new
// client at once split its counts for a window or two: harmless.
//
// Rate: fixed windows, the previous one weighted by the part of it still
// inside the sliding window: estimate = prev × (W − elapsed)/W + count. A
// request is admitted while estimate + 1 ≤ limit; denied requests are not
// counted. The estimate assumes the previous window's requests were spread
// evenly, so a burst at a window's start is remembered up to one window too
// long; Retry-After is exact for the estimate (RetryAfterMs).
//
// Why nothing stays held after kill -9 (the invariants):
//  1. A process's holdings are recorded in the same atomic word that counts
//     them: its nibble of a client's `concurrent` word, or an upstream slot
//     word holding its id. A single CAS takes or returns a holding, so there is
//     no moment at which a count and its record of ownership disagree.
//  2. Process ids are pid + start time (ProcessId, process.h), packed in one
//     word: a recycled pid is a different id. An owner whose /proc entry
//     cannot be read counts as alive: its holdings wait for the next
//     ReclaimDead rather than be freed while it may still use them.
//  3. A process row is freed only by whoever CASes it from the dead owner's id
//     to "reclaiming by me": that one clears the row's nibble in every client
//     slot, then zeroes the row. A new process can claim the row only once it
//     is zero, so clearing never touches a live process's nibbles; a
//     reclaimer that dies midway is itself dead, and the next takes over.
//  4. Upstream slot words hold the owner's id itself: ReclaimDead CASes a dead
//     owner's word to 0, which cannot hit a later owner (different id).
//  5. A file from an earlier boot (pid + start time may repeat) is
//     re-initialised at Open.
#include "client_limits.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <new>
#include <random>
#include <thread>
#include <vector>

#include "process.h"

namespace folio {
namespace {

constexpr uint64_t kMagic = 0x544d4c494f4c4f46ull;  // "FOLIOLMT" little-endian
constexpr uint32_t kVersion = 2;
constexpr int kMaxProcesses = 16;  // one nibble each in a 64-bit word
constexpr int kMaxUpstream = 256;
constexpr int kProbe = 16;
constexpr uint64_t kReclaimBit = uint64_t{1} << 63;
constexpr uint64_t kNibbles = 0x0F0F0F0F0F0F0F0Full;

// The day's token spend: day number since the epoch (UTC, 24 bits) | tokens (40 bits).
constexpr int kTokenBits = 40;
constexpr uint64_t kTokenMask = (uint64_t{1} << kTokenBits) - 1;
uint64_t DayOf(int64_t now_ms) { return static_cast<uint64_t>(now_ms / 86'400'000) & 0xFFFFFF; }

// This process as its owner words record it (process.h), and the liveness of
// such a word. Bit 63 (kReclaimBit) is ours: PackProcessId never sets it.
uint64_t SelfId() { return PackProcessId(SelfProcessId()); }
bool Alive(uint64_t id) { return IsAlive(UnpackProcessId(id & ~kReclaimBit)); }

std::string BootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id.substr(0, 47);
}

// ---- rate words -------------------------------------------------------------

struct RateWord {
  uint64_t window, count, prev;
};
RateWord Unpack(uint64_t w) { return {w >> 32, (w >> 16) & 0xFFFF, w & 0xFFFF}; }
uint64_t Pack(const RateWord& r) { return r.window << 32 | std::min<uint64_t>(r.count, 0xFFFF) << 16 | std::min<uint64_t>(r.prev, 0xFFFF); }

// The counts as of window `now_window`. A window further ahead than the next
// (the wall clock stepped back) counts as empty, so a clock step cannot lock
// a client out until the clock catches up.
RateWord Roll(uint64_t w, uint64_t now_window) {
  RateWord r = Unpack(w);
  if (r.window == now_window) return r;
  if (r.window + 1 == now_window) return {now_window, 0, r.count};
  return {now_window, 0, 0};
}

bool Stale(uint64_t w, uint64_t now_window) {
  uint64_t window = w >> 32;
  return window + 1 < now_window || window > now_window + 1;
}

// Milliseconds from `elapsed` into the window until prev×(W−t) + (count+1)×W
// ≤ limit×W holds, in this window or the next (where count becomes prev).
int64_t RetryAfterMs(int64_t count, int64_t prev, int64_t elapsed, int64_t w, int64_t limit) {
  const int64_t room = (limit - count - 1) * w;
  if (room >= 0 && prev > 0) {
    const int64_t t = std::max(elapsed, w - room / prev);
    if (t < w) return t - elapsed;
  }
  const int64_t t_next = count > 0 ? std::max<int64_t>(0, w - (limit - 1) * w / count) : 0;
  return (w - elapsed) + t_next;
}

int RetrySeconds(int64_t ms) { return static_cast<int>(std::max<int64_t>(1, (ms + 999) / 1000)); }

// Counts one request in `word` if the estimate allows; else sets *retry_ms.
bool TryCount(std::atomic<uint64_t>& word, int64_t now_ms, int64_t window_ms, int64_t limit, int64_t* retry_ms) {
  if (limit <= 0) return true;
  const uint64_t now_window = static_cast<uint64_t>(now_ms / window_ms);
  const int64_t elapsed = now_ms % window_ms;
  uint64_t old = word.load(std::memory_order_relaxed);
  for (;;) {
    RateWord r = Roll(old, now_window);
    const auto count = static_cast<int64_t>(r.count), prev = static_cast<int64_t>(r.prev);
    if (prev * (window_ms - elapsed) + (count + 1) * window_ms > limit * window_ms) {
      *retry_ms = RetryAfterMs(count, prev, elapsed, window_ms, limit);
      return false;
    }
    ++r.count;
    if (word.compare_exchange_weak(old, Pack(r), std::memory_order_acq_rel, std::memory_order_relaxed)) return true;
  }
}

// ---- concurrency nibbles ------------------------------------------------------

int NibbleSum(uint64_t w) {
  uint64_t bytes = (w & kNibbles) + ((w >> 4) & kNibbles);  // 8 sums ≤ 30
  return static_cast<int>((bytes * 0x0101010101010101ull) >> 56);
}

bool TryTakeNibble(std::atomic<uint64_t>& word, int row, int max_total) {
  const int shift = 4 * row;
  uint64_t old = word.load(std::memory_order_relaxed);
  for (;;) {
    if (NibbleSum(old) >= max_total || ((old >> shift) & 0xF) == 0xF) return false;
    if (word.compare_exchange_weak(old, old + (uint64_t{1} << shift), std::memory_order_acq_rel)) return true;
  }
}

// Returns one of row's holdings (all of them if `all`); never underflows.
void DropNibble(std::atomic<uint64_t>& word, int row, bool all) {
  const int shift = 4 * row;
  uint64_t old = word.load(std::memory_order_relaxed);
  for (;;) {
    const uint64_t mine = (old >> shift) & 0xF;
    if (mine == 0) return;
    const uint64_t next = old - ((all ? mine : 1) << shift);
    if (word.compare_exchange_weak(old, next, std::memory_order_acq_rel)) return;
  }
}

// ---- futex on the upstream release counter -----------------------------------

void FutexWait(std::atomic<uint32_t>* word, uint32_t expected, std::chrono::nanoseconds timeout) {
  timespec ts{static_cast<time_t>(timeout.count() / 1'000'000'000), static_cast<long>(timeout.count() % 1'000'000'000)};
  // Not FUTEX_PRIVATE: waiters and wakers are different processes.
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT, expected, &ts, nullptr, 0);
}

void FutexWake(std::atomic<uint32_t>* word, int count) {
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE, count, nullptr, nullptr, 0);
}

}  // namespace

struct ClientLimits::ClientSlot {
  std::atomic<uint64_t> key;
  std::atomic<uint64_t> general;
  std::atomic<uint64_t> expensive;
  std::atomic<uint64_t> concurrent;
  std::atomic<uint64_t> sessions;
  std::atomic<uint64_t> spare[3];  // one cache line a slot
};
static_assert(std::atomic<uint64_t>::is_always_lock_free && std::atomic<uint32_t>::is_always_lock_free);
static_assert(sizeof(ClientLimits::ClientSlot) == 64);

// The mapped layout (version 2). `Plain` is written once, under flock, at
// initialisation; the rest is atomics. Change anything: bump kVersion.
struct ClientLimits::Layout {
  struct Plain {
    uint64_t magic;
    uint32_t version;
    uint32_t table_slots;
    uint64_t file_size;
    uint64_t hash_seed;
    char boot_id[48];
  } plain;
  alignas(64) std::atomic<int64_t> upstream_peak;
  std::atomic<int64_t> shed;
  std::atomic<int64_t> denied_rate;
  std::atomic<int64_t> denied_expensive;
  std::atomic<int64_t> denied_concurrent;
  std::atomic<int64_t> fail_open;
  std::atomic<int64_t> fail_closed;
  std::atomic<int64_t> denied_sessions;
  alignas(64) std::atomic<uint64_t> day_tokens;  // see DayOf
  alignas(64) std::atomic<uint32_t> upstream_seq;  // futex word: bumped at each release
  std::atomic<int32_t> upstream_waiters;          // a hint: a killed waiter leaves it high (extra wakes only)
  alignas(64) std::atomic<uint64_t> processes[kMaxProcesses];  // process id | kReclaimBit, 0 = free
  alignas(64) std::atomic<uint64_t> upstream[kMaxUpstream];    // holder's process id, 0 = free

  static constexpr size_t kTableOffset = 4096;
  ClientSlot* slots() { return reinterpret_cast<ClientSlot*>(reinterpret_cast<char*>(this) + kTableOffset); }
  const ClientSlot* slots() const {
    return reinterpret_cast<const ClientSlot*>(reinterpret_cast<const char*>(this) + kTableOffset);
  }
};
static_assert(sizeof(ClientLimits::Layout) <= ClientLimits::Layout::kTableOffset);
static_assert(std::is_standard_layout_v<ClientLimits::Layout>);

namespace {

using Layout = ClientLimits::Layout;
using ClientSlot = ClientLimits::ClientSlot;

size_t FileSizeFor(uint32_t slots) { return Layout::kTableOffset + size_t{slots} * sizeof(ClientSlot); }

bool PlainValid(const Layout::Plain& p, const std::string& boot_id, off_t actual_size) {
  return p.magic == kMagic && p.version == kVersion && std::has_single_bit(p.table_slots) && p.table_slots >= 64 &&
         p.file_size == FileSizeFor(p.table_slots) && static_cast<off_t>(p.file_size) <= actual_size &&
         std::string(p.boot_id, strnlen(p.boot_id, sizeof p.boot_id)) == boot_id;
}

}  // namespace

const char* DenyReasonName(DenyReason reason) {
  switch (reason) {
    case DenyReason::kNone: return "none";
    case DenyReason::kRate: return "rate";
    case DenyReason::kConcurrent: return "concurrent";
  }
  return "none";
}

Result<std::unique_ptr<ClientLimits>> ClientLimits::Open(const std::string& path, LimitOptions options) {
  Result<LockedFile> file = LockedFile::Open(path, "limits_file");  // serialises initialisation
  if (!file.ok()) return file.status();
  const std::string boot_id = BootId();
  Layout::Plain plain{};
  const bool valid = file->ReadAt(&plain, sizeof plain, 0) && PlainValid(plain, boot_id, file->size());
  const uint32_t slots = valid ? plain.table_slots : std::bit_ceil(std::clamp<uint32_t>(options.table_slots, 64, 1u << 22));
  // Never shrinks the file: another process may have more of it mapped.
  Result<SharedMapping> mapping = file->Map(FileSizeFor(slots));
  if (!mapping.ok()) return mapping.status();
  if (!valid) {
    std::memset(mapping->data(), 0, mapping->size());
    auto* layout = new (mapping->data()) Layout();
    layout->plain.version = kVersion;
    layout->plain.table_slots = slots;
    layout->plain.file_size = mapping->size();
    layout->plain.hash_seed = (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
    std::memcpy(layout->plain.boot_id, boot_id.data(), boot_id.size());
    PublishMagic(&layout->plain.magic, kMagic);  // last: a crash midway leaves a file Open re-initialises
  }
  options.window_ms = std::max<int64_t>(1000, options.window_ms);
  options.max_concurrent_llm = std::clamp(options.max_concurrent_llm, 0, kMaxUpstream);
  auto limits = std::unique_ptr<ClientLimits>(new ClientLimits(std::move(*mapping), options));
  limits->ReclaimDead();  // rows and slots left by processes of an earlier run
  return limits;
}

ClientLimits::ClientLimits(SharedMapping mapping, LimitOptions options)
    : mapping_(std::move(mapping)), layout_(static_cast<Layout*>(mapping_.data())), options_(options) {}

ClientLimits::~ClientLimits() {
  const uint64_t self = SelfId();
  const int row = process_row_.load(std::memory_order_relaxed);
  uint64_t expected = self;
  if (row >= 0 && row_owner_.load(std::memory_order_relaxed) == self &&
      layout_->processes[row].compare_exchange_strong(expected, kReclaimBit | self)) {
    ReleaseProcessRow(row);
  }
}

uint64_t ClientLimits::HashId(std::string_view client_id) const {
  uint64_t h = 0xcbf29ce484222325ull ^ layout_->plain.hash_seed;  // FNV-1a, then splitmix64's finaliser
  for (unsigned char c : client_id) h = (h ^ c) * 0x100000001b3ull;
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h == 0 ? 1 : h;  // 0 marks an empty slot
}

int ClientLimits::ProcessIndex(uint64_t self) {
  if (row_owner_.load(std::memory_order_acquire) == self) return process_row_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(process_mu_);
  if (row_owner_.load(std::memory_order_relaxed) == self) return process_row_.load(std::memory_order_relaxed);
  for (int attempt = 0; attempt < 2; ++attempt) {
    for (int i = 0; i < kMaxProcesses; ++i) {
      uint64_t expected = 0;
      if (layout_->processes[i].compare_exchange_strong(expected, self, std::memory_order_acq_rel)) {
        process_row_.store(i, std::memory_order_relaxed);
        row_owner_.store(self, std::memory_order_release);
        return i;
      }
    }
    if (attempt == 0) ReclaimDead();
  }
  return -1;  // over kMaxProcesses live processes: concurrency fails open, counted
}

int64_t ClientLimits::FindSlot(uint64_t hash, int64_t now_ms) {
  ClientSlot* slots = layout_->slots();
  const uint64_t mask = layout_->plain.table_slots - 1;
  const uint64_t now_window = static_cast<uint64_t>(now_ms / options_.window_ms);
  for (int attempt = 0; attempt < 4; ++attempt) {
    int64_t candidate = -1;
    uint64_t candidate_key = 0;
    for (int i = 0; i < kProbe; ++i) {
      const uint64_t idx = (hash + i) & mask;
      ClientSlot& s = slots[idx];
      const uint64_t key = s.key.load(std::memory_order_acquire);
      if (key == hash) return static_cast<int64_t>(idx);
      const bool free = key == 0 || (s.concurrent.load(std::memory_order_relaxed) == 0 &&
                                     Stale(s.general.load(std::memory_order_relaxed), now_window) &&
                                     Stale(s.expensive.load(std::memory_order_relaxed), now_window) &&
                                     Stale(s.sessions.load(std::memory_order_relaxed), now_window));
      if (free && candidate < 0) {
        candidate = static_cast<int64_t>(idx);
        candidate_key = key;
      }
      if (key == 0) break;  // keys are never removed: the hash is not further on
    }
    if (candidate < 0) return -1;
    if (slots[candidate].key.compare_exchange_strong(candidate_key, hash, std::memory_order_acq_rel)) return candidate;
  }
  return -1;
}

Decision ClientLimits::Admit(std::string_view client_id, int64_t now_ms) {
  Decision d;
  const int64_t slot = FindSlot(HashId(client_id), now_ms);
  if (slot < 0) {
    layout_->fail_open.fetch_add(1, std::memory_order_relaxed);
    return d;
  }
  ClientSlot& s = layout_->slots()[slot];
  if (options_.client_max_concurrent > 0) {
    const uint64_t self = SelfId();
    const int row = ProcessIndex(self);
    if (row < 0) {
      layout_->fail_open.fetch_add(1, std::memory_order_relaxed);
    } else if (!TryTakeNibble(s.concurrent, row, options_.client_max_concurrent)) {
      layout_->denied_concurrent.fetch_add(1, std::memory_order_relaxed);
      return Decision{false, DenyReason::kConcurrent, 1, {}};
    } else {
      d.ticket = MakeTicket(this, static_cast<uint64_t>(slot) | uint64_t{static_cast<uint32_t>(row)} << 32, self);
    }
  }
  int64_t retry_ms = 0;
  if (!TryCount(s.general, now_ms, options_.window_ms, options_.client_rpm, &retry_ms)) {
    layout_->denied_rate.fetch_add(1, std::memory_order_relaxed);
    return Decision{false, DenyReason::kRate, RetrySeconds(retry_ms), {}};  // d.ticket releases
  }
  return d;
}

Decision ClientLimits::AdmitExpensive(std::string_view client_id, int64_t now_ms) {
  return AdmitRate(&ClientSlot::expensive, options_.client_expensive_rpm, layout_->denied_expensive, client_id, now_ms);
}

Decision ClientLimits::AdmitNewSession(std::string_view client_id, int64_t now_ms) {
  return AdmitRate(&ClientSlot::sessions, options_.client_sessions_per_min, layout_->denied_sessions, client_id,
                   now_ms);
}

Decision ClientLimits::AdmitRate(std::atomic<uint64_t> ClientSlot::*word, int limit, std::atomic<int64_t>& denied,
                                 std::string_view client_id, int64_t now_ms) {
  if (limit <= 0) return Decision{};
  const int64_t slot = FindSlot(HashId(client_id), now_ms);
  if (slot < 0) {  // fails closed: see the top of this file
    layout_->fail_closed.fetch_add(1, std::memory_order_relaxed);
    return Decision{false, DenyReason::kRate, 1, {}};
  }
  int64_t retry_ms = 0;
  if (!TryCount(layout_->slots()[slot].*word, now_ms, options_.window_ms, limit, &retry_ms)) {
    denied.fetch_add(1, std::memory_order_relaxed);
    return Decision{false, DenyReason::kRate, RetrySeconds(retry_ms), {}};
  }
  return Decision{};
}

bool ClientLimits::TokenBudgetSpent(int64_t now_ms) const {
  if (options_.daily_token_budget <= 0) return false;
  const uint64_t w = layout_->day_tokens.load(std::memory_order_relaxed);
  return (w >> kTokenBits) == DayOf(now_ms) && static_cast<int64_t>(w & kTokenMask) >= options_.daily_token_budget;
}

void ClientLimits::SpendTokens(int64_t tokens, int64_t now_ms) {
  if (tokens <= 0) return;
  const uint64_t day = DayOf(now_ms);
  uint64_t old = layout_->day_tokens.load(std::memory_order_relaxed);
  for (;;) {
    const uint64_t spent = (old >> kTokenBits) == day ? old & kTokenMask : 0;  // a new day starts at 0
    const uint64_t next = (day << kTokenBits) | std::min(kTokenMask, spent + static_cast<uint64_t>(tokens));
    if (layout_->day_tokens.compare_exchange_weak(old, next, std::memory_order_relaxed)) return;
  }
}

int64_t ClientLimits::TokensSpentToday(int64_t now_ms) const {
  const uint64_t w = layout_->day_tokens.load(std::memory_order_relaxed);
  return (w >> kTokenBits) == DayOf(now_ms) ? static_cast<int64_t>(w & kTokenMask) : 0;
}

Result<UpstreamSlot> ClientLimits::AcquireUpstreamSlot(const Deadline& deadline) {
  const int n = options_.max_concurrent_llm;
  if (n <= 0) return UpstreamSlot();
  const uint64_t self = SelfId();
  // Start the scan at a per-thread place so threads do not all CAS slot 0.
  const int start = static_cast<int>(std::hash<std::thread::id>{}(std::this_thread::get_id()) % n);
  bool waiting = false;
  struct WaiterCount {
    std::atomic<int32_t>& count;
    bool& counted;
    ~WaiterCount() {
      if (counted) count.fetch_sub(1, std::memory_order_relaxed);
    }
  } waiter{layout_->upstream_waiters, waiting};
  for (;;) {
    const uint32_t seq = layout_->upstream_seq.load(std::memory_order_acquire);
    for (int k = 0; k < n; ++k) {
      const int i = (start + k) % n;
      uint64_t expected = 0;
      if (layout_->upstream[i].load(std::memory_order_relaxed) == 0 &&
          layout_->upstream[i].compare_exchange_strong(expected, self, std::memory_order_acq_rel)) {
        int64_t in_use = 0;
        for (int j = 0; j < n; ++j) in_use += layout_->upstream[j].load(std::memory_order_relaxed) != 0;
        int64_t peak = layout_->upstream_peak.load(std::memory_order_relaxed);
        while (in_use > peak && !layout_->upstream_peak.compare_exchange_weak(peak, in_use)) {
        }
        return MakeSlot(this, static_cast<uint64_t>(i), self);
      }
    }
    const auto left = deadline.at() - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds::zero()) {
      layout_->shed.fetch_add(1, std::memory_order_relaxed);
      return Unavailable(Reason::kShed, "all upstream slots are busy; retry shortly");
    }
    if (!waiting) {
      waiting = true;
      layout_->upstream_waiters.fetch_add(1, std::memory_order_relaxed);
    }
    // Bounded so a slot freed without a wake (a holder's death, found by
    // ReclaimDead in a process that then crashed) still gets noticed.
    FutexWait(&layout_->upstream_seq, seq,
              std::min<std::chrono::nanoseconds>(left, std::chrono::milliseconds(20)));
  }
}

void ClientLimits::ReleaseTicket(uint64_t a, uint64_t process_id) {
  if (process_id != SelfId()) return;  // a fork()ed copy: the parent still holds it
  const auto slot = static_cast<uint32_t>(a);
  const auto process_index = static_cast<int>(a >> 32);
  DropNibble(layout_->slots()[slot].concurrent, process_index, false);
}

void ClientLimits::ReleaseSlot(uint64_t index, uint64_t process_id) {
  uint64_t expected = process_id;
  if (process_id != SelfId() || !layout_->upstream[index].compare_exchange_strong(expected, 0)) return;
  layout_->upstream_seq.fetch_add(1, std::memory_order_release);
  if (layout_->upstream_waiters.load(std::memory_order_relaxed) > 0) FutexWake(&layout_->upstream_seq, 1);
}

void ClientLimits::ReleaseProcessRow(int index) {
  ClientSlot* slots = layout_->slots();
  for (uint32_t i = 0; i < layout_->plain.table_slots; ++i) {
    if (slots[i].concurrent.load(std::memory_order_relaxed) != 0) DropNibble(slots[i].concurrent, index, true);
  }
  layout_->processes[index].store(0, std::memory_order_release);
}

int ClientLimits::ReclaimDead() {
  const uint64_t self = SelfId();
  std::vector<std::pair<uint64_t, bool>> seen;  // one /proc read per distinct id
  auto alive = [&](uint64_t id) {
    for (auto& [k, v] : seen) {
      if (k == id) return v;
    }
    seen.emplace_back(id, Alive(id));
    return seen.back().second;
  };
  int reclaimed = 0;
  for (int i = 0; i < kMaxProcesses; ++i) {
    uint64_t w = layout_->processes[i].load(std::memory_order_acquire);
    const uint64_t holder = w & ~kReclaimBit;
    // Our own row, or our own reclaim in progress on another thread.
    if (w == 0 || holder == self || alive(holder)) continue;
    if (layout_->processes[i].compare_exchange_strong(w, kReclaimBit | self, std::memory_order_acq_rel)) {
      ReleaseProcessRow(i);
      ++reclaimed;
    }
  }
  bool freed = false;
  for (int i = 0; i < kMaxUpstream; ++i) {
    uint64_t w = layout_->upstream[i].load(std::memory_order_acquire);
    if (w != 0 && !alive(w) && layout_->upstream[i].compare_exchange_strong(w, 0)) {
      ++reclaimed;
      freed = true;
    }
  }
  if (freed) {
    layout_->upstream_seq.fetch_add(1, std::memory_order_release);
    FutexWake(&layout_->upstream_seq, INT32_MAX);
  }
  return reclaimed;
}

LimitsSnapshot ClientLimits::Snapshot() const {
  LimitsSnapshot s;
  for (int i = 0; i < kMaxUpstream; ++i) s.upstream_in_use += layout_->upstream[i].load(std::memory_order_relaxed) != 0;
  for (int i = 0; i < kMaxProcesses; ++i) s.processes += layout_->processes[i].load(std::memory_order_relaxed) != 0;
  s.upstream_peak = layout_->upstream_peak.load(std::memory_order_relaxed);
  s.upstream_capacity = options_.max_concurrent_llm;
  s.shed = layout_->shed.load(std::memory_order_relaxed);
  s.denied_rate = layout_->denied_rate.load(std::memory_order_relaxed);
  s.denied_expensive = layout_->denied_expensive.load(std::memory_order_relaxed);
  s.denied_concurrent = layout_->denied_concurrent.load(std::memory_order_relaxed);
  s.fail_open = layout_->fail_open.load(std::memory_order_relaxed);
  s.fail_closed = layout_->fail_closed.load(std::memory_order_relaxed);
  s.denied_sessions = layout_->denied_sessions.load(std::memory_order_relaxed);
  s.table_slots = layout_->plain.table_slots;
  const ClientSlot* slots = layout_->slots();
  for (uint32_t i = 0; i < layout_->plain.table_slots; ++i) {
    s.clients_tracked += slots[i].key.load(std::memory_order_relaxed) != 0;
    s.requests_in_flight += NibbleSum(slots[i].concurrent.load(std::memory_order_relaxed));
  }
  return s;
}

}  // namespace folio
