// search_test.cc: POST /api/search through the real stack on the sample KB,
// its errors, start-up verification of the index, and a live re-ingest
// under concurrent searches with zero failed requests.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "poll_until.h"
#include "stack_suite.h"

namespace folio::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

HttpResponse Search(const TestStack& stack, const std::string& body) {
  return stack.Post("/api/search", body);
}

std::string SearchBody(const std::string& query, int k = 5) {
  return nlohmann::json({{"query", query}, {"k", k}}).dump();
}

class SearchTest : public StackSuite {
 protected:
  static void SetUpTestSuite() { StartStack({{"RATE_LIMIT_RPS", "10000"}, {"RATE_LIMIT_BURST", "10000"}}); }
};

TEST_F(SearchTest, FindsTheFileThatAnswers) {
  struct Case {
    const char* query;
    const char* source;
  } cases[] = {{"How can I reach her by email?", "contact.md"},
               {"Tollgate rate limiter", "projects/tollgate.md"},
               {"Where did she study for her master's degree?", "education.md"}};
  for (const auto& c : cases) {
    HttpResponse r = Search(*stack_, SearchBody(c.query, 3));
    ASSERT_EQ(r.status, 200) << r.body;
    auto results = r.Json()["results"];
    ASSERT_FALSE(results.empty()) << c.query;
    bool found = false;
    for (const auto& hit : results) found |= hit["source"] == c.source;
    EXPECT_TRUE(found) << c.query << " → " << results.dump();
  }
}

TEST_F(SearchTest, ResultShape) {
  HttpResponse r = Search(*stack_, SearchBody("projects", 4));
  ASSERT_EQ(r.status, 200);
  auto body = r.Json();
  ASSERT_LE(body["results"].size(), 4u);
  ASSERT_GE(body["results"].size(), 1u);
  double previous = 2.0;
  for (const auto& hit : body["results"]) {
    EXPECT_TRUE(hit["source"].is_string());
    EXPECT_TRUE(hit["heading"].is_string());
    EXPECT_FALSE(hit["text"].get<std::string>().empty());
    double score = hit["score"];
    EXPECT_GT(score, 0.0);
    EXPECT_LE(score, 1.0);
    EXPECT_LE(score, previous);
    previous = score;
  }
  EXPECT_TRUE(body["took_ms"].is_number());
  EXPECT_EQ(body["kb_version"], stack_->Get("/api/health").Json()["checks"]["index"]["kb_version"]);
}

TEST_F(SearchTest, DefaultKIsTenAtMost) {
  HttpResponse r = Search(*stack_, R"({"query":"experience"})");
  ASSERT_EQ(r.status, 200);
  EXPECT_LE(r.Json()["results"].size(), 10u);
}

TEST_F(SearchTest, HealthHasIndexCheck) {
  auto index = stack_->Get("/api/health").Json()["checks"]["index"];
  EXPECT_EQ(index["status"], "ok");
  EXPECT_GE(index["documents"].get<int>(), 10);
  EXPECT_GE(index["chunks"].get<int>(), index["documents"].get<int>());
  EXPECT_EQ(index["embedder"], "hash-v1");
  EXPECT_EQ(index["vectors"], false);  // the hash embedder's ranking is not fused: keyword search only
  EXPECT_EQ(index["dimension"], 0);
  EXPECT_TRUE(index["built_at"].is_string());
}

struct BadSearch {
  const char* name;
  std::string body;
  std::string content_type;
  int status;
  const char* code;
};

TEST_F(SearchTest, BadRequestsGetJsonErrors) {
  std::string deep(200, '[');
  std::vector<BadSearch> cases = {
      {"invalid json", "{\"query\":", "application/json", 400, "invalid_json"},
      {"empty body", "", "application/json", 400, "invalid_json"},
      {"too deep", "{\"query\":" + deep, "application/json", 400, "invalid_json"},
      {"invalid utf-8", "{\"query\":\"\xff\xfe\"}", "application/json", 400, "invalid_json"},
      {"text/plain", R"({"query":"x"})", "text/plain", 415, "unsupported_media_type"},
      {"array", R"(["query"])", "application/json", 422, "invalid_request"},
      {"missing query", R"({"k":3})", "application/json", 422, "invalid_query"},
      {"number query", R"({"query":42})", "application/json", 422, "invalid_query"},
      {"null query", R"({"query":null})", "application/json", 422, "invalid_query"},
      {"empty query", R"({"query":""})", "application/json", 422, "invalid_query"},
      {"blank query", R"({"query":" \n\t "})", "application/json", 422, "invalid_query"},
      {"long query", "{\"query\":\"" + std::string(2001, 'a') + "\"}", "application/json", 422, "invalid_query"},
      {"k zero", R"({"query":"x","k":0})", "application/json", 422, "invalid_k"},
      {"k 51", R"({"query":"x","k":51})", "application/json", 422, "invalid_k"},
      {"k string", R"({"query":"x","k":"5"})", "application/json", 422, "invalid_k"},
      {"k float", R"({"query":"x","k":2.5})", "application/json", 422, "invalid_k"},
      {"k bool", R"({"query":"x","k":true})", "application/json", 422, "invalid_k"},
      {"k huge", R"({"query":"x","k":1e300})", "application/json", 422, "invalid_k"},
      {"k negative", R"({"query":"x","k":-3})", "application/json", 422, "invalid_k"},
  };
  for (const auto& c : cases) {
    HttpResponse r = stack_->Post("/api/search", c.body, {{{"Content-Type", c.content_type}}});
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    EXPECT_EQ(r.Json()["error"]["code"], c.code) << c.name << ": " << r.body;
    EXPECT_EQ(r.Json()["request_id"], r.Header("x-request-id")) << c.name;
  }
  // 2000 characters (not bytes) is allowed: 2000 × "é" is 4000 bytes.
  std::string accents;
  for (int i = 0; i < 2000; ++i) accents += "\xC3\xA9";
  EXPECT_EQ(Search(*stack_, nlohmann::json({{"query", accents}}).dump()).status, 200);
  EXPECT_EQ(stack_->Get("/api/search").status, 405);
}

// A copy of the sample KB that a test may change.
std::string CopyKb(const std::string& dir) {
  std::filesystem::copy(FOLIO_SOURCE_DIR "/kb", dir, std::filesystem::copy_options::recursive);
  return dir;
}

int Ingest(const std::string& kb, const std::string& out) {
  std::string output;
  int rc = RunCommand(std::string(FOLIO_BINARY_DIR "/bin/folio-ingest --kb ") + kb + " --out " + out, &output);
  if (rc != 0) ADD_FAILURE() << output;
  return rc;
}

TEST(SearchLifecycleTest, BrokenIndexKeepsWorkerNotReadyUntilAGoodOneArrives) {
  const TempDir dir("folio-index");
  const std::string index_dir = dir.path("index");
  std::filesystem::create_directories(index_dir);
  std::ofstream(index_dir + "/manifest.json") << "{ this is not a manifest";
  std::string error;
  auto stack = TestStack::Start({{"INDEX_DIR", index_dir}, {"INDEX_POLL_MS", "200"}}, &error, seconds(20),
                                /*wait_ready=*/false);
  ASSERT_NE(stack, nullptr) << error;
  HttpResponse ready = PollHttp(stack->port(), "/ready", [](const HttpResponse& r) { return r.status == 503; }, seconds(20));
  ASSERT_EQ(ready.status, 503) << ready.raw;
  EXPECT_NE(ready.Json()["reason"].get<std::string>().find("index"), std::string::npos) << ready.body;
  HttpResponse search = stack->Post("/api/search", SearchBody("anything"));
  EXPECT_EQ(search.status, 503);
  EXPECT_TRUE(search.Json()["error"]["code"].is_string());
  HttpResponse health = stack->Get("/api/health");
  EXPECT_EQ(health.status, 503);
  EXPECT_EQ(health.Json()["checks"]["index"]["status"], "critical");
  EXPECT_EQ(stack->Get("/ping").status, 200);  // probes still answer

  // The operator removes the cause (folio-ingest refuses to overwrite a
  // directory that is not an index) and ingests: picked up without a restart.
  std::filesystem::remove_all(index_dir);
  ASSERT_EQ(Ingest(FOLIO_SOURCE_DIR "/kb", index_dir), 0);
  EXPECT_EQ(PollHttp(stack->port(), "/ready", [](const HttpResponse& r) { return r.status == 200; }, seconds(10)).status,
            200);
  EXPECT_EQ(stack->Post("/api/search", SearchBody("Tollgate")).status, 200);
}

TEST(SearchLifecycleTest, LiveReingestUnderConcurrentSearchesFailsNoRequest) {
  const TempDir dir("folio-kb");
  const std::string kb = CopyKb(dir.path("kb"));
  std::string error;
  auto stack = TestStack::Start({{"KB_DIR", kb}, {"INDEX_POLL_MS", "200"}, {"RATE_LIMIT_RPS", "100000"},
                                 {"RATE_LIMIT_BURST", "100000"}},
                                &error);
  ASSERT_NE(stack, nullptr) << error;
  std::string old_version = stack->Get("/api/health").Json()["checks"]["index"]["kb_version"];

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> searchers;
  for (int t = 0; t < 4; ++t)
    searchers.emplace_back([&] {
      while (!stop) {
        HttpResponse r = stack->Post("/api/search", SearchBody("What languages does she speak?"));
        (r.status == 200 && r.Json()["results"].size() > 0 ? ok : failed)++;
        if (r.status != 200) ADD_FAILURE() << r.raw.substr(0, 300);
      }
    });
  // Three answers a searcher (EXPECT: an early return would leave them running).
  EXPECT_TRUE(PollUntil([&] { return ok >= 12; }, seconds(10))) << ok << " answered, " << failed << " failed";
  std::ofstream(kb + "/zanzibar.md") << "# Zanzibar\n\nMaya once taught a workshop on zanzibarian spice logistics.\n";
  ASSERT_EQ(Ingest(kb, stack->data_dir() + "/index"), 0);

  // Every worker picks the new index up: the new file is found repeatedly.
  int consecutive = 0;
  auto until = std::chrono::steady_clock::now() + seconds(15);
  while (consecutive < 10 && std::chrono::steady_clock::now() < until) {
    HttpResponse r = stack->Post("/api/search", SearchBody("zanzibarian spice workshop", 1));
    bool found = r.status == 200 && !r.Json()["results"].empty() && r.Json()["results"][0]["source"] == "zanzibar.md";
    consecutive = found ? consecutive + 1 : 0;
  }
  // Twelve more searches end: at least eight of them were sent after every
  // worker served the new index (a searcher has one in flight at most).
  const int ended = ok + failed;
  EXPECT_TRUE(PollUntil([&] { return ok + failed >= ended + 12; }, seconds(10)));
  stop = true;
  for (auto& t : searchers) t.join();
  EXPECT_EQ(consecutive, 10);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 20);
  auto index = stack->Get("/api/health").Json()["checks"]["index"];
  EXPECT_NE(index["kb_version"], old_version);
  EXPECT_GE(index["swaps"].get<int>(), 1);
}

}  // namespace
}  // namespace folio::test
