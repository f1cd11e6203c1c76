// cors_test.cc: CORS_ORIGINS parsing (table-driven) and the headers for
// listed, unlisted and absent origins: exact matches only, nothing echoed.
#include "cors.h"

#include <gtest/gtest.h>

namespace folio {
namespace {

std::string Find(const HeaderList& headers, const std::string& name) {
  for (const auto& [n, v] : headers)
    if (n == name) return v;
  return "";
}

struct ParseCase {
  const char* list;
  bool ok;
  size_t origins;
  const char* problem;  // part of the message when !ok
};

class CorsParseTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(CorsParseTest, Parses) {
  const ParseCase& c = GetParam();
  Result<CorsPolicy> p = CorsPolicy::Parse(c.list);
  ASSERT_EQ(p.ok(), c.ok) << c.list << ": " << (p.ok() ? "ok" : p.status().message());
  if (c.ok) EXPECT_EQ(p->origins().size(), c.origins) << c.list;
  else EXPECT_NE(p.status().message().find(c.problem), std::string::npos) << p.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Table, CorsParseTest,
    ::testing::Values(ParseCase{"", true, 0, ""}, ParseCase{" , ,", true, 0, ""},
                      ParseCase{"https://app.example.com", true, 1, ""},
                      ParseCase{"https://app.example.com, http://localhost:5173 ,http://127.0.0.1:8080", true, 3, ""},
                      ParseCase{"http://[::1]:3000", true, 1, ""},
                      ParseCase{"https://a.example,https://a.example", true, 1, ""},  // duplicates collapse
                      ParseCase{"*", false, 0, "\"*\" is not supported"},
                      ParseCase{"null", false, 0, "never allowed"},
                      ParseCase{"app.example.com", false, 0, "http:// or https://"},
                      ParseCase{"ftp://app.example.com", false, 0, "http:// or https://"},
                      ParseCase{"https://app.example.com/", false, 0, "trailing slash"},
                      ParseCase{"https://app.example.com/path", false, 0, "path"},
                      ParseCase{"https://App.Example.com", false, 0, "lowercase"},
                      ParseCase{"https://app.example.com:443", false, 0, "default port"},
                      ParseCase{"http://app.example.com:80", false, 0, "default port"},
                      ParseCase{"https://app.example.com:99999", false, 0, "invalid port"},
                      ParseCase{"https://app.example.com:", false, 0, "empty port"},
                      ParseCase{"https://*.example.com", false, 0, "invalid host"},
                      ParseCase{"https://-bad.example", false, 0, "invalid host"},
                      ParseCase{"https://a..example", false, 0, "invalid host"},
                      ParseCase{"https://ok.example,https://bad.example/x", false, 0, "bad.example/x"}));

class CorsPolicyTest : public ::testing::Test {
 protected:
  CorsPolicy policy_ = std::move(CorsPolicy::Parse("https://app.example.com,http://localhost:5173").value());
};

TEST_F(CorsPolicyTest, ListedOriginIsAllowedWithVary) {
  HeaderList h = policy_.ResponseHeaders("https://app.example.com");
  EXPECT_EQ(Find(h, "Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(Find(h, "Vary"), "Origin");
  EXPECT_NE(Find(h, "Access-Control-Expose-Headers").find("X-Request-ID"), std::string::npos);
  EXPECT_EQ(Find(h, "Access-Control-Allow-Credentials"), "") << "keys travel in headers, never cookies";
}

TEST_F(CorsPolicyTest, UnlistedOriginsGetNoAccessControlHeader) {
  for (const char* origin : {"https://evil.example", "https://app.example.com.evil.net", "https://evil.net/app.example.com",
                             "http://app.example.com", "https://APP.EXAMPLE.COM", "https://app.example.com:443",
                             "https://app.example.com/", "null", "*", ""}) {
    HeaderList h = policy_.ResponseHeaders(origin);
    for (const auto& [name, value] : h) {
      EXPECT_NE(name.rfind("Access-Control-", 0), 0u) << origin << " got " << name;
      if (*origin) {
        EXPECT_EQ(value.find(origin), std::string::npos) << "echoed " << origin;
      }
    }
    EXPECT_EQ(Find(h, "Vary"), "Origin") << "the answer still depends on Origin";
    EXPECT_TRUE(policy_.PreflightHeaders(origin).empty()) << origin;
  }
}

TEST_F(CorsPolicyTest, PreflightNamesMethodsHeadersAndMaxAge) {
  HeaderList h = policy_.PreflightHeaders("http://localhost:5173");
  EXPECT_EQ(Find(h, "Access-Control-Allow-Methods"), "GET, POST, DELETE, OPTIONS");
  for (const char* header : {"Content-Type", "Authorization", "X-API-Key", "X-Request-ID"})
    EXPECT_NE(Find(h, "Access-Control-Allow-Headers").find(header), std::string::npos) << header;
  EXPECT_EQ(Find(h, "Access-Control-Max-Age"), "600");
}

TEST(CorsDisabledTest, EmptyListSendsNoHeaderAtAll) {
  CorsPolicy off = std::move(CorsPolicy::Parse("").value());
  EXPECT_FALSE(off.enabled());
  EXPECT_TRUE(off.ResponseHeaders("https://app.example.com").empty());
  EXPECT_TRUE(off.PreflightHeaders("https://app.example.com").empty());
}

}  // namespace
}  // namespace folio
