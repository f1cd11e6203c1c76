// redis_link.cc: the one file of folio that includes <hiredis/hiredis.h>; it
// turns hiredis's errors and Redis's error replies into folio Statuses.
//
// Design notes:
// - Connections. Each thread has a table (ThreadConns): link id → that
//   thread's connection to the link's server. The connection itself is
//   owned by the link's Shared state, in a registry whose mutex is taken
//   only to add or free one, so that whichever ends first frees it: the
//   thread (its table's destructor finds the link still alive through a
//   weak_ptr and frees the connection) or the link (~Shared frees every
//   connection still registered; the thread's entry, its weak_ptr expired,
//   is swept the next time that thread adds one). Link ids come from a
//   process-wide counter and are never reused, so a stale entry is never
//   taken for a new link's.
// - Down and backoff (RedisHealth). An I/O error or timeout frees the
//   thread's connection and marks the link down, which raises the epoch:
//   every other thread drops its connection made before (likely dead too:
//   the server restarted) on its next call, instead of failing on it and
//   marking the link down again. While down, calls fail fast; after each
//   backoff one call probes, connecting afresh.
// - Deadlines. hiredis 0.14 is blocking: connect_timeout_ms bounds the TCP
//   connect (then each of AUTH and SELECT), and SO_RCVTIMEO/SO_SNDTIMEO
//   (redisSetTimeout) bound each read and write of a call. A server that
//   trickled a reply a byte at a time could stretch a call past it; a
//   paused, hung or vanished one cannot.
// - Error replies from a server in trouble (LOADING, BUSY, OOM, ...) are
//   Unavailable but do not mark the link down: the connection is sound and
//   the next call may well succeed.
#include "redis_link.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <unordered_map>

#include "redis_health.h"
#include "sha256.h"

namespace folio {

namespace {

std::atomic<uint64_t> next_link_id{1};

// A timeout for hiredis and setsockopt, at least 1 ms: a zero timeval would
// mean "wait forever" to SO_RCVTIMEO.
timeval Tv(int64_t ms) {
  ms = std::max<int64_t>(ms, 1);
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  return tv;
}

// Error replies that mean "not now" rather than "wrong command": the
// server is starting, failing over, busy with a script, full, a replica,
// or wants the password the URL did not give.
bool RefusesService(std::string_view error) {
  const std::string_view word = error.substr(0, error.find(' '));
  for (std::string_view refusal :
       {"LOADING", "MASTERDOWN", "BUSY", "OOM", "READONLY", "TRYAGAIN", "CLUSTERDOWN", "NOAUTH"})
    if (word == refusal) return true;
  return false;
}

// A vector of argv pointers and lengths for hiredis, over `args`.
struct Argv {
  explicit Argv(const RedisLink::Args& args) {
    ptrs.reserve(args.size());
    lens.reserve(args.size());
    for (std::string_view a : args) ptrs.push_back(a.data()), lens.push_back(a.size());
  }
  int argc() const { return static_cast<int>(ptrs.size()); }
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
};

redisReply* Send(redisContext* ctx, const RedisLink::Args& args) {
  Argv argv(args);
  return static_cast<redisReply*>(redisCommandArgv(ctx, argv.argc(), argv.ptrs.data(), argv.lens.data()));
}

}  // namespace

// ---- replies ----

RedisReply::RedisReply(redisReply* owned) : reply_(owned) {}
RedisReply::RedisReply(RedisReply&& other) noexcept : reply_(other.reply_) { other.reply_ = nullptr; }
RedisReply& RedisReply::operator=(RedisReply&& other) noexcept {
  if (this != &other) {
    if (reply_) freeReplyObject(reply_);
    reply_ = other.reply_;
    other.reply_ = nullptr;
  }
  return *this;
}
RedisReply::~RedisReply() {
  if (reply_) freeReplyObject(reply_);
}

bool RedisReply::View::is_nil() const { return r_ && r_->type == REDIS_REPLY_NIL; }
bool RedisReply::View::is_integer() const { return r_ && r_->type == REDIS_REPLY_INTEGER; }
bool RedisReply::View::is_string() const {
  return r_ && (r_->type == REDIS_REPLY_STRING || r_->type == REDIS_REPLY_STATUS);
}
bool RedisReply::View::is_array() const { return r_ && r_->type == REDIS_REPLY_ARRAY; }
bool RedisReply::View::is_error() const { return r_ && r_->type == REDIS_REPLY_ERROR; }
int64_t RedisReply::View::integer() const { return is_integer() ? r_->integer : 0; }
std::string_view RedisReply::View::str() const {
  return is_string() || is_error() ? std::string_view(r_->str, r_->len) : std::string_view();
}
size_t RedisReply::View::size() const { return is_array() ? r_->elements : 0; }
RedisReply::View RedisReply::View::at(size_t i) const { return View(i < size() ? r_->element[i] : nullptr); }

RedisScript::RedisScript(std::string body_in) : body(std::move(body_in)), sha1(Sha1Hex(body)) {}

// ---- connections and the link's shared state ----

struct RedisLink::Conn {
  explicit Conn(redisContext* c, uint64_t e) : ctx(c), epoch(e) {}
  ~Conn() { redisFree(ctx); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  redisContext* ctx;
  const uint64_t epoch;     // the link's epoch when it connected
  int64_t timeout_ms = 0;   // what the socket's SO_RCVTIMEO is now
  bool broken = false;      // an I/O error or timeout: free it, mark the link down
};

struct RedisLink::Shared {
  explicit Shared(const RedisOptions& o) : health(o.backoff_min_ms, o.backoff_max_ms) {}

  // Registry of every connection of this link, any thread's.
  std::mutex conns_mu;
  std::unordered_map<Conn*, std::unique_ptr<Conn>> conns;

  RedisHealth health;
  std::atomic<uint64_t> commands{0}, errors{0}, reconnects{0}, latency_sum_us{0};
  Observer observer;

  Conn* Adopt(std::unique_ptr<Conn> conn) {
    Conn* raw = conn.get();
    std::lock_guard<std::mutex> lock(conns_mu);
    conns.emplace(raw, std::move(conn));
    return raw;
  }
  void Release(Conn* conn) {
    std::unique_ptr<Conn> gone;  // freed outside the lock
    std::lock_guard<std::mutex> lock(conns_mu);
    auto it = conns.find(conn);
    if (it != conns.end()) gone = std::move(it->second), conns.erase(it);
  }
};

struct RedisLink::ThreadConns {
  struct Entry {
    std::weak_ptr<Shared> shared;
    Conn* conn = nullptr;     // owned by *shared's registry
    bool connected = false;   // once: a later connection counts as a reconnect
  };
  std::unordered_map<uint64_t, Entry> entries;  // by link id

  ~ThreadConns() {
    for (auto& [id, e] : entries)
      if (std::shared_ptr<Shared> shared = e.shared.lock(); shared && e.conn) shared->Release(e.conn);
  }
  // Entries of links destroyed since: their connections were freed with them.
  void Sweep() {
    for (auto it = entries.begin(); it != entries.end();)
      it = it->second.shared.expired() ? entries.erase(it) : std::next(it);
  }
  static ThreadConns& Mine() {
    thread_local ThreadConns conns;
    return conns;
  }
};

namespace {

std::string Where(const RedisOptions& o) { return o.host + ":" + std::to_string(o.port); }

// One command during connection setup (AUTH, SELECT). Empty on success,
// otherwise why it failed.
std::string SetupCommand(redisContext* ctx, const RedisLink::Args& args, const std::string& what) {
  RedisReply reply(Send(ctx, args));
  if (reply.view().is_error()) return what + " was refused: " + std::string(reply.str());
  if (ctx->err) return what + " failed: " + ctx->errstr;
  return "";
}

// A new connection: connect, AUTH, SELECT, each within connect_timeout_ms.
Result<redisContext*> Connect(const RedisOptions& o) {
  redisContext* ctx = redisConnectWithTimeout(o.host.c_str(), o.port, Tv(o.connect_timeout_ms));
  if (ctx == nullptr) return Unavailable("redis_unavailable", "cannot allocate a Redis connection");
  std::string why;
  if (ctx->err) {
    why = std::string("cannot connect to ") + Where(o) + ": " + ctx->errstr;
  } else if (redisSetTimeout(ctx, Tv(o.connect_timeout_ms)) != REDIS_OK) {
    why = "cannot set the socket timeout for " + Where(o);
  } else if (!o.password.empty()) {
    const std::string user = o.user.empty() ? "" : " as user '" + o.user + "'";
    why = o.user.empty() ? SetupCommand(ctx, {"AUTH", o.password}, "AUTH" + user)
                         : SetupCommand(ctx, {"AUTH", o.user, o.password}, "AUTH" + user);
    if (!why.empty()) why = "Redis at " + Where(o) + ": " + why + " (check the password in the URL)";
  }
  if (why.empty() && o.db != 0) {
    const std::string db = std::to_string(o.db);
    why = SetupCommand(ctx, {"SELECT", db}, "SELECT " + db);
    if (!why.empty()) why = "Redis at " + Where(o) + ": " + why;
  }
  if (!why.empty()) {
    redisFree(ctx);
    return Unavailable("redis_unavailable", why);
  }
  return ctx;
}

// Sets the socket's read and write timeouts when they differ from `ms`.
bool UseTimeout(redisContext* ctx, int64_t* current_ms, int64_t ms) {
  if (*current_ms == ms) return true;
  if (redisSetTimeout(ctx, Tv(ms)) != REDIS_OK) return false;
  *current_ms = ms;
  return true;
}

}  // namespace

RedisLink::RedisLink(RedisOptions options)
    : options_(std::move(options)), shared_(std::make_shared<Shared>(options_)), id_(next_link_id.fetch_add(1)) {}

// Frees the registry (and with it every connection) unless a thread that is
// exiting holds the state a moment longer; it frees the rest then.
RedisLink::~RedisLink() = default;

RedisLink::Conn* RedisLink::ThreadConn(Status* why) {
  ThreadConns& mine = ThreadConns::Mine();
  auto it = mine.entries.find(id_);
  if (it == mine.entries.end()) {
    mine.Sweep();
    it = mine.entries.emplace(id_, ThreadConns::Entry{shared_, nullptr, false}).first;
  }
  ThreadConns::Entry& entry = it->second;
  const uint64_t epoch = shared_->health.epoch();
  if (entry.conn && entry.conn->epoch != epoch) DropThreadConn();  // made before the link went down
  if (entry.conn) return entry.conn;

  Result<redisContext*> ctx = Connect(options_);
  if (!ctx.ok()) {
    *why = ctx.status();
    return nullptr;
  }
  if (entry.connected) shared_->reconnects.fetch_add(1);
  entry.connected = true;
  auto conn = std::make_unique<Conn>(*ctx, epoch);
  conn->timeout_ms = options_.connect_timeout_ms;
  entry.conn = shared_->Adopt(std::move(conn));
  return entry.conn;
}

void RedisLink::DropThreadConn() {
  ThreadConns& mine = ThreadConns::Mine();
  auto it = mine.entries.find(id_);
  if (it == mine.entries.end() || it->second.conn == nullptr) return;
  shared_->Release(it->second.conn);
  it->second.conn = nullptr;
}

Status RedisLink::RoundTrip(int64_t timeout_ms, const std::function<Status(Conn*)>& body) {
  Shared& s = *shared_;
  s.commands.fetch_add(1, std::memory_order_relaxed);
  bool probe = false;
  if (!s.health.MayTry(&probe)) {
    s.errors.fetch_add(1, std::memory_order_relaxed);
    if (s.observer) s.observer(false, -1);
    const RedisHealth::Snapshot h = s.health.Read();
    return Unavailable("redis_unavailable", "Redis at " + Where(options_) + " is down (" + h.last_error +
                                                "); next attempt in " + std::to_string(h.next_attempt_in_ms) + " ms");
  }

  const auto start = std::chrono::steady_clock::now();
  const uint64_t epoch = s.health.epoch();
  Status status;
  Conn* conn = ThreadConn(&status);
  if (conn == nullptr) {
    s.health.MarkDown(epoch, probe, status.message());
  } else {
    const int64_t ms = timeout_ms > 0 ? timeout_ms : options_.command_timeout_ms;
    if (!UseTimeout(conn->ctx, &conn->timeout_ms, ms)) {
      conn->broken = true;
      status = Unavailable("redis_unavailable", "cannot set the socket timeout for " + Where(options_));
    } else {
      status = body(conn);
    }
    if (conn->broken) {
      const uint64_t conn_epoch = conn->epoch;
      DropThreadConn();
      s.health.MarkDown(conn_epoch, probe, status.message());
    } else {
      s.health.MarkUp();
    }
  }

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  s.latency_sum_us.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
  if (!status.ok()) s.errors.fetch_add(1, std::memory_order_relaxed);
  if (s.observer) s.observer(status.ok(), seconds);
  return status;
}

namespace {

// The Status of a lost connection: after it, the context is unusable.
Status IoFailure(const RedisOptions& o, redisContext* ctx, int64_t timeout_ms) {
  const std::string err = ctx->errstr;
  // A read that hit SO_RCVTIMEO reports EAGAIN's text.
  if (ctx->err == REDIS_ERR_IO && (err.find("temporarily unavailable") != std::string::npos ||
                                   err.find("timed out") != std::string::npos))
    return Unavailable("redis_unavailable",
                       "Redis at " + Where(o) + " did not answer within " + std::to_string(timeout_ms) + " ms");
  return Unavailable("redis_unavailable", "Redis at " + Where(o) + ": " + (err.empty() ? "connection lost" : err));
}

// An error reply to a command as a Status.
Status ErrorReply(std::string_view command, std::string_view error) {
  const std::string what = "Redis answered " + std::string(command) + " with: " + std::string(error);
  return RefusesService(error) ? Unavailable("redis_unavailable", what) : Internal("redis_error", what);
}

}  // namespace

Result<RedisReply> RedisLink::Command(const Args& args, int64_t timeout_ms) {
  if (args.empty()) return InvalidArgument("redis_error", "an empty Redis command");
  RedisReply reply;
  Status status = RoundTrip(timeout_ms, [&](Conn* conn) {
    redisReply* r = Send(conn->ctx, args);
    if (r == nullptr) {
      conn->broken = true;
      return IoFailure(options_, conn->ctx, conn->timeout_ms);
    }
    reply = RedisReply(r);
    return reply.is_error() ? ErrorReply(args[0], reply.str()) : Status::Ok();
  });
  if (!status.ok()) return status;
  return reply;
}

Result<std::vector<RedisReply>> RedisLink::Pipeline(const std::vector<Args>& commands) {
  std::vector<RedisReply> replies;
  if (commands.empty()) return replies;
  Status status = RoundTrip(0, [&](Conn* conn) {
    for (const Args& args : commands) {
      Argv argv(args);
      if (redisAppendCommandArgv(conn->ctx, argv.argc(), argv.ptrs.data(), argv.lens.data()) != REDIS_OK) {
        conn->broken = true;  // replies to what was appended would be read by the next call
        return Unavailable("redis_unavailable", "cannot queue a Redis command");
      }
    }
    replies.reserve(commands.size());
    for (size_t i = 0; i < commands.size(); ++i) {
      void* r = nullptr;
      if (redisGetReply(conn->ctx, &r) != REDIS_OK || r == nullptr) {
        conn->broken = true;
        return IoFailure(options_, conn->ctx, conn->timeout_ms);
      }
      replies.emplace_back(static_cast<redisReply*>(r));
    }
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return replies;
}

Result<RedisReply> RedisLink::Eval(const RedisScript& script, const Args& keys, const Args& args) {
  const std::string numkeys = std::to_string(keys.size());
  Args argv = {"EVALSHA", script.sha1, numkeys};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  RedisReply reply;
  Status status = RoundTrip(0, [&](Conn* conn) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      redisReply* r = Send(conn->ctx, argv);
      if (r == nullptr) {
        conn->broken = true;
        return IoFailure(options_, conn->ctx, conn->timeout_ms);
      }
      reply = RedisReply(r);
      // The server does not know the script (restarted, SCRIPT FLUSH): send
      // its body once, which also caches it for the next EVALSHA.
      if (attempt == 0 && reply.is_error() && reply.str().substr(0, 8) == "NOSCRIPT") {
        argv[0] = "EVAL";
        argv[1] = script.body;
        continue;
      }
      break;
    }
    return reply.is_error() ? ErrorReply(argv[0], reply.str()) : Status::Ok();
  });
  if (!status.ok()) return status;
  return reply;
}

bool RedisLink::Down() const { return shared_->health.FailingFast(); }

RedisLinkStats RedisLink::Stats() const {
  const Shared& s = *shared_;
  const RedisHealth::Snapshot h = s.health.Read();
  RedisLinkStats stats;
  stats.up = h.up;
  stats.last_error = h.last_error;
  stats.down_since_ms = h.down_since_ms;
  stats.commands = s.commands.load(std::memory_order_relaxed);
  stats.errors = s.errors.load(std::memory_order_relaxed);
  stats.reconnects = s.reconnects.load(std::memory_order_relaxed);
  stats.latency_sum_us = s.latency_sum_us.load(std::memory_order_relaxed);
  return stats;
}

void RedisLink::SetObserver(Observer observer) { shared_->observer = std::move(observer); }

}  // namespace folio
