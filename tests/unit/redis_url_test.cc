// redis_url_test.cc: redis:// URLs that parse (and into what), URLs that do
// not (and that no message repeats a password), and their redaction.
#include "redis_url.h"

#include <gtest/gtest.h>

namespace folio {
namespace {

struct GoodUrl {
  const char* url;
  const char* host;
  int port;
  int db;
  const char* user;
  const char* password;
};

TEST(RedisUrlTest, ParsesGoodUrls) {
  const GoodUrl cases[] = {
      {"redis://127.0.0.1", "127.0.0.1", 6379, 0, "", ""},
      {"redis://localhost:6380/2", "localhost", 6380, 2, "", ""},
      {"redis://redis.internal-1.example:1/", "redis.internal-1.example", 1, 0, "", ""},
      {"REDIS://h:65535/15", "h", 65535, 15, "", ""},
      {"redis://:hunter2@h:1234/0", "h", 1234, 0, "", "hunter2"},
      {"redis://alice:p%40ss%2Fw%3a@h/3", "h", 6379, 3, "alice", "p@ss/w:"},
      {"redis://al%20ice:pw@h", "h", 6379, 0, "al ice", "pw"},
      {"redis://u:pa@ss/w?@h:7", "h", 7, 0, "u", "pa@ss/w?"},  // unescaped: the last '@' ends it
      {"redis://[::1]:6390/1", "::1", 6390, 1, "", ""},
      {"redis://[fe80::1:2]", "fe80::1:2", 6379, 0, "", ""},
      {"redis://:pw@[::1]:6390", "::1", 6390, 0, "", "pw"},
  };
  for (const GoodUrl& c : cases) {
    SCOPED_TRACE(c.url);
    Result<RedisOptions> o = ParseRedisUrl(c.url);
    ASSERT_TRUE(o.ok()) << o.status().ToString();
    EXPECT_EQ(o->host, c.host);
    EXPECT_EQ(o->port, c.port);
    EXPECT_EQ(o->db, c.db);
    EXPECT_EQ(o->user, c.user);
    EXPECT_EQ(o->password, c.password);
  }
}

struct BadUrl {
  const char* url;
  const char* says;  // a part of the message
};

TEST(RedisUrlTest, RefusesBadUrlsWithoutRepeatingThePassword) {
  const BadUrl cases[] = {
      {"", "redis://"},
      {"127.0.0.1:6379", "redis://"},
      {"http://:hunter2@h", "redis://"},
      {"rediss://:hunter2@h:6380", "stunnel"},
      {"redis://", "no host"},
      {"redis://:hunter2@:6379", "no host"},
      {"redis://h:0", "port"},
      {"redis://h:65536", "port"},
      {"redis://h:123456", "port"},
      {"redis://h:abc", "port"},
      {"redis://h:", "port"},
      {"redis://h:-1", "port"},
      {"redis://h/x", "database"},
      {"redis://h/-1", "database"},
      {"redis://h/1/2", "database"},
      {"redis://::1:6379", "brackets"},
      {"redis://[::1:6379", "]"},
      {"redis://[::1]x", "port"},
      {"redis://[no-v6]:1", "IPv6"},
      {"redis://hunter2@h", "USER:PASSWORD"},
      {"redis://:@h", "empty"},
      {"redis://:hunter2%zz@h", "%-escape"},
      {"redis://:hunter2%2@h", "%-escape"},
      {"redis://:hunter2@h?db=1", "query"},
      {"redis://:hunter2@h h", "host"},
  };
  for (const BadUrl& c : cases) {
    SCOPED_TRACE(c.url);
    Result<RedisOptions> o = ParseRedisUrl(c.url);
    ASSERT_FALSE(o.ok());
    EXPECT_EQ(o.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(o.status().error(), "bad_redis_url");
    EXPECT_NE(o.status().message().find(c.says), std::string::npos) << o.status().message();
    EXPECT_EQ(o.status().message().find("hunter2"), std::string::npos) << o.status().message();
  }
}

TEST(RedisUrlTest, TlsUrlSaysWhyAndWhatToDo) {
  Result<RedisOptions> o = ParseRedisUrl("rediss://h:6380");
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("hiredis"), std::string::npos);
  EXPECT_NE(o.status().message().find("TLS"), std::string::npos);
  EXPECT_NE(o.status().message().find("stunnel"), std::string::npos);
}

TEST(RedisUrlTest, RedactionHidesOnlyThePassword) {
  const std::pair<const char*, const char*> cases[] = {
      {"redis://:hunter2@h:1/0", "redis://:***@h:1/0"},
      {"redis://alice:hunter2@h", "redis://alice:***@h"},
      {"redis://u:pa@ss/w@h:7/1", "redis://u:***@h:7/1"},
      {"redis://hunter2@h", "redis://***@h"},
      {"redis://h:6379/0", "redis://h:6379/0"},
      {"rediss://:hunter2@h", "rediss://:***@h"},
      {"not a url", "not a url"},
  };
  for (const auto& [url, redacted] : cases) EXPECT_EQ(RedactRedisUrl(url), redacted) << url;
}

}  // namespace
}  // namespace folio
