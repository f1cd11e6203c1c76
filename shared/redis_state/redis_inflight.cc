// redis_inflight.cc: the in-flight table on Redis, three keys per question.
//
// Keys (the question's key is hashed: cache keys may hold any byte and be
// long; the {hash tag} keeps a key's three names in one cluster slot, as
// the scripts that touch them together require):
//   <prefix>inflight:{sha256}:lease   the leader's owner token, PX-expiring
//   <prefix>inflight:{sha256}:stream  the current leader's story: a "start"
//                                     entry, "text" deltas, then "done" or
//                                     "fail" (fields t=type, d=data, o=offset)
//   <prefix>inflight:{sha256}:done    the answer, for linger_ms
//
// Invariants — why no key can be stuck, and why no two clocks are compared:
//  1. Leading is decided by one script (SET lease NX): at most one leader
//     per key across every instance. A new leader empties the stream
//     (XTRIM MAXLEN 0 keeps its last id, so a blocked reader still sees
//     every later entry) and writes "start": a reader that sees a second
//     "start" knows the leader changed and stops relaying pieces.
//  2. A lease expires by PX on Redis's own clock. Its PX is at most
//     liveness_ms; this object's renewal thread extends it every
//     liveness_ms / 3 while the caller's own lease (last Join/Heartbeat +
//     lease_ms on this machine's monotonic clock) lasts, never past it. So a
//     dead instance's keys lapse within liveness_ms, a hung caller's within
//     lease_ms, and only durations ever cross the network.
//  3. Complete and Fail write their terminal entry and drop the lease in one
//     script, so "no lease and no terminal entry" (read in that order) means
//     the leader is gone: Wait() answers kTakeOver. The done key lingers for
//     linger_ms, and Join() follows it while it does; a failure has no such
//     key, so it reaches only the followers reading the stream now.
//  4. Every write re-arms the stream's expiry (max(lease_ms, linger_ms)) and
//     caps it (MAXLEN ~ kMaxStreamEntries): an abandoned stream vanishes.
//  5. Text entries carry their byte offset in the whole text: a Heartbeat
//     whose reply was lost sends its text again, and readers drop the bytes
//     they already have instead of repeating them.
//
// Redis unreachable (Unavailable from the link): Join() asks `local` and the
// key stays there for this instance until lease_ms + linger_ms after its
// last Join or Heartbeat, so the leader's Complete and the waiters' Wait
// reach the same table. Coalescing then spans one instance only; the
// fallbacks() counter shows it.
#include "redis_inflight.h"

#include <unistd.h>

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

#include "process.h"
#include "sha256.h"

namespace folio {
namespace {

constexpr size_t kMaxKeyBytes = 256;
// ~10 deltas a second (Heartbeat's floor of 100 ms) for 1000 s: longer than
// any request may run. MAXLEN ~ trims whole nodes, cheaply.
constexpr const char* kMaxStreamEntries = "10000";
// A blocked read returns at least this often, to check that the leader
// still holds its lease.
constexpr int64_t kMaxBlockMs = 250;
constexpr const char* kReadBatch = "1000";

// KEYS lease stream done; ARGV token lease_px stream_px maxlen. 1: leader.
const RedisScript& JoinScript() {
  static const RedisScript s(R"lua(
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
redis.call('XTRIM', KEYS[2], 'MAXLEN', 0)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 't', 'start', 'd', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
)lua");
  return s;
}

// KEYS lease stream; ARGV token lease_px stream_px text offset maxlen.
// 0 when the lease is not ours; "" text renews only.
const RedisScript& BeatScript() {
  static const RedisScript s(R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if ARGV[4] ~= '' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 't', 'text', 'd', ARGV[4], 'o', ARGV[5])
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
)lua");
  return s;
}

// KEYS lease stream done; ARGV token payload linger_px maxlen. 0: nothing
// to complete.
const RedisScript& CompleteScript() {
  static const RedisScript s(R"lua(
if redis.call('EXISTS', KEYS[3]) == 1 then return 1 end
if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 't', 'done', 'd', ARGV[2])
redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
)lua");
  return s;
}

// KEYS lease stream; ARGV token failure linger_px maxlen. 0: not ours.
const RedisScript& FailScript() {
  static const RedisScript s(R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 't', 'fail', 'd', ARGV[2])
redis.call('DEL', KEYS[1])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
)lua");
  return s;
}

// KEYS lease stream done. {1, answer} or {0, lease exists, every entry}:
// one consistent view to start following from.
const RedisScript& WatchScript() {
  static const RedisScript s(R"lua(
local done = redis.call('GET', KEYS[3])
if done then return {1, done} end
return {0, redis.call('EXISTS', KEYS[1]), redis.call('XRANGE', KEYS[2], '-', '+')}
)lua");
  return s;
}

Status CheckKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyBytes) return InvalidArgument("inflight_bad_key", "inflight keys are 1 to 256 bytes");
  return Status::Ok();
}

Status NotLeader() { return NotFound("inflight_not_leader", "this instance no longer leads the key"); }

// host:pid:start:object:random. The random part tells apart containers that
// share a hostname and run folio as pid 1 started at the same tick.
std::string MakeToken() {
  static std::atomic<uint64_t> objects{0};
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  const ProcessId self = SelfProcessId();
  std::random_device rd;
  const uint64_t nonce = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return std::string(host) + ":" + std::to_string(self.pid) + ":" + std::to_string(self.start_ticks) + ":" +
         std::to_string(++objects) + ":" + std::to_string(nonce);
}

struct Keys {
  std::string lease, stream, done;
};

Keys KeysOf(const RedisLink& link, std::string_view key) {
  const std::string base = link.Key("inflight:{" + HexOf(Sha256(key)) + "}");
  return {base + ":lease", base + ":stream", base + ":done"};
}

int64_t CeilMs(std::chrono::steady_clock::duration d) {
  return std::chrono::ceil<std::chrono::milliseconds>(d).count();
}

// What a follower has read of a stream so far.
class StreamReader {
 public:
  explicit StreamReader(bool streaming) : streaming_(streaming) {}

  // Reads XRANGE/XREAD entries: [[id, [field, value, ...]], ...].
  void Take(const RedisReply::View& entries) {
    for (size_t i = 0; i < entries.size() && !result_; ++i) {
      const RedisReply::View entry = entries.at(i);
      if (entry.size() < 2) continue;
      last_id_.assign(entry.at(0).str());
      std::string_view type, data;
      int64_t offset = -1;
      const RedisReply::View fields = entry.at(1);
      for (size_t f = 0; f + 1 < fields.size(); f += 2) {
        const std::string_view name = fields.at(f).str(), value = fields.at(f + 1).str();
        if (name == "t") type = value;
        if (name == "d") data = value;
        if (name == "o") offset = std::strtoll(std::string(value).c_str(), nullptr, 10);
      }
      const bool first = !seen_any_;
      seen_any_ = true;
      if (type == "done") result_ = FollowResult{FollowResult::Outcome::kDone, std::string(data)};
      else if (type == "fail") result_ = FollowResult{FollowResult::Outcome::kFailed, std::string(data)};
      else if (type == "start" && !first) StopStreaming();  // a new leader: its text is another story
      else if (type == "text") Append(first, offset, data);
    }
  }

  // Hands the text read since the last call to `on_partial`.
  void Deliver(const InflightBackend::PartialFn& on_partial) {
    if (pending_.empty()) return;
    delivered_ += pending_.size();
    on_partial(pending_);
    pending_.clear();
  }

  const std::optional<FollowResult>& result() const { return result_; }
  const std::string& last_id() const { return last_id_; }

 private:
  void StopStreaming() {
    streaming_ = false;
    pending_.clear();
  }

  // Invariant 5: keeps only the bytes past what this reader has.
  void Append(bool first, int64_t offset, std::string_view data) {
    if (first) StopStreaming();  // the stream's beginning was trimmed away
    if (!streaming_) return;
    const size_t have = delivered_ + pending_.size();
    if (offset < 0 || static_cast<size_t>(offset) > have) return StopStreaming();  // a gap
    const size_t end = static_cast<size_t>(offset) + data.size();
    if (end > have) pending_.append(data.substr(have - static_cast<size_t>(offset)));
  }

  bool streaming_;
  bool seen_any_ = false;
  size_t delivered_ = 0;
  std::string pending_;
  std::string last_id_ = "0-0";
  std::optional<FollowResult> result_;
};

FollowResult TakeOver() { return FollowResult{FollowResult::Outcome::kTakeOver, ""}; }

}  // namespace

Result<std::unique_ptr<RedisInflight>> RedisInflight::Open(std::shared_ptr<RedisLink> link,
                                                           std::unique_ptr<InflightBackend> local,
                                                           InflightOptions options, int64_t liveness_ms) {
  if (link == nullptr) return InvalidArgument("inflight_no_redis", "RedisInflight needs a RedisLink");
  if (liveness_ms <= 0) return InvalidArgument("inflight_bad_liveness", "liveness_ms must be positive");
  return std::unique_ptr<RedisInflight>(new RedisInflight(std::move(link), std::move(local), options, liveness_ms));
}

RedisInflight::RedisInflight(std::shared_ptr<RedisLink> link, std::unique_ptr<InflightBackend> local,
                             InflightOptions options, int64_t liveness_ms)
    : link_(std::move(link)),
      local_(std::move(local)),
      options_(options),
      liveness_ms_(liveness_ms),
      token_(MakeToken()),
      renewer_([this] { RenewLoop(); }) {}

RedisInflight::~RedisInflight() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  renewer_.join();
}

InflightBackend* RedisInflight::LocalFor(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = local_keys_.find(key);
  if (it == local_keys_.end()) return nullptr;
  const Clock::time_point now = Clock::now();
  if (it->second.until <= now) {
    local_keys_.erase(it);
    return nullptr;
  }
  it->second.until = now + std::chrono::milliseconds(it->second.lease_ms + options_.linger_ms);
  return local_.get();
}

Result<InflightRole> RedisInflight::Join(std::string_view key, int64_t lease_ms, int64_t now_ms) {
  if (Status s = CheckKey(key); !s.ok()) return s;
  if (lease_ms <= 0) return InvalidArgument("inflight_bad_lease", "lease_ms must be positive");
  if (InflightBackend* local = LocalFor(key)) return local->Join(key, lease_ms, now_ms);

  const Keys k = KeysOf(*link_, key);
  const std::string lease_px = std::to_string(std::min(lease_ms, liveness_ms_));
  const std::string stream_px = std::to_string(std::max(lease_ms, options_.linger_ms));
  Result<RedisReply> led = link_->Eval(JoinScript(), {k.lease, k.stream, k.done},
                                       {token_, lease_px, stream_px, kMaxStreamEntries});
  if (!led.ok()) {
    if (led.status().code() != Code::kUnavailable || local_ == nullptr) return led.status();
    fallbacks_.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mu_);
      local_keys_[std::string(key)] =
          LocalKey{Clock::now() + std::chrono::milliseconds(lease_ms + options_.linger_ms), lease_ms};
    }
    return local_->Join(key, lease_ms, now_ms);
  }
  if (led->integer() != 1) return Role::kFollower;
  std::lock_guard<std::mutex> lock(mu_);
  led_[std::string(key)] = Led{lease_ms, Clock::now() + std::chrono::milliseconds(lease_ms), 0, ++generation_};
  return Role::kLeader;
}

Status RedisInflight::Heartbeat(std::string_view key, int64_t now_ms, std::string_view partial_text) {
  if (Status s = CheckKey(key); !s.ok()) return s;
  if (InflightBackend* local = LocalFor(key)) return local->Heartbeat(key, now_ms, partial_text);

  Led was;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = led_.find(key);
    if (it == led_.end()) return NotLeader();
    it->second.lease_until = Clock::now() + std::chrono::milliseconds(it->second.lease_ms);
    was = it->second;
  }
  std::string_view delta;
  if (partial_text.size() > was.published) delta = partial_text.substr(was.published);
  const Keys k = KeysOf(*link_, key);
  Result<RedisReply> beat = link_->Eval(
      BeatScript(), {k.lease, k.stream},
      {token_, std::to_string(std::min(was.lease_ms, liveness_ms_)),
       std::to_string(std::max(was.lease_ms, options_.linger_ms)), delta, std::to_string(was.published),
       kMaxStreamEntries});
  if (!beat.ok()) return beat.status();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = led_.find(key);
  const bool same = it != led_.end() && it->second.generation == was.generation;
  if (beat->integer() != 1) {
    if (same) led_.erase(it);
    return NotLeader();
  }
  if (same && !delta.empty()) it->second.published = std::max(it->second.published, partial_text.size());
  return Status::Ok();
}

Status RedisInflight::Complete(std::string_view key, std::string_view payload) {
  if (Status s = CheckKey(key); !s.ok()) return s;
  if (InflightBackend* local = LocalFor(key)) return local->Complete(key, payload);

  const Keys k = KeysOf(*link_, key);
  Result<RedisReply> done = link_->Eval(CompleteScript(), {k.lease, k.stream, k.done},
                                        {token_, payload, std::to_string(options_.linger_ms), kMaxStreamEntries});
  if (!done.ok()) return done.status();
  {
    std::lock_guard<std::mutex> lock(mu_);
    led_.erase(std::string(key));  // led or not, this caller is finished with the key
  }
  if (done->integer() != 1) return NotFound("inflight_not_found", "no inflight entry for the key");
  return Status::Ok();
}

Status RedisInflight::Fail(std::string_view key, std::string_view failure) {
  if (Status s = CheckKey(key); !s.ok()) return s;
  if (InflightBackend* local = LocalFor(key)) return local->Fail(key, failure);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (led_.find(key) == led_.end()) return NotLeader();
  }
  const Keys k = KeysOf(*link_, key);
  Result<RedisReply> failed = link_->Eval(FailScript(), {k.lease, k.stream},
                                          {token_, failure, std::to_string(options_.linger_ms), kMaxStreamEntries});
  if (!failed.ok()) return failed.status();
  {
    std::lock_guard<std::mutex> lock(mu_);
    led_.erase(std::string(key));
  }
  return failed->integer() == 1 ? Status::Ok() : NotLeader();
}

Result<FollowResult> RedisInflight::Wait(std::string_view key, const Deadline& deadline,
                                         std::chrono::milliseconds poll_interval, const PartialFn& on_partial) {
  if (Status s = CheckKey(key); !s.ok()) return s;
  if (InflightBackend* local = LocalFor(key)) return local->Wait(key, deadline, poll_interval, on_partial);

  // Redis gone mid-wait: the leader cannot be followed from here; the
  // caller's next Join() decides (locally, if Redis is still down).
  auto lost = [](const Status& s) -> Result<FollowResult> {
    if (s.code() == Code::kUnavailable) return TakeOver();
    return s;
  };
  const Keys k = KeysOf(*link_, key);
  StreamReader reader(static_cast<bool>(on_partial));
  Result<RedisReply> first = link_->Eval(WatchScript(), {k.lease, k.stream, k.done}, {});
  if (!first.ok()) return lost(first.status());
  if (first->at(0).integer() == 1) return FollowResult{FollowResult::Outcome::kDone, std::string(first->at(1).str())};
  reader.Take(first->at(2));
  if (reader.result()) return *reader.result();
  if (first->at(1).integer() == 0) return TakeOver();  // invariant 3
  if (on_partial) reader.Deliver(on_partial);

  const int64_t call_timeout_ms = link_->options().command_timeout_ms;
  for (;;) {
    if (deadline.Expired()) return DeadlineExceeded("inflight_deadline", "the coalesced request did not finish in time");
    const int64_t block_ms = std::clamp<int64_t>(deadline.Remaining().count(), 1, kMaxBlockMs);
    Result<RedisReply> read = link_->Command({"XREAD", "COUNT", kReadBatch, "BLOCK", std::to_string(block_ms),
                                              "STREAMS", k.stream, reader.last_id()},
                                             block_ms + call_timeout_ms);
    if (!read.ok()) return lost(read.status());
    if (read->size() > 0) {
      reader.Take(read->at(0).at(1));  // [[stream, entries]]
    } else {
      // Nothing for block_ms: is there still a leader? Lease first, then
      // the stream (invariant 3), in one round trip.
      Result<std::vector<RedisReply>> check = link_->Pipeline(
          {{"EXISTS", k.lease}, {"XREAD", "COUNT", kReadBatch, "STREAMS", k.stream, reader.last_id()}});
      if (!check.ok()) return lost(check.status());
      const std::vector<RedisReply>& replies = *check;
      if (replies.size() != 2 || replies[0].is_error() || replies[1].is_error()) {
        return Internal("redis_error", "unexpected reply while checking an in-flight lease");
      }
      if (replies[1].size() > 0) reader.Take(replies[1].at(0).at(1));
      if (!reader.result() && replies[0].integer() == 0) return TakeOver();
    }
    if (reader.result()) return *reader.result();
    if (on_partial) reader.Deliver(on_partial);
  }
}

Result<int> RedisInflight::Purge(int64_t now_ms) { return local_ ? local_->Purge(now_ms) : Result<int>(0); }

std::optional<int64_t> RedisInflight::Entries() const { return local_ ? local_->Entries() : std::nullopt; }

void RedisInflight::RenewLoop() {
  const auto period = std::chrono::milliseconds(std::max<int64_t>(1, liveness_ms_ / 3));
  std::unique_lock<std::mutex> lock(mu_);
  while (!wake_.wait_for(lock, period, [this] { return stopping_; })) {
    lock.unlock();
    RenewOnce();
    lock.lock();
  }
}

// Invariant 2: extends the Redis lease of every key whose caller's lease
// lasts, never past it; forgets the others, and local keys past their window.
void RedisInflight::RenewOnce() {
  struct Due {
    std::string key;
    uint64_t generation;
    int64_t lease_ms;
    int64_t left_ms;
  };
  std::vector<Due> due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const Clock::time_point now = Clock::now();
    for (auto it = led_.begin(); it != led_.end();) {
      if (it->second.lease_until <= now) {
        it = led_.erase(it);
        continue;
      }
      due.push_back(Due{it->first, it->second.generation, it->second.lease_ms, CeilMs(it->second.lease_until - now)});
      ++it;
    }
    std::erase_if(local_keys_, [&](const auto& entry) { return entry.second.until <= now; });
  }
  for (const Due& d : due) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    const Keys k = KeysOf(*link_, d.key);
    Result<RedisReply> renewed = link_->Eval(BeatScript(), {k.lease, k.stream},
                                             {token_, std::to_string(std::min(d.left_ms, liveness_ms_)),
                                              std::to_string(std::max(d.lease_ms, options_.linger_ms)), "", "0",
                                              kMaxStreamEntries});
    if (!renewed.ok() || renewed->integer() == 1) continue;  // Redis down: the next round tries again
    std::lock_guard<std::mutex> lock(mu_);
    auto it = led_.find(d.key);
    if (it != led_.end() && it->second.generation == d.generation) led_.erase(it);  // another leads it now
  }
}

}  // namespace folio
