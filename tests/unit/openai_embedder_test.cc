// openai_embedder_test.cc: OpenAiEmbedder against the in-process mock:
// batching, dimensions, normalisation, the retry policy counted in calls,
// and every malformed answer turning into an error, never a crash.
#include "openai_embedder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "embedder_factory.h"
#include "mock_llm.h"

namespace folio {
namespace {

using std::chrono::milliseconds;
using test::MockBehaviour;
using test::MockLlm;

std::vector<std::string> Texts(int n) {
  std::vector<std::string> t;
  for (int i = 0; i < n; ++i) t.push_back("passage number " + std::to_string(i));
  return t;
}

double Norm(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return std::sqrt(s);
}

MockBehaviour Status_(int status, std::string retry_after = "") {
  MockBehaviour b;
  b.status = status;
  b.retry_after = std::move(retry_after);
  return b;
}

class OpenAiEmbedderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mock_.Start().ok());
    options_.base_url = mock_.base_url();
    options_.model = "test-embed";
    options_.backoff_initial = milliseconds(1);  // retries without slowing the suite
    options_.backoff_max = milliseconds(5);
    options_.call_timeout = milliseconds(5000);
  }

  Status Embed(const std::vector<std::string>& texts, std::vector<std::vector<float>>* out) {
    OpenAiEmbedder e(options_);
    return e.EmbedBatch(texts, out);
  }

  MockLlm mock_;
  OpenAiEmbedderOptions options_;
};

TEST_F(OpenAiEmbedderTest, BatchesLearnsDimensionAndNormalises) {
  options_.batch_size = 4;
  OpenAiEmbedder e(options_);
  EXPECT_EQ(e.name(), "openai:test-embed");
  EXPECT_EQ(e.dimension(), 0);
  std::vector<std::vector<float>> out;
  ASSERT_TRUE(e.EmbedBatch(Texts(10), &out).ok());
  EXPECT_EQ(mock_.Calls("embeddings"), 3);  // 4 + 4 + 2
  EXPECT_EQ(e.dimension(), MockLlm::kDefaultEmbeddingDimension);
  ASSERT_EQ(out.size(), 10u);
  for (const auto& v : out) {
    ASSERT_EQ(v.size(), static_cast<size_t>(MockLlm::kDefaultEmbeddingDimension));
    EXPECT_NEAR(Norm(v), 1.0, 1e-5);
  }
}

TEST_F(OpenAiEmbedderTest, VectorsFollowInputOrderWhateverTheResponseOrder) {
  std::vector<std::vector<float>> in_order, reversed, single;
  ASSERT_TRUE(Embed({"alpha", "beta", "gamma"}, &in_order).ok());
  MockBehaviour b;
  b.reverse_order = true;
  mock_.PushEmbeddings(b);
  ASSERT_TRUE(Embed({"alpha", "beta", "gamma"}, &reversed).ok());
  ASSERT_TRUE(Embed({"beta"}, &single).ok());
  EXPECT_EQ(in_order, reversed);
  EXPECT_EQ(in_order[1], single[0]);
  EXPECT_NE(in_order[0], in_order[1]);
}

TEST_F(OpenAiEmbedderTest, SendsModelKeyAndRequestedDimensions) {
  mock_.RequireApiKey("sk-right");
  options_.api_key = "sk-right";
  options_.dimension = 16;
  options_.request_dimensions = true;
  std::vector<std::vector<float>> out;
  ASSERT_TRUE(Embed({"x"}, &out).ok());
  ASSERT_EQ(out[0].size(), 16u);
  auto body = nlohmann::json::parse(mock_.LastBody("embeddings"));
  EXPECT_EQ(body["model"], "test-embed");
  EXPECT_EQ(body["dimensions"], 16);
  EXPECT_EQ(body["input"], nlohmann::json::array({"x"}));
}

TEST_F(OpenAiEmbedderTest, ConfiguredDimensionMismatchIsAnError) {
  options_.dimension = 32;  // the mock answers 64
  std::vector<std::vector<float>> out;
  Status s = Embed({"x"}, &out);
  EXPECT_EQ(s.error(), "upstream_bad_response");
  EXPECT_TRUE(out.empty());
}

TEST_F(OpenAiEmbedderTest, InconsistentDimensionsInOneResponseAreAnError) {
  OpenAiEmbedder e(options_);
  std::vector<std::vector<float>> out;
  ASSERT_TRUE(e.EmbedBatch({"a"}, &out).ok());  // learns 64
  MockBehaviour b;
  b.dimension = 48;
  mock_.PushEmbeddings(b);
  EXPECT_EQ(e.EmbedBatch({"b"}, &out).error(), "upstream_bad_response");
}

TEST_F(OpenAiEmbedderTest, EmptyTextsGetZeroVectorsWithoutBeingSent) {
  options_.dimension = 64;
  std::vector<std::vector<float>> out;
  ASSERT_TRUE(Embed({"", "a", ""}, &out).ok());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0], std::vector<float>(64, 0.0f));
  EXPECT_NEAR(Norm(out[1]), 1.0, 1e-5);
  EXPECT_EQ(mock_.Stats()["embedded_inputs"], 1);
}

TEST_F(OpenAiEmbedderTest, RetriesServerErrorsThenSucceeds) {
  mock_.PushEmbeddings(Status_(500));
  mock_.PushEmbeddings(Status_(503));
  std::vector<std::vector<float>> out;
  ASSERT_TRUE(Embed({"x"}, &out).ok());
  EXPECT_EQ(mock_.Calls("embeddings"), 3);
}

TEST_F(OpenAiEmbedderTest, GivesUpAfterConfiguredRetries) {
  mock_.SetEmbeddingsDefault(Status_(502));
  std::vector<std::vector<float>> out;
  Status s = Embed({"x"}, &out);
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_EQ(s.error(), "upstream_error");
  EXPECT_EQ(mock_.Calls("embeddings"), 1 + options_.retries);
}

TEST_F(OpenAiEmbedderTest, RateLimitHonoursRetryAfter) {
  mock_.PushEmbeddings(Status_(429, "1"));
  std::vector<std::vector<float>> out;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(Embed({"x"}, &out).ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(950));
  EXPECT_EQ(mock_.Calls("embeddings"), 2);
}

// The upstream's rate limit is not our client's: 503, as in the LLM client
// (retry_policy.h), never a 429 of folio's own.
TEST_F(OpenAiEmbedderTest, RateLimitPersistingIsUnavailable) {
  mock_.SetEmbeddingsDefault(Status_(429, "0"));
  std::vector<std::vector<float>> out;
  Status s = Embed({"x"}, &out);
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_EQ(s.error(), "upstream_rate_limited");
  EXPECT_EQ(mock_.Calls("embeddings"), 3);
}

TEST_F(OpenAiEmbedderTest, RetryAfterBeyondTheCapFailsAtOnce) {
  mock_.PushEmbeddings(Status_(429, "60"));
  std::vector<std::vector<float>> out;
  EXPECT_EQ(Embed({"x"}, &out).code(), Code::kUnavailable);
  EXPECT_EQ(mock_.Calls("embeddings"), 1);
}

TEST_F(OpenAiEmbedderTest, WrongKeyIsNotRetried) {
  mock_.RequireApiKey("sk-right");
  options_.api_key = "sk-wrong-secret";
  std::vector<std::vector<float>> out;
  Status s = Embed({"x"}, &out);
  EXPECT_EQ(s.error(), "upstream_auth_failed");
  EXPECT_EQ(s.ToString().find("sk-wrong"), std::string::npos);
  EXPECT_EQ(mock_.Calls("embeddings"), 1);
}

TEST_F(OpenAiEmbedderTest, BadRequestIsNotRetried) {
  mock_.PushEmbeddings(Status_(400));
  std::vector<std::vector<float>> out;
  EXPECT_EQ(Embed({"x"}, &out).error(), "upstream_rejected");
  EXPECT_EQ(mock_.Calls("embeddings"), 1);
}

TEST_F(OpenAiEmbedderTest, MalformedAnswersAreErrorsNotCrashes) {
  const char* faults[] = {"malformed", "non_numeric"};
  for (const char* fault : faults) {
    ASSERT_TRUE(mock_.Script({{"embeddings", {{"queue", {{{fault, true}}}}}}}).ok());
    std::vector<std::vector<float>> out;
    EXPECT_EQ(Embed({"x", "y"}, &out).error(), "upstream_bad_response") << fault;
    EXPECT_TRUE(out.empty());
  }
  EXPECT_EQ(mock_.Calls("embeddings"), 2);  // a bad body is not retried
}

TEST_F(OpenAiEmbedderTest, WrongVectorCountIsAnError) {
  for (int delta : {-1, +1}) {
    MockBehaviour b;
    b.vector_count_delta = delta;
    mock_.PushEmbeddings(b);
    std::vector<std::vector<float>> out;
    EXPECT_EQ(Embed({"x", "y", "z"}, &out).error(), "upstream_bad_response") << delta;
  }
}

TEST_F(OpenAiEmbedderTest, TimeoutsAreRetriedThenDeadlineExceeded) {
  MockBehaviour slow;
  slow.latency_ms = 3000;
  mock_.SetEmbeddingsDefault(slow);
  options_.call_timeout = milliseconds(200);
  options_.retries = 1;
  std::vector<std::vector<float>> out;
  const auto start = std::chrono::steady_clock::now();
  Status s = Embed({"x"}, &out);
  EXPECT_EQ(s.code(), Code::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
  EXPECT_TRUE(MockLlm::WaitFor([&] { return mock_.Calls("embeddings") == 2; }));
}

TEST_F(OpenAiEmbedderTest, UnreachableEndpointIsUnavailable) {
  MockLlm gone;
  ASSERT_TRUE(gone.Start().ok());
  options_.base_url = gone.base_url();
  gone.Stop();
  std::vector<std::vector<float>> out;
  Status s = Embed({"x"}, &out);
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_EQ(s.error(), "upstream_unreachable");
}

TEST_F(OpenAiEmbedderTest, SafeFromManyThreads) {
  options_.batch_size = 8;
  OpenAiEmbedder e(options_);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::vector<std::vector<float>> out;
      if (!e.EmbedBatch(Texts(20), &out).ok() || out.size() != 20) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(mock_.Calls("embeddings"), 4 * 3);
}

TEST_F(OpenAiEmbedderTest, FactoryBuildsItFromAnEndpoint) {
  EmbedderOptions options;
  options.dimension = 64;
  Result<std::unique_ptr<Embedder>> e = MakeEmbedder("openai", options, {mock_.base_url(), "", "mock-embed"});
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ((*e)->name(), "openai:mock-embed");
  EXPECT_EQ((*e)->dimension(), 64);
  Result<std::vector<float>> v = (*e)->Embed("hello");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->size(), 64u);
  EXPECT_EQ(nlohmann::json::parse(mock_.LastBody("embeddings")).count("dimensions"), 0u);

  options.dimension = -1;
  EXPECT_EQ(MakeEmbedder("openai", options, {mock_.base_url(), "", "m"}).status().error(), "bad_dimension");
}

}  // namespace
}  // namespace folio
