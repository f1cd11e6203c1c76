// inflight.cc: one LMDB record per key being computed, shared by every process.
//
// Record: {state, owner pid, owner start time, generation, lease_ms,
// lease_until_ms, updated_ms, finished_ms, payload, partial text}, binary
// (Encode/Decode below). The generation grows by one at every change of
// leader, so a follower can tell "the same leader, further along" from
// "a new leader that restarted the stream".
//
// Invariants — why no key can be stuck:
//  1. Leading is decided only inside a write transaction, which LMDB
//     serializes across all processes: at most one live leader per key.
//  2. A running entry is followed only while (a) its lease has not run out
//     and (b) its owner process exists. (a) is time alone: a leader that hangs
//     stops heartbeating and loses the key within lease_ms. A lease further
//     in the future than lease_ms + kClockSlackMs (the wall clock stepped back)
//     counts as expired, so a clock jump cannot extend it. (b) catches kill -9
//     sooner: pid gone, zombie, or pid reused (IsAlive in process.h). An
//     owner whose /proc entry cannot be read counts as alive there, which
//     (a) still bounds: a wrongly trusted leader only delays a take-over,
//     where a wrongly distrusted one would be asked the same question twice.
//  3. A finished entry answers for linger_ms after finished_ms (again clamped
//     against clock steps), then counts as absent: Join() replaces it and
//     Purge() deletes it. A failed one answers only the followers that were
//     already waiting: a question that arrives after the failure leads a
//     new attempt instead of inheriting it.
//  4. A record that does not decode counts as absent (replaced by Join,
//     deleted by Purge); an absent entry makes Wait() return kTakeOver.
// So every waiter leaves Wait() by its deadline at the latest, and some Join()
// can lead any key within max(lease_ms, linger_ms) of its last progress.
//
// Cost: a follower's Join() is one read transaction plus, for a leader in
// another process, one /proc read; a leader's Join() adds a write transaction
// (~20 µs on a kOnRequest environment). Liveness checks (/proc) never run
// inside a write transaction, which every process waits for.
#include "inflight.h"

#include <algorithm>
#include <map>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "coding.h"
#include "process.h"

namespace folio {
namespace {

constexpr size_t kMaxKeyBytes = 256;
constexpr int64_t kClockSlackMs = 1000;
constexpr uint8_t kFormat = 1;

enum class State : uint8_t { kRunning = 1, kDone = 2, kFailed = 3 };

struct Entry {
  State state = State::kRunning;
  ProcessId owner;
  uint64_t generation = 0;
  int64_t lease_ms = 0;
  int64_t lease_until_ms = 0;
  int64_t updated_ms = 0;
  int64_t finished_ms = 0;
  std::string_view payload;  // views into the record or the caller's strings
  std::string_view partial;
};

// Header, little-endian: format u8, state u8, 0 u16, pid i32, start u64,
// generation u64, lease_ms, lease_until_ms, updated_ms, finished_ms (i64 each),
// payload length u32, partial length u32; then payload, then partial text.
constexpr size_t kHeaderBytes = 64;

std::string Encode(const Entry& e) {
  std::string out;
  out.reserve(kHeaderBytes + e.payload.size() + e.partial.size());
  out.push_back(static_cast<char>(kFormat));
  out.push_back(static_cast<char>(e.state));
  out.append(2, '\0');
  PutU32(&out, static_cast<uint32_t>(e.owner.pid));
  PutU64(&out, e.owner.start_ticks);
  PutU64(&out, e.generation);
  PutU64(&out, static_cast<uint64_t>(e.lease_ms));
  PutU64(&out, static_cast<uint64_t>(e.lease_until_ms));
  PutU64(&out, static_cast<uint64_t>(e.updated_ms));
  PutU64(&out, static_cast<uint64_t>(e.finished_ms));
  PutU32(&out, static_cast<uint32_t>(e.payload.size()));
  PutU32(&out, static_cast<uint32_t>(e.partial.size()));
  out.append(e.payload);
  out.append(e.partial);
  return out;
}

// nullopt for anything but a well-formed record of this format (invariant 4).
std::optional<Entry> Decode(std::string_view v) {
  if (v.size() < kHeaderBytes || static_cast<uint8_t>(v[0]) != kFormat) return std::nullopt;
  const char* p = v.data();
  Entry e;
  uint8_t state = static_cast<uint8_t>(p[1]);
  if (state < 1 || state > 3) return std::nullopt;
  e.state = static_cast<State>(state);
  e.owner.pid = static_cast<int32_t>(DecodeU32(p + 4));
  e.owner.start_ticks = DecodeU64(p + 8);
  e.generation = DecodeU64(p + 16);
  e.lease_ms = static_cast<int64_t>(DecodeU64(p + 24));
  e.lease_until_ms = static_cast<int64_t>(DecodeU64(p + 32));
  e.updated_ms = static_cast<int64_t>(DecodeU64(p + 40));
  e.finished_ms = static_cast<int64_t>(DecodeU64(p + 48));
  uint32_t payload_len = DecodeU32(p + 56);
  uint32_t partial_len = DecodeU32(p + 60);
  if (v.size() != kHeaderBytes + size_t{payload_len} + partial_len) return std::nullopt;
  e.payload = v.substr(kHeaderBytes, payload_len);
  e.partial = v.substr(kHeaderBytes + payload_len, partial_len);
  return e;
}

// Invariant 2(a), with the clock-step clamp.
bool LeaseLive(const Entry& e, int64_t now_ms) {
  return now_ms < e.lease_until_ms && e.lease_until_ms - now_ms <= e.lease_ms + kClockSlackMs;
}

// Invariant 3.
bool Lingering(const Entry& e, int64_t now_ms, int64_t linger_ms) {
  return e.state != State::kRunning && now_ms < e.finished_ms + linger_ms && e.finished_ms - now_ms <= kClockSlackMs;
}

// A finished entry a new Join() follows: a result, never a failure.
bool Followable(const Entry& e, int64_t now_ms, int64_t linger_ms) {
  return e.state == State::kDone && Lingering(e, now_ms, linger_ms);
}

bool IsFinished(const Entry& e) { return e.state != State::kRunning; }

Status CheckKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyBytes) {
    return InvalidArgument("inflight_bad_key", "inflight keys are 1 to 256 bytes");
  }
  return Status::Ok();
}

}  // namespace

bool InflightTable::IsRecord(std::string_view bytes) { return Decode(bytes).has_value(); }

Result<InflightTable> InflightTable::Open(Store* store, InflightOptions options) {
  auto db = store->Database(kInflightDb);
  if (!db.ok()) return db.status();
  return InflightTable(store, *db, options);
}

Result<InflightTable::Role> InflightTable::Join(std::string_view key, int64_t lease_ms, int64_t now_ms) {
  if (Status s = CheckKey(key); !s.ok()) return s;
  if (lease_ms <= 0) return InvalidArgument("inflight_bad_lease", "lease_ms must be positive");
  const ProcessId self = SelfProcessId();

  // Fast path, no write: a lingering result, or a live leader elsewhere.
  std::optional<std::pair<ProcessId, uint64_t>> found_dead;  // (owner, generation) seen dead
  {
    std::optional<Entry> seen;
    {
      auto txn = store_->BeginRead();
      if (!txn.ok()) return txn.status();
      auto got = txn->Get(db_, key);
      if (!got.ok()) return got.status();
      if (got->has_value()) seen = Decode(**got);
    }  // the views in `seen` are only used for fixed fields below
    if (seen && Followable(*seen, now_ms, options_.linger_ms)) return Role::kFollower;
    if (seen && seen->state == State::kRunning && LeaseLive(*seen, now_ms)) {
      if (seen->owner == self || IsAlive(seen->owner)) return Role::kFollower;
      found_dead.emplace(seen->owner, seen->generation);
    }
  }

  Role role = Role::kFollower;
  Status s = store_->Write(
      [&](WriteTxn& txn) -> Status {
        auto got = txn.Get(db_, key);
        if (!got.ok()) return got.status();
        std::optional<Entry> cur = got->has_value() ? Decode(**got) : std::nullopt;
        if (cur && Followable(*cur, now_ms, options_.linger_ms)) return Status::Ok();
        if (cur && cur->state == State::kRunning && LeaseLive(*cur, now_ms)) {
          // Take over only the leader we checked and found dead; a leader that
          // appeared since is alive as far as we know (Wait checks again).
          const bool checked_dead = found_dead && found_dead->first == cur->owner && found_dead->second == cur->generation;
          if (!checked_dead) return Status::Ok();
        }
        Entry mine;
        mine.state = State::kRunning;
        mine.owner = self;
        mine.generation = cur ? cur->generation + 1 : 1;
        mine.lease_ms = lease_ms;
        mine.lease_until_ms = now_ms + lease_ms;
        mine.updated_ms = now_ms;
        role = Role::kLeader;
        return txn.Put(db_, key, Encode(mine));
      },
      Durability::kRelaxed);
  if (!s.ok()) return s;
  return role;
}

Status InflightTable::Heartbeat(std::string_view key, int64_t now_ms, std::string_view partial_text) {
  if (Status s = CheckKey(key); !s.ok()) return s;
  const ProcessId self = SelfProcessId();
  return store_->Write(
      [&](WriteTxn& txn) -> Status {
        auto got = txn.Get(db_, key);
        if (!got.ok()) return got.status();
        std::optional<Entry> cur = got->has_value() ? Decode(**got) : std::nullopt;
        if (!cur || cur->state != State::kRunning || cur->owner != self) {
          return NotFound("inflight_not_leader", "this process no longer leads the key");
        }
        Entry next = *cur;
        next.lease_until_ms = now_ms + cur->lease_ms;
        next.updated_ms = now_ms;
        if (!partial_text.empty()) next.partial = partial_text;
        std::string record = Encode(next);
        return txn.Put(db_, key, record);
      },
      Durability::kRelaxed);
}

namespace {

// `entry` ended as `state` with `payload` (an answer, or the failure's token).
Entry Finished(Entry entry, State state, std::string_view payload, int64_t now_ms) {
  entry.state = state;
  entry.payload = payload;
  entry.partial = {};
  entry.updated_ms = now_ms;
  entry.finished_ms = now_ms;
  return entry;
}

}  // namespace

Status InflightTable::Complete(std::string_view key, std::string_view payload) {
  if (Status s = CheckKey(key); !s.ok()) return s;
  const int64_t now_ms = UnixMs();
  return store_->Write(
      [&](WriteTxn& txn) -> Status {
        auto got = txn.Get(db_, key);
        if (!got.ok()) return got.status();
        std::optional<Entry> cur = got->has_value() ? Decode(**got) : std::nullopt;
        if (!cur) return NotFound("inflight_not_found", "no inflight entry for the key");
        if (cur->state == State::kDone) return Status::Ok();  // the first answer stands
        return txn.Put(db_, key, Encode(Finished(*cur, State::kDone, payload, now_ms)));
      },
      Durability::kRelaxed);
}

Status InflightTable::Fail(std::string_view key, std::string_view failure) {
  if (Status s = CheckKey(key); !s.ok()) return s;
  const int64_t now_ms = UnixMs();
  const ProcessId self = SelfProcessId();
  return store_->Write(
      [&](WriteTxn& txn) -> Status {
        auto got = txn.Get(db_, key);
        if (!got.ok()) return got.status();
        std::optional<Entry> cur = got->has_value() ? Decode(**got) : std::nullopt;
        if (cur && cur->owner == self && IsFinished(*cur)) return Status::Ok();
        if (!cur || cur->state != State::kRunning || cur->owner != self) {
          return NotFound("inflight_not_leader", "this process no longer leads the key");
        }
        return txn.Put(db_, key, Encode(Finished(*cur, State::kFailed, failure, now_ms)));
      },
      Durability::kRelaxed);
}

Result<FollowResult> InflightTable::Wait(std::string_view key, const Deadline& deadline,
                                         std::chrono::milliseconds poll_interval, const PartialFn& on_partial) {
  if (Status s = CheckKey(key); !s.ok()) return s;
  using std::chrono::milliseconds;
  const milliseconds first = std::max(milliseconds(1), poll_interval);
  milliseconds interval = first;
  const ProcessId self = SelfProcessId();
  bool streaming = static_cast<bool>(on_partial);
  uint64_t stream_generation = 0;  // 0: not yet seen
  size_t delivered = 0;
  ProcessId checked_owner;
  int64_t checked_at_ms = 0;

  for (;;) {
    const int64_t now_ms = UnixMs();
    std::optional<Entry> cur;
    std::string delta;
    FollowResult result;
    {
      auto txn = store_->BeginRead();
      if (!txn.ok()) return txn.status();
      auto got = txn->Get(db_, key);
      if (!got.ok()) return got.status();
      if (got->has_value()) cur = Decode(**got);
      if (cur && IsFinished(*cur)) {
        result.outcome = cur->state == State::kDone ? FollowResult::Outcome::kDone : FollowResult::Outcome::kFailed;
        result.payload.assign(cur->payload);
        return result;
      }
      if (cur && streaming) {
        if (stream_generation == 0) stream_generation = cur->generation;
        if (cur->generation != stream_generation || cur->partial.size() < delivered) {
          streaming = false;  // another leader's stream: do not splice it onto this one
        } else if (cur->partial.size() > delivered) {
          delta.assign(cur->partial.substr(delivered));
        }
      }
      if (cur) cur->payload = cur->partial = {};  // views die with the txn
    }
    if (!cur || !LeaseLive(*cur, now_ms)) return FollowResult{FollowResult::Outcome::kTakeOver, ""};
    if (cur->owner != self && (cur->owner != checked_owner || now_ms - checked_at_ms >= options_.liveness_check_ms)) {
      if (!IsAlive(cur->owner)) return FollowResult{FollowResult::Outcome::kTakeOver, ""};
      checked_owner = cur->owner;
      checked_at_ms = now_ms;
    }
    if (!delta.empty()) {
      delivered += delta.size();
      on_partial(delta);
    }
    if (deadline.Expired()) return DeadlineExceeded("inflight_deadline", "the coalesced request did not finish in time");
    std::this_thread::sleep_until(std::min(std::chrono::steady_clock::now() + interval, deadline.at()));
    interval = std::min(first * 4, interval * 3 / 2);
  }
}

Result<int> InflightTable::Purge(int64_t now_ms) {
  struct Candidate {
    std::string key;
    State state;
    uint64_t generation;
    int64_t lease_until_ms;
    int64_t finished_ms;
    bool corrupt = false;
  };
  std::vector<Candidate> doomed;
  std::vector<std::pair<Candidate, ProcessId>> running;  // live leases: check their owners
  {
    auto txn = store_->BeginRead();
    if (!txn.ok()) return txn.status();
    Status s = txn->ForEach(db_, "", [&](std::string_view k, std::string_view v) {
      std::optional<Entry> e = Decode(v);
      if (!e) {
        doomed.push_back(Candidate{std::string(k), State::kRunning, 0, 0, 0, true});
        return true;
      }
      Candidate c{std::string(k), e->state, e->generation, e->lease_until_ms, e->finished_ms};
      if (IsFinished(*e)) {
        if (!Lingering(*e, now_ms, options_.linger_ms)) doomed.push_back(std::move(c));
      } else if (!LeaseLive(*e, now_ms)) {
        doomed.push_back(std::move(c));
      } else {
        running.emplace_back(std::move(c), e->owner);
      }
      return true;
    });
    if (!s.ok()) return s;
  }
  std::map<ProcessId, bool> alive;  // one /proc read per distinct owner
  for (auto& [c, owner] : running) {
    auto it = alive.find(owner);
    if (it == alive.end()) it = alive.emplace(owner, IsAlive(owner)).first;
    if (!it->second) doomed.push_back(std::move(c));
  }
  if (doomed.empty()) return 0;

  int removed = 0;
  Status s = store_->Write(
      [&](WriteTxn& txn) -> Status {
        removed = 0;
        for (const Candidate& c : doomed) {
          auto got = txn.Get(db_, c.key);
          if (!got.ok()) return got.status();
          if (!got->has_value()) continue;
          std::optional<Entry> e = Decode(**got);
          // Delete only what was judged: a record changed since then is someone's progress.
          const bool unchanged = c.corrupt ? !e
                                           : e && e->state == c.state && e->generation == c.generation &&
                                                 e->lease_until_ms == c.lease_until_ms && e->finished_ms == c.finished_ms;
          if (!unchanged) continue;
          auto del = txn.Delete(db_, c.key);
          if (!del.ok()) return del.status();
          if (*del) ++removed;
        }
        return Status::Ok();
      },
      Durability::kRelaxed);
  if (!s.ok()) return s;
  return removed;
}

std::optional<int64_t> InflightTable::Entries() const {
  Result<DbStats> stats = store_->Stat(db_);
  if (!stats.ok()) return std::nullopt;
  return static_cast<int64_t>(stats->entries);
}

}  // namespace folio
