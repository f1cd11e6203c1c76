// redis_link.h: folio's one way of talking to Redis (hiredis). A RedisLink is
// one Redis server as a process sees it: its address, the key prefix of this
// site, and one connection per calling thread (hiredis contexts are not
// thread-safe, and a per-thread connection needs no pool lock). Every call
// has a deadline (connect and command timeouts); a connection that failed is
// dropped, and while the server is unreachable calls fail fast (no connect
// attempt) until a backoff that doubles from backoff_min_ms to
// backoff_max_ms has passed, after which one thread probes again: folio
// resumes on its own when Redis comes back. Errors are values: Unavailable
// ("redis_unavailable") for I/O, timeouts and a server that refuses service
// (LOADING, MASTERDOWN, a full server's OOM); Internal("redis_error") for an
// error reply to a well-formed command, which a caller's bug would cause.
//
// Safe from any thread. A connection lives until its thread exits or its
// link is destroyed, whichever comes first. Make links after fork(), in the
// process that uses them (a child must not share its parent's sockets).
// The process should ignore SIGPIPE: hiredis writes with write(2), and a
// write to a connection the server has reset raises it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "redis_url.h"
#include "status.h"

struct redisReply;

namespace folio {

// One reply, owned. Nested replies (arrays) are views into their parent and
// live as long as it does.
class RedisReply {
 public:
  // A borrowed node of a reply tree, with the same accessors. Valid while the
  // RedisReply it came from lives.
  class View {
   public:
    explicit View(const redisReply* r) : r_(r) {}
    bool is_nil() const;
    bool is_integer() const;
    bool is_string() const;  // bulk or status string
    bool is_array() const;
    bool is_error() const;          // an error reply (a pipeline element's)
    int64_t integer() const;        // 0 unless is_integer()
    std::string_view str() const;   // "" unless is_string() or is_error()
    size_t size() const;            // array length; 0 unless is_array()
    View at(size_t i) const;        // REQUIRES: i < size()

   private:
    const redisReply* r_;  // nullptr for an empty reply: every accessor says "nothing"
  };

  RedisReply() = default;
  explicit RedisReply(redisReply* owned);  // takes ownership
  RedisReply(RedisReply&& other) noexcept;
  RedisReply& operator=(RedisReply&& other) noexcept;
  ~RedisReply();
  RedisReply(const RedisReply&) = delete;
  RedisReply& operator=(const RedisReply&) = delete;

  bool is_nil() const { return view().is_nil(); }
  bool is_integer() const { return view().is_integer(); }
  bool is_string() const { return view().is_string(); }
  bool is_array() const { return view().is_array(); }
  bool is_error() const { return view().is_error(); }
  int64_t integer() const { return view().integer(); }
  std::string_view str() const { return view().str(); }  // the message of an error reply
  size_t size() const { return view().size(); }
  // Element i of an array (a view, valid while this reply lives).
  View at(size_t i) const { return view().at(i); }
  View view() const { return View(reply_); }

 private:
  redisReply* reply_ = nullptr;
};

// A Lua script, loaded lazily: EVALSHA, and EVAL once on NOSCRIPT (after a
// Redis restart or SCRIPT FLUSH).
struct RedisScript {
  explicit RedisScript(std::string body);
  std::string body;
  std::string sha1;  // hex, computed from body
};

// What /api/health and /metrics show of the link, for this process.
struct RedisLinkStats {
  bool up = true;             // false from a failed connection or I/O until a call succeeds
  std::string last_error;     // the last connection or I/O error (never a password)
  int64_t down_since_ms = 0;  // unix ms; 0 while up
  uint64_t commands = 0;      // calls made (a pipeline or script counts 1; a fail-fast one too)
  uint64_t errors = 0;        // of which failed (any Status, fail-fast included)
  uint64_t reconnects = 0;    // connections a thread opened to replace one it had lost
  uint64_t latency_sum_us = 0;  // of the calls that reached the network
};

class RedisLink {
 public:
  using Args = std::vector<std::string_view>;
  // Sees every call: ok, and its duration in seconds, connecting included
  // (metrics); -1 for a call that failed fast without reaching the network.
  using Observer = std::function<void(bool ok, double seconds)>;

  explicit RedisLink(RedisOptions options);
  // Closes the connections this link's threads opened. REQUIRES: no call on
  // this link is running (as for any object being destroyed).
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  // prefix + suffix: every key folio names goes through it.
  std::string Key(std::string_view suffix) const { return options_.prefix + std::string(suffix); }
  const RedisOptions& options() const { return options_; }

  // One command, on this thread's connection, within command_timeout_ms (or
  // timeout_ms when > 0: XREAD BLOCK and friends pass their own). An error
  // reply is a failed Status (Unavailable or Internal, above).
  Result<RedisReply> Command(const Args& args, int64_t timeout_ms = 0);
  // Several commands in one round trip; replies in order. An error reply to
  // one command is that element's reply (check is_error()), not a failed
  // Status: only I/O, a timeout or the link being down fail the whole call.
  Result<std::vector<RedisReply>> Pipeline(const std::vector<Args>& commands);
  // EVALSHA script keys args, falling back to EVAL on NOSCRIPT. Keys are
  // passed as given (name them with Key()).
  Result<RedisReply> Eval(const RedisScript& script, const Args& keys, const Args& args);

  // Whether calls fail fast now (down and inside the backoff).
  bool Down() const;
  RedisLinkStats Stats() const;
  void SetObserver(Observer observer);  // call before any thread uses the link

 private:
  struct Conn;
  struct Shared;
  struct ThreadConns;  // a thread's connections, one per link it has used
  Conn* ThreadConn(Status* why);  // this thread's connection, connecting if needed
  void DropThreadConn();          // frees this thread's connection (after an I/O error)
  // One call under the link's rules: fail fast while down, connect, run
  // `body` on the connection within timeout_ms (0: command_timeout_ms),
  // mark the link down or up, count it, tell the observer.
  Status RoundTrip(int64_t timeout_ms, const std::function<Status(Conn*)>& body);
  RedisOptions options_;
  std::shared_ptr<Shared> shared_;
  uint64_t id_;  // keys this link's connections in each thread's table; never reused
};

}  // namespace folio
