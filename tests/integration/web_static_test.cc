// web_static_test.cc: how nginx serves the chat page, the widget and their
// files (nginx/folio_web.conf, published by scripts/web-render): content
// types, cache lifetimes (no-cache for the HTML and the loader, a year for
// versioned assets), pre-compressed gzip, a strict CSP with no third-party
// origin, framing only for the widget's frame and only by CORS_ORIGINS,
// site.json readable across origins by listed sites only, HTTP/2 on the TLS
// port, the first-load budget of 30 kB gzipped, and a bad site file
// stopping start-up.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "stack_suite.h"

namespace folio::test {
namespace {

constexpr char kListed[] = "https://portfolio.example";

HttpOptions Gzip(std::map<std::string, std::string> more = {}) {
  more["Accept-Encoding"] = "gzip";
  return {more};
}

class WebStaticTest : public StackSuite {
 protected:
  static void SetUpTestSuite() { StartStack({{"CORS_ORIGINS", std::string(kListed) + ",http://127.0.0.1:9"}}); }

  // The page's own files: every /assets/… it names, in order.
  static std::vector<std::string> AssetsOf(const std::string& html) {
    std::vector<std::string> out;
    std::regex ref(R"re((?:href|src)="(/assets/[^"]+)")re");
    for (std::sregex_iterator it(html.begin(), html.end(), ref), end; it != end; ++it) out.push_back((*it)[1]);
    return out;
  }
};

TEST_F(WebStaticTest, PageIsHtmlRevalidatedAndStrictlyConfined) {
  HttpResponse r = stack_->Get("/");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.Header("cache-control"), "no-cache");
  EXPECT_FALSE(r.Header("etag").empty());
  EXPECT_EQ(r.Header("x-frame-options"), "DENY");
  const std::string csp = r.Header("content-security-policy");
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("http"), std::string::npos) << "no third-party origin: " << csp;
  // Nothing the page loads comes from elsewhere, and nothing is inline.
  EXPECT_EQ(r.body.find("://"), std::string::npos);
  EXPECT_EQ(r.body.find("<script>"), std::string::npos);
  EXPECT_EQ(r.body.find("style="), std::string::npos);
  EXPECT_NE(r.body.find("<html lang=\"en\">"), std::string::npos);
}

TEST_F(WebStaticTest, VersionedAssetsAreCachedForAYearAndSentCompressed) {
  std::vector<std::string> assets = AssetsOf(stack_->Get("/").body);
  ASSERT_GE(assets.size(), 3u);
  for (const std::string& path : assets) {
    EXPECT_TRUE(std::regex_match(path, std::regex(R"(/assets/[0-9a-f]{12}/[a-z_]+\.(js|css|svg))"))) << path;
    HttpResponse r = stack_->Get(path, Gzip());
    ASSERT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.Header("cache-control"), "public, max-age=31536000, immutable") << path;
    EXPECT_EQ(r.Header("content-encoding"), "gzip") << path;
    EXPECT_EQ(r.Header("x-content-type-options"), "nosniff") << path;
  }
  EXPECT_EQ(stack_->Get(assets[0]).Header("content-encoding"), "") << "plain for a client without gzip";
  EXPECT_EQ(stack_->Get("/assets/000000000000/app.js").status, 404);
}

TEST_F(WebStaticTest, FirstLoadIsUnder30KbGzipped) {
  HttpResponse page = stack_->Get("/", Gzip());
  ASSERT_EQ(page.Header("content-encoding"), "gzip");
  size_t total = page.body.size();
  std::string plain = stack_->Get("/").body;
  std::vector<std::string> files = AssetsOf(plain);
  files.push_back("/site.json");
  for (const std::string& path : files) {
    HttpResponse r = stack_->Get(path, Gzip());
    ASSERT_EQ(r.status, 200) << path;
    total += r.body.size();
  }
  std::cout << "[ figure ] first load: " << files.size() + 1 << " files, " << total << " bytes gzipped\n";
  EXPECT_LE(total, 30u * 1024);
}

TEST_F(WebStaticTest, OnlyTheWidgetFrameMayBeFramedAndOnlyByListedSites) {
  HttpResponse r = stack_->Get("/widget.html");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, stack_->Get("/").body) << "the frame is the page";
  EXPECT_EQ(r.Header("x-frame-options"), "");
  EXPECT_NE(r.Header("content-security-policy").find(std::string("frame-ancestors ") + kListed + " http://127.0.0.1:9;"),
            std::string::npos)
      << r.Header("content-security-policy");
  HttpResponse loader = stack_->Get("/widget.js");
  ASSERT_EQ(loader.status, 200);
  EXPECT_EQ(loader.Header("content-type"), "application/javascript; charset=utf-8");
  EXPECT_EQ(loader.Header("cache-control"), "no-cache");
}

TEST_F(WebStaticTest, SiteSettingsAreReadableAcrossOriginsByListedSitesOnly) {
  HttpResponse listed = stack_->Get("/site.json", {{{"Origin", kListed}}});
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.Header("access-control-allow-origin"), kListed);
  EXPECT_EQ(listed.Header("cache-control"), "no-cache");
  EXPECT_EQ(listed.Json()["name"], "Ask about Maya");
  HttpResponse other = stack_->Get("/site.json", {{{"Origin", "https://elsewhere.example"}}});
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(other.Header("access-control-allow-origin"), "");
}

TEST_F(WebStaticTest, TlsPortSpeaksHttp2) {
  std::string out;
  ASSERT_EQ(RunCommand("curl -sk --http2 -o /dev/null -w '%{http_version}' https://127.0.0.1:" +
                           std::to_string(stack_->tls_port()) + "/",
                       &out),
            0)
      << out;
  EXPECT_EQ(out, "2");
}

TEST(WebSiteFileTest, BadSiteFileStopsStartUpNamingTheProblem) {
  const TempDir dir("folio-site");
  const std::string file = dir.path("site.json");
  std::ofstream(file) << R"({"name": "Ada", "accent": "blue"})";
  std::string error;
  auto stack = TestStack::Start({{"SITE_FILE", file}}, &error, std::chrono::seconds(10));
  EXPECT_EQ(stack, nullptr);
  EXPECT_NE(error.find("SITE_FILE"), std::string::npos) << error;
  EXPECT_NE(error.find("\"accent\" must be a colour"), std::string::npos) << error;
}

}  // namespace
}  // namespace folio::test
