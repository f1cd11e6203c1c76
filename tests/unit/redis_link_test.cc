// redis_link_test.cc: RedisLink against a real redis-server of its own —
// round trips, scripts, AUTH and SELECT, the key prefix; a server that
// stops, hangs or comes back (fail fast, then resume on its own); one
// connection per thread, freed when the thread or the link goes.
#include "redis_link.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "redis_server.h"

namespace folio {
namespace {

using std::chrono::milliseconds;
using test::RedisServer;

int64_t MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start).count();
}

class RedisLinkTest : public ::testing::Test {
 protected:
  RedisServer server_;
};

TEST_F(RedisLinkTest, CommandsRoundTrip) {
  RedisLink link(server_.LinkOptions());
  Result<RedisReply> set = link.Command({"SET", "greeting", "hello"});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->str(), "OK");
  Result<RedisReply> get = link.Command({"GET", "greeting"});
  ASSERT_TRUE(get.ok());
  EXPECT_TRUE(get->is_string());
  EXPECT_EQ(get->str(), "hello");
  EXPECT_TRUE(link.Command({"GET", "missing"})->is_nil());
  EXPECT_EQ(link.Command({"INCRBY", "n", "41"})->integer(), 41);

  ASSERT_TRUE(link.Command({"RPUSH", "list", "a", std::string_view("b\0c", 3)}).ok());
  Result<RedisReply> range = link.Command({"LRANGE", "list", "0", "-1"});
  ASSERT_TRUE(range.ok());
  ASSERT_TRUE(range->is_array());
  ASSERT_EQ(range->size(), 2u);
  EXPECT_EQ(range->at(0).str(), "a");
  EXPECT_EQ(range->at(1).str(), std::string_view("b\0c", 3));  // binary-safe

  const RedisLinkStats stats = link.Stats();
  EXPECT_TRUE(stats.up);
  EXPECT_EQ(stats.commands, 6u);
  EXPECT_EQ(stats.errors, 0u);
}

TEST_F(RedisLinkTest, ErrorReplyIsAnInternalErrorAndKeepsTheLinkUp) {
  RedisLink link(server_.LinkOptions());
  ASSERT_TRUE(link.Command({"SET", "s", "text"}).ok());
  Result<RedisReply> incr = link.Command({"INCR", "s"});
  ASSERT_FALSE(incr.ok());
  EXPECT_EQ(incr.status().code(), Code::kInternal);
  EXPECT_EQ(incr.status().error(), "redis_error");
  EXPECT_NE(incr.status().message().find("not an integer"), std::string::npos) << incr.status().message();
  EXPECT_TRUE(link.Stats().up);
  EXPECT_FALSE(link.Down());
  EXPECT_EQ(link.Stats().errors, 1u);
  EXPECT_TRUE(link.Command({"GET", "s"}).ok());
}

TEST_F(RedisLinkTest, PipelineReturnsEveryReplyErrorsIncluded) {
  RedisLink link(server_.LinkOptions());
  Result<std::vector<RedisReply>> replies =
      link.Pipeline({{"SET", "p", "x"}, {"INCR", "p"}, {"GET", "p"}, {"EXISTS", "p", "q"}});
  ASSERT_TRUE(replies.ok()) << replies.status().ToString();
  ASSERT_EQ(replies->size(), 4u);
  EXPECT_EQ((*replies)[0].str(), "OK");
  EXPECT_TRUE((*replies)[1].is_error());
  EXPECT_NE((*replies)[1].str().find("not an integer"), std::string::npos);
  EXPECT_EQ((*replies)[2].str(), "x");
  EXPECT_EQ((*replies)[3].integer(), 1);
  EXPECT_EQ(link.Stats().commands, 1u);  // one round trip
  EXPECT_TRUE(link.Pipeline({})->empty());
}

TEST_F(RedisLinkTest, ScriptShaIsTheOneRedisComputes) {
  const RedisScript script("return 1");
  EXPECT_EQ(script.sha1, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
  const RedisScript other("return redis.call('GET', KEYS[1])");
  Result<std::string> loaded = server_.Cli({"SCRIPT", "LOAD", other.body});
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(*loaded, other.sha1);
}

TEST_F(RedisLinkTest, EvalRecoversFromScriptFlush) {
  RedisLink link(server_.LinkOptions());
  const RedisScript script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  Result<RedisReply> first = link.Eval(script, {"counter"}, {"5"});  // NOSCRIPT, then EVAL
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->integer(), 5);
  EXPECT_EQ(*server_.Cli({"SCRIPT", "EXISTS", script.sha1}), "1");  // EVAL cached it

  ASSERT_TRUE(server_.Cli({"SCRIPT", "FLUSH"}).ok());
  EXPECT_EQ(*server_.Cli({"SCRIPT", "EXISTS", script.sha1}), "0");
  Result<RedisReply> second = link.Eval(script, {"counter"}, {"2"});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->integer(), 7);
  Result<RedisReply> third = link.Eval(script, {"counter"}, {"1"});  // EVALSHA, known again
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->integer(), 8);
  EXPECT_EQ(link.Stats().errors, 0u);

  const RedisScript broken("return redis.call('NOSUCHCOMMAND')");
  Result<RedisReply> failed = link.Eval(broken, {}, {});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().error(), "redis_error");
}

TEST_F(RedisLinkTest, KeyPrefixNamesTheKeys) {
  RedisOptions options = server_.LinkOptions();
  options.prefix = "site1:";
  RedisLink link(options);
  EXPECT_EQ(link.Key("sessions"), "site1:sessions");
  ASSERT_TRUE(link.Command({"SET", link.Key("k"), "v"}).ok());
  EXPECT_EQ(*server_.Cli({"GET", "site1:k"}), "v");
}

TEST_F(RedisLinkTest, SelectsTheDatabase) {
  RedisOptions options = server_.LinkOptions();
  options.db = 3;
  RedisLink link3(options);
  ASSERT_TRUE(link3.Command({"SET", "only-in-3", "yes"}).ok());
  Result<RedisReply> info = link3.Command({"CLIENT", "INFO"});
  ASSERT_TRUE(info.ok());
  EXPECT_NE(info->str().find(" db=3 "), std::string::npos) << info->str();
  RedisLink link0(server_.LinkOptions());
  EXPECT_TRUE(link0.Command({"GET", "only-in-3"})->is_nil());

  options.db = 99;  // past the 16 databases of a default server
  RedisLink bad(options);
  Result<RedisReply> r = bad.Command({"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("SELECT 99"), std::string::npos) << r.status().message();
}

TEST_F(RedisLinkTest, PerCallTimeoutOutlastsTheCommandTimeout) {
  RedisLink link(server_.LinkOptions());  // command_timeout_ms 500
  const auto start = std::chrono::steady_clock::now();
  Result<RedisReply> r = link.Command({"XREAD", "BLOCK", "800", "STREAMS", "stream", "$"}, 3000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->is_nil());  // nothing arrived while it blocked
  EXPECT_GE(MsSince(start), 700);
  EXPECT_TRUE(link.Command({"PING"}).ok());  // and the command timeout is back
}

class RedisAuthTest : public ::testing::Test {
 protected:
  static RedisServer::Options WithPassword() {
    RedisServer::Options o;
    o.requirepass = "s3cret:p@ss";
    o.extra_config = {"user alice on >alice-pw ~* &* +@all"};
    return o;
  }
  RedisServer server_{WithPassword()};
};

TEST_F(RedisAuthTest, PasswordFromTheUrlIsAccepted) {
  EXPECT_NE(server_.url().find("s3cret%3Ap%40ss"), std::string::npos);
  RedisLink link(server_.LinkOptions());
  Result<RedisReply> r = link.Command({"SET", "k", "v"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

TEST_F(RedisAuthTest, AclUserLogsInAsItself) {
  RedisOptions options = server_.LinkOptions();
  options.user = "alice";
  options.password = "alice-pw";
  RedisLink link(options);
  Result<RedisReply> who = link.Command({"ACL", "WHOAMI"});
  ASSERT_TRUE(who.ok()) << who.status().ToString();
  EXPECT_EQ(who->str(), "alice");
}

TEST_F(RedisAuthTest, WrongPasswordIsAClearErrorWithoutThePassword) {
  RedisOptions options = server_.LinkOptions();
  options.password = "wrong-guess";
  RedisLink link(options);
  Result<RedisReply> r = link.Command({"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("AUTH was refused"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("password"), std::string::npos);
  EXPECT_EQ(r.status().message().find("wrong-guess"), std::string::npos);
  EXPECT_EQ(link.Stats().last_error.find("wrong-guess"), std::string::npos);
}

TEST_F(RedisAuthTest, MissingPasswordIsUnavailable) {
  RedisOptions options = server_.LinkOptions();
  options.password.clear();
  RedisLink link(options);
  Result<RedisReply> r = link.Command({"GET", "k"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("NOAUTH"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace folio
