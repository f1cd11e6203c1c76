// redis_url.h: where folio's Redis is and how to talk to it (RedisOptions),
// and the redis:// URL an operator writes it as. The URL is the one place a
// Redis password appears in configuration, so nothing here ever puts it in
// a message: RedactRedisUrl() is what logs and health pages show.
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "status.h"

namespace folio {

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string user;      // ACL user (Redis 6+); empty: the default user
  std::string password;  // AUTH; empty: none. Never logged.
  std::string prefix;    // prepended to every key folio names (STATE_PREFIX)
  int64_t connect_timeout_ms = 250;  // TCP connect, then each of AUTH and SELECT
  int64_t command_timeout_ms = 500;  // each reply (without a longer per-call one)
  int64_t backoff_min_ms = 100;      // fail fast this long after the link goes down...
  int64_t backoff_max_ms = 5000;     // ...doubling after each failed probe up to this
};

// Parses redis://[[user]:password@]host[:port][/db] (port 6379 and db 0 by
// default; user and password percent-decoded; an IPv6 host in brackets).
// InvalidArgument("bad_redis_url") with a message that never repeats the
// password. rediss:// is refused: Debian 12's hiredis has no TLS.
Result<RedisOptions> ParseRedisUrl(std::string_view url);
// The URL with any password replaced by "***", for logs and health pages.
std::string RedactRedisUrl(std::string_view url);

}  // namespace folio
