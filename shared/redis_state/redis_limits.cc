// redis_limits.cc: the limits in Redis, one Lua script per decision.
//
// Why scripts: a decision reads, compares and writes (a rate estimate, a
// count of running requests). Done as separate commands, two instances
// could both read "4 of 5" and both admit; a script runs atomically in
// Redis, so the check and the count are one step, and a request costs one
// round trip. Every script takes "now" from redis.call('TIME'): the instances'
// clocks may disagree, the server's is one clock for all.
//
// Keys (all under the link's prefix; {h} is the client id's 64-bit hash in
// hex, a hash tag so one client's keys stay together in a cluster):
//   limits:{h}:req|exp|ses  hash w (window number), c (count), p (previous
//                           count): the rate word of client_limits.cc, rolled
//                           the same way; PEXPIRE two windows
//   limits:{h}:run          sorted set of running requests: member = ticket,
//                           score = lease expiry (server ms)
//   limits:upstream         the same for upstream LLM calls, all clients
//   limits:tokens           hash d (UTC day number), n (tokens spent that day)
// The window number lives in the hash rather than in the key's name because
// only the script knows the server's time, and a script must be handed
// every key it touches.
//
// Rates: estimate = prev × (W − elapsed)/W + count, admitted while
// estimate + 1 ≤ limit, denied requests not counted, Retry-After exact for
// the estimate: client_limits.cc's rules, so both backends answer alike.
//
// Concurrency is a lease, not a counter: a ticket is a member whose score is
// when it expires. Every check first drops expired members, so the places of
// an instance that died (or of a release that found Redis down) come back
// after ticket_lease_ms with nobody cleaning up. The cost: a release lost in
// that way keeps a place for a lease, and so does a reply lost after the
// script ran (a timeout): the lease bounds both.
//
// Ticket and slot words: the client's hash and a per-object serial number;
// the member is this object's random token followed by the serial, so
// releasing needs no memory per ticket. Tickets and slots made while Redis
// was unreachable are local's own and release there.
#include "redis_limits.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "log.h"
#include "sha256.h"

namespace folio {
namespace {

using std::chrono::milliseconds;

constexpr int kMaxUpstream = 256;  // as client_limits.cc, so both backends take the same settings

// Shared by every script: the server's clock, and (for Redis before 5) the
// mode that lets a script write after reading it.
constexpr const char* kPrelude = R"lua(
if redis.replicate_commands then redis.replicate_commands() end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
)lua";

// Rate and concurrency for one request.
// KEYS: the rate hash, the running set. ARGV: limit (0 = none), window_ms,
// max running (0 = none), lease_ms, member.
// Returns {0, 0} admitted (counted, and the member added when max > 0),
// {1, retry_ms} over the rate, {2, 0} over the concurrency.
constexpr const char* kAdmit = R"lua(
local now = now_ms()
local limit, w = tonumber(ARGV[1]), tonumber(ARGV[2])
local max, lease = tonumber(ARGV[3]), tonumber(ARGV[4])
if max > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= max then return {2, 0} end
end
if limit > 0 then
  local win = math.floor(now / w)
  local e = now - win * w
  local h = redis.call('HMGET', KEYS[1], 'w', 'c', 'p')
  local hw, c, p = tonumber(h[1]), tonumber(h[2]) or 0, tonumber(h[3]) or 0
  if hw ~= win then
    -- The next window keeps this one's count as its previous; any other
    -- (older, or ahead after the clock stepped back) starts empty.
    if hw ~= nil and hw + 1 == win then p = c else p = 0 end
    c = 0
  end
  if p * (w - e) + (c + 1) * w > limit * w then
    local room = (limit - c - 1) * w
    if room >= 0 and p > 0 then
      local t = math.max(e, w - math.floor(room / p))
      if t < w then return {1, t - e} end
    end
    local t_next = 0
    if c > 0 then t_next = math.max(0, w - math.floor((limit - 1) * w / c)) end
    return {1, (w - e) + t_next}
  end
  redis.call('HSET', KEYS[1], 'w', win, 'c', c + 1, 'p', p)
  redis.call('PEXPIRE', KEYS[1], 2 * w)
end
if max > 0 then
  redis.call('ZADD', KEYS[2], now + lease, ARGV[5])
  redis.call('PEXPIRE', KEYS[2], lease)
end
return {0, 0}
)lua";

// One upstream slot. KEYS: the slot set. ARGV: max, lease_ms, member.
// Returns the slots held once this one is taken, or 0 when all are.
constexpr const char* kTakeSlot = R"lua(
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return n + 1
)lua";

// Live members of a lease set. KEYS: the set.
constexpr const char* kCountLive = R"lua(
return redis.call('ZCOUNT', KEYS[1], '(' .. now_ms(), '+inf')
)lua";

// The day's tokens. KEYS: the tokens hash. ARGV: tokens to add (0: read).
// Returns today's spend (server's UTC day) after adding.
constexpr const char* kTokens = R"lua(
local day = math.floor(now_ms() / 86400000)
local h = redis.call('HMGET', KEYS[1], 'd', 'n')
local add = tonumber(ARGV[1])
if tonumber(h[1]) ~= day then
  if add <= 0 then return 0 end
  redis.call('HSET', KEYS[1], 'd', day, 'n', 0)
end
if add <= 0 then return tonumber(h[2]) or 0 end
local n = redis.call('HINCRBY', KEYS[1], 'n', ARGV[1])
redis.call('EXPIRE', KEYS[1], 172800)
return n
)lua";

const RedisScript& AdmitScript() {
  static const RedisScript script(std::string(kPrelude) + kAdmit);
  return script;
}
const RedisScript& TakeSlotScript() {
  static const RedisScript script(std::string(kPrelude) + kTakeSlot);
  return script;
}
const RedisScript& CountLiveScript() {
  static const RedisScript script(std::string(kPrelude) + kCountLive);
  return script;
}
const RedisScript& TokensScript() {
  static const RedisScript script(std::string(kPrelude) + kTokens);
  return script;
}

std::string Hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// The first 8 bytes of the id's SHA-256: ids may be any bytes and any
// length; a key name should be neither. Unseeded (unlike client_limits.cc,
// whose open-addressed table a chosen collision could crowd): in Redis a
// collision only merges two clients' counts.
uint64_t ClientHash(std::string_view client_id) {
  const Sha256Digest d = Sha256(client_id);
  uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h = h << 8 | d[i];
  return h;
}

int RetrySeconds(int64_t ms) { return static_cast<int>(std::max<int64_t>(1, (ms + 999) / 1000)); }

int64_t SteadyMs() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string RandomToken() {
  std::random_device rd;
  return Hex16(uint64_t{rd()} << 32 | rd());
}

void RaiseTo(std::atomic<int64_t>& max, int64_t value) {
  int64_t seen = max.load(std::memory_order_relaxed);
  while (value > seen && !max.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

}  // namespace

Result<std::unique_ptr<RedisLimits>> RedisLimits::Open(std::shared_ptr<RedisLink> link,
                                                       std::unique_ptr<LimitsBackend> local, LimitOptions options,
                                                       RedisLimitsOptions redis_options) {
  if (!link || !local) return InvalidArgument("redis_limits", "Redis limits need a Redis link and local limits.");
  options.window_ms = std::max<int64_t>(1000, options.window_ms);
  options.max_concurrent_llm = std::clamp(options.max_concurrent_llm, 0, kMaxUpstream);
  redis_options.ticket_lease_ms = std::max<int64_t>(1, redis_options.ticket_lease_ms);
  redis_options.slot_lease_ms = std::max<int64_t>(1, redis_options.slot_lease_ms);
  return std::unique_ptr<RedisLimits>(
      new RedisLimits(std::move(link), std::move(local), options, redis_options));
}

RedisLimits::RedisLimits(std::shared_ptr<RedisLink> link, std::unique_ptr<LimitsBackend> local, LimitOptions options,
                         RedisLimitsOptions redis_options)
    : link_(std::move(link)),
      local_(std::move(local)),
      options_(options),
      redis_options_(redis_options),
      token_(RandomToken()) {}

std::string RedisLimits::ClientKey(uint64_t client_hash, std::string_view budget) const {
  return link_->Key("limits:{" + Hex16(client_hash) + "}:" + std::string(budget));
}

std::string RedisLimits::Member(uint64_t serial) const { return token_ + Hex16(serial); }

void RedisLimits::CountFallback(const Status& why) const {
  fallbacks_.fetch_add(1, std::memory_order_relaxed);
  if (why.code() == Code::kUnavailable) return;  // the link reports its own outages
  // Anything else is a bug (a script error, a key of the wrong type): loud,
  // but at most once a minute per process.
  static std::atomic<int64_t> last_logged{INT64_MIN / 2};
  const int64_t now = SteadyMs();
  int64_t last = last_logged.load(std::memory_order_relaxed);
  if (now - last >= 60000 && last_logged.compare_exchange_strong(last, now)) {
    LogError("redis_limits_error", {{"error", why.ToString()}});
  }
}

Decision RedisLimits::Admit(std::string_view client_id, int64_t now_ms) {
  const int limit = options_.client_rpm, max = options_.client_max_concurrent;
  if (limit <= 0 && max <= 0) return Decision{};
  const uint64_t hash = ClientHash(client_id);
  const uint64_t serial = serial_.fetch_add(1, std::memory_order_relaxed) + 1;
  const std::string rate_key = ClientKey(hash, "req"), run_key = ClientKey(hash, "run");
  const std::string limit_arg = std::to_string(limit), window_arg = std::to_string(options_.window_ms);
  const std::string max_arg = std::to_string(max), lease_arg = std::to_string(redis_options_.ticket_lease_ms);
  const std::string member = Member(serial);
  Result<RedisReply> r =
      link_->Eval(AdmitScript(), {rate_key, run_key}, {limit_arg, window_arg, max_arg, lease_arg, member});
  if (!r.ok() || !r->is_array() || r->size() != 2) {
    CountFallback(r.ok() ? Internal("redis_limits", "unexpected reply to the admit script") : r.status());
    return local_->Admit(client_id, now_ms);
  }
  switch (r->at(0).integer()) {
    case 0: {
      Decision d;
      if (max > 0) {
        tickets_held_.fetch_add(1, std::memory_order_relaxed);
        d.ticket = MakeTicket(this, hash, serial);
      }
      return d;
    }
    case 1:
      denied_rate_.fetch_add(1, std::memory_order_relaxed);
      return Decision{false, DenyReason::kRate, RetrySeconds(r->at(1).integer()), {}};
    default:
      denied_concurrent_.fetch_add(1, std::memory_order_relaxed);
      return Decision{false, DenyReason::kConcurrent, 1, {}};
  }
}

Decision RedisLimits::AdmitExpensive(std::string_view client_id, int64_t now_ms) {
  return AdmitRate("exp", options_.client_expensive_rpm, denied_expensive_, client_id, now_ms,
                   &LimitsBackend::AdmitExpensive);
}

Decision RedisLimits::AdmitNewSession(std::string_view client_id, int64_t now_ms) {
  return AdmitRate("ses", options_.client_sessions_per_min, denied_sessions_, client_id, now_ms,
                   &LimitsBackend::AdmitNewSession);
}

Decision RedisLimits::AdmitRate(std::string_view budget, int limit, std::atomic<int64_t>& denied,
                                std::string_view client_id, int64_t now_ms,
                                Decision (LimitsBackend::*fallback)(std::string_view, int64_t)) {
  if (limit <= 0) return Decision{};
  const std::string key = ClientKey(ClientHash(client_id), budget);
  const std::string limit_arg = std::to_string(limit), window_arg = std::to_string(options_.window_ms);
  // The admit script with no concurrency: KEYS[2] is never touched.
  Result<RedisReply> r = link_->Eval(AdmitScript(), {key, key}, {limit_arg, window_arg, "0", "0", ""});
  if (!r.ok() || !r->is_array() || r->size() != 2) {
    CountFallback(r.ok() ? Internal("redis_limits", "unexpected reply to the admit script") : r.status());
    return (local_.get()->*fallback)(client_id, now_ms);
  }
  if (r->at(0).integer() == 0) return Decision{};
  denied.fetch_add(1, std::memory_order_relaxed);
  return Decision{false, DenyReason::kRate, RetrySeconds(r->at(1).integer()), {}};
}

int64_t RedisLimits::SpentToday(int64_t now_ms) const {
  const int64_t now = SteadyMs();
  if (now - spent_read_at_.load(std::memory_order_acquire) < redis_options_.token_cache_ms) {
    return spent_cached_.load(std::memory_order_relaxed);
  }
  const std::string key = link_->Key("limits:tokens");
  Result<RedisReply> r = link_->Eval(TokensScript(), {key}, {"0"});
  if (!r.ok() || !r->is_integer()) {
    CountFallback(r.ok() ? Internal("redis_limits", "unexpected reply to the tokens script") : r.status());
    return local_->TokensSpentToday(now_ms);
  }
  spent_cached_.store(r->integer(), std::memory_order_relaxed);
  spent_read_at_.store(now, std::memory_order_release);
  return r->integer();
}

bool RedisLimits::TokenBudgetSpent(int64_t now_ms) const {
  return options_.daily_token_budget > 0 && SpentToday(now_ms) >= options_.daily_token_budget;
}

int64_t RedisLimits::TokensSpentToday(int64_t now_ms) const { return SpentToday(now_ms); }

void RedisLimits::SpendTokens(int64_t tokens, int64_t now_ms) {
  if (tokens <= 0) return;
  const std::string key = link_->Key("limits:tokens"), tokens_arg = std::to_string(tokens);
  Result<RedisReply> r = link_->Eval(TokensScript(), {key}, {tokens_arg});
  if (!r.ok() || !r->is_integer()) {
    CountFallback(r.ok() ? Internal("redis_limits", "unexpected reply to the tokens script") : r.status());
    local_->SpendTokens(tokens, now_ms);
    return;
  }
  spent_cached_.store(r->integer(), std::memory_order_relaxed);
  spent_read_at_.store(SteadyMs(), std::memory_order_release);
}

Result<UpstreamSlot> RedisLimits::AcquireUpstreamSlot(const Deadline& deadline) {
  if (options_.max_concurrent_llm <= 0) return UpstreamSlot();
  const std::string key = link_->Key("limits:upstream");
  const std::string max_arg = std::to_string(options_.max_concurrent_llm);
  const std::string lease_arg = std::to_string(redis_options_.slot_lease_ms);
  milliseconds backoff(5);
  for (;;) {
    uint64_t releases_seen;
    {
      std::lock_guard<std::mutex> lock(slot_mu_);
      releases_seen = slot_releases_;
    }
    const uint64_t serial = serial_.fetch_add(1, std::memory_order_relaxed) + 1;
    const std::string member = Member(serial);
    Result<RedisReply> r = link_->Eval(TakeSlotScript(), {key}, {max_arg, lease_arg, member});
    if (!r.ok() || !r->is_integer()) {
      CountFallback(r.ok() ? Internal("redis_limits", "unexpected reply to the slot script") : r.status());
      return local_->AcquireUpstreamSlot(deadline);
    }
    if (r->integer() > 0) {
      RaiseTo(upstream_peak_, r->integer());
      return MakeSlot(this, 0, serial);
    }
    if (deadline.Expired()) {
      shed_.fetch_add(1, std::memory_order_relaxed);
      return Unavailable(Reason::kShed, "all upstream slots are busy; retry shortly");
    }
    // Another instance's release is seen only by asking again; this
    // process's own wakes the wait at once.
    std::unique_lock<std::mutex> lock(slot_mu_);
    slot_released_.wait_for(lock, std::clamp<milliseconds>(deadline.Remaining(), milliseconds(1), backoff),
                            [&] { return slot_releases_ != releases_seen; });
    backoff = std::min<milliseconds>(backoff * 2, milliseconds(50));
  }
}

void RedisLimits::ReleaseTicket(uint64_t client_hash, uint64_t serial) {
  tickets_held_.fetch_sub(1, std::memory_order_relaxed);
  // Best effort: a release that fails leaves the place to its lease.
  (void)link_->Command({"ZREM", ClientKey(client_hash, "run"), Member(serial)});
}

void RedisLimits::ReleaseSlot(uint64_t, uint64_t serial) {
  (void)link_->Command({"ZREM", link_->Key("limits:upstream"), Member(serial)});
  {
    std::lock_guard<std::mutex> lock(slot_mu_);
    ++slot_releases_;
  }
  slot_released_.notify_one();
}

int RedisLimits::ReclaimDead() { return local_->ReclaimDead(); }

LimitsSnapshot RedisLimits::Snapshot() const {
  LimitsSnapshot s = local_->Snapshot();
  s.upstream_capacity = options_.max_concurrent_llm;
  s.upstream_peak = std::max(s.upstream_peak, upstream_peak_.load(std::memory_order_relaxed));
  s.shed += shed_.load(std::memory_order_relaxed);
  s.requests_in_flight += tickets_held_.load(std::memory_order_relaxed);
  s.denied_rate += denied_rate_.load(std::memory_order_relaxed);
  s.denied_expensive += denied_expensive_.load(std::memory_order_relaxed);
  s.denied_concurrent += denied_concurrent_.load(std::memory_order_relaxed);
  s.denied_sessions += denied_sessions_.load(std::memory_order_relaxed);
  s.fallbacks += fallbacks_.load(std::memory_order_relaxed);
  if (options_.max_concurrent_llm > 0) {
    // Best effort: without Redis, local's count (this machine's fallback slots) stands.
    Result<RedisReply> r = link_->Eval(CountLiveScript(), {link_->Key("limits:upstream")}, {});
    if (r.ok() && r->is_integer()) s.upstream_in_use += r->integer();
  }
  return s;
}

}  // namespace folio
