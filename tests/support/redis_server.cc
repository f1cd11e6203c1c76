// redis_server.cc: see redis_server.h. Cli() talks to the server with
// hiredis directly rather than through RedisLink: the fixture is how tests
// check RedisLink, so it must not lean on it.
#include "redis_server.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <cctype>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "poll_until.h"
#include "stack.h"

namespace folio::test {

namespace {

constexpr char kRedisServer[] = "/usr/bin/redis-server";
constexpr std::chrono::seconds kStartWithin(10);
constexpr std::chrono::seconds kStopWithin(10);

std::string PercentEncode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

void AppendReply(const redisReply* r, std::string* out) {
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      *out += std::to_string(r->integer);
      break;
    case REDIS_REPLY_NIL:
      *out += "(nil)";
      break;
    case REDIS_REPLY_ARRAY:
      for (size_t i = 0; i < r->elements; ++i) {
        if (i > 0) *out += '\n';
        AppendReply(r->element[i], out);
      }
      break;
    default:
      out->append(r->str, r->len);
  }
}

}  // namespace

RedisServer::RedisServer(Options options) : options_(std::move(options)), dir_("folio-redis") {
  // A client writing to a connection this server reset (Stop, Kill) must
  // get EPIPE, not die of SIGPIPE: the test process is that client.
  std::signal(SIGPIPE, SIG_IGN);
  // A port FreePort() found free can be taken before redis-server binds it:
  // then another port, and only then.
  for (int attempt = 1; attempt <= 3; ++attempt) {
    port_ = FreePort();
    if (StartOnce()) return;
    if (Log().find("Address already in use") == std::string::npos || attempt == 3) break;
  }
  ADD_FAILURE() << "redis-server did not answer PING on port " << port_ << " within " << kStartWithin.count()
                << " s; its log:\n"
                << Log();
}

RedisServer::~RedisServer() { Stop(); }

bool RedisServer::Start() {
  if (StartOnce()) return true;
  ADD_FAILURE() << "redis-server did not start again on port " << port_ << "; its log:\n" << Log();
  return false;
}

void RedisServer::WriteConfig() const {
  std::ofstream conf(dir_.path("redis.conf"), std::ios::trunc);
  conf << "bind 127.0.0.1\n"
       << "port " << port_ << "\n"
       << "dir " << dir_.path() << "\n"
       << "daemonize no\n"
       << "supervised no\n"
       << "logfile \"\"\n"
       << "save \"\"\n"
       << "appendonly " << (options_.appendonly ? "yes" : "no") << "\n";
  if (options_.appendonly) conf << "appendfsync " << options_.appendfsync << "\n";
  if (!options_.requirepass.empty()) conf << "requirepass \"" << options_.requirepass << "\"\n";
  for (const std::string& line : options_.extra_config) conf << line << "\n";
}

bool RedisServer::StartOnce() {
  if (tree_.running()) {
    ADD_FAILURE() << "RedisServer::Start: already running";
    return false;
  }
  WriteConfig();
  ++starts_;
  const std::string conf = dir_.path("redis.conf");
  const ExecEnvironment environment(std::map<std::string, std::string>{});
  std::vector<char> binary(kRedisServer, kRedisServer + sizeof kRedisServer);
  std::vector<char> conf_arg(conf.begin(), conf.end());
  conf_arg.push_back('\0');
  char* const argv[] = {binary.data(), conf_arg.data(), nullptr};
  tree_.Spawn(argv, environment.envp(), dir_.path("redis-" + std::to_string(starts_) + ".log"));

  bool exited = false;
  const bool up = PollUntil(
      [&] {
        int status = 0;
        if (tree_.Exited(&status)) exited = true;
        if (exited) return true;
        Result<std::string> pong = Cli({"PING"});
        return pong.ok() && *pong == "PONG";
      },
      kStartWithin, std::chrono::milliseconds(10));
  if (up && !exited) return true;
  Kill();
  return false;
}

void RedisServer::Stop() {
  if (!tree_.running()) return;
  if (tree_.Terminate(kStopWithin) < 0) tree_.KillEverything();
}

void RedisServer::Kill() { tree_.KillEverything(); }

std::string RedisServer::url() const {
  const std::string auth = options_.requirepass.empty() ? "" : ":" + PercentEncode(options_.requirepass) + "@";
  return "redis://" + auth + "127.0.0.1:" + std::to_string(port_) + "/0";
}

RedisOptions RedisServer::LinkOptions() const {
  Result<RedisOptions> parsed = ParseRedisUrl(url());
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  RedisOptions options = parsed.ok() ? *parsed : RedisOptions();
  options.connect_timeout_ms = 200;
  options.command_timeout_ms = 500;
  options.backoff_min_ms = 100;
  options.backoff_max_ms = 400;
  return options;
}

std::string RedisServer::Log() const { return ReadFile(dir_.path("redis-" + std::to_string(starts_) + ".log")); }

Result<std::string> RedisServer::Cli(const std::vector<std::string>& args) const {
  const timeval timeout{5, 0};
  redisContext* ctx = redisConnectWithTimeout("127.0.0.1", port_, timeout);
  if (ctx == nullptr || ctx->err) {
    const std::string why = ctx ? ctx->errstr : "out of memory";
    if (ctx) redisFree(ctx);
    return Internal("redis_cli", "connect to 127.0.0.1:" + std::to_string(port_) + ": " + why);
  }
  redisSetTimeout(ctx, timeout);
  auto run = [ctx](const std::vector<std::string>& argv) -> Result<std::string> {
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (const std::string& a : argv) ptrs.push_back(a.data()), lens.push_back(a.size());
    auto* r = static_cast<redisReply*>(redisCommandArgv(ctx, static_cast<int>(argv.size()), ptrs.data(), lens.data()));
    if (r == nullptr) return Internal("redis_cli", std::string("I/O: ") + ctx->errstr);
    std::string text;
    AppendReply(r, &text);
    const bool error = r->type == REDIS_REPLY_ERROR;
    freeReplyObject(r);
    if (error) return Internal("redis_cli", text);
    return text;
  };
  Result<std::string> out = options_.requirepass.empty() ? Result<std::string>(std::string())
                                                         : run({"AUTH", options_.requirepass});
  if (out.ok()) out = run(args);
  redisFree(ctx);
  return out;
}

}  // namespace folio::test
