// redis_server.h: a private redis-server for one test or fixture — Debian's
// /usr/bin/redis-server on a free 127.0.0.1 port, its working directory
// (and AOF) in a fresh TempDir, its output in a log file there. It can be
// stopped, killed and started again on the same port and directory, as an
// operator's restart would. The destructor stops it by PID even when the
// test failed. Never the system's Redis service. Not thread-safe (Cli() is:
// each call opens its own connection).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "proc_util.h"
#include "redis_url.h"
#include "status.h"
#include "temp_dir.h"

namespace folio::test {

class RedisServer {
 public:
  struct Options {
    bool appendonly = false;
    std::string appendfsync = "always";  // with appendonly: every write on disk before its reply
    std::string requirepass;             // empty: no password
    std::vector<std::string> extra_config;  // more redis.conf lines ("maxmemory 1mb")
  };

  // Starts it; a test failure (with its log) if it does not answer PING.
  RedisServer() : RedisServer(Options()) {}
  explicit RedisServer(Options options);
  ~RedisServer();  // Stop()
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts it (again) on port() in dir() and waits until it answers PING.
  // False, with a test failure carrying its log, if it did not within 10 s.
  // REQUIRES: not running.
  bool Start();
  // SIGTERM (it writes and syncs its AOF), waits up to 10 s, then SIGKILL.
  void Stop();
  // SIGKILL and reap: a crash, nothing flushed that was not already.
  void Kill();

  bool running() const { return tree_.running(); }
  pid_t pid() const { return tree_.root(); }
  int port() const { return port_; }
  const std::string& dir() const { return dir_.path(); }
  // redis://[:PASSWORD@]127.0.0.1:PORT/0
  std::string url() const;
  // The output of its most recent start.
  std::string Log() const;

  // Options for a RedisLink to this server (from url()) with short
  // timeouts and backoff, so that failure tests take a second, not ten:
  // connect 200 ms, command 500 ms, backoff 100 ms doubling to 400 ms.
  RedisOptions LinkOptions() const;

  // One command on a connection of its own (AUTH first when it has a
  // password), within 5 s. The reply as text: a string or status as is, an
  // integer in decimal, nil as "(nil)", an array's elements one per line.
  // An error reply or a failed connection is an Internal status.
  Result<std::string> Cli(const std::vector<std::string>& args) const;

 private:
  bool StartOnce();
  void WriteConfig() const;

  Options options_;
  TempDir dir_;
  ProcessTree tree_;
  int port_ = 0;
  int starts_ = 0;
};

}  // namespace folio::test
