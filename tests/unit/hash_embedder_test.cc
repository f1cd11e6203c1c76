// hash_embedder_test.cc: determinism, normalisation, similarity, stemming and
// the embedder factory.
#include "hash_embedder.h"

#include <gtest/gtest.h>

#include <cmath>

#include "embedder_factory.h"
#include "text_terms.h"

namespace folio {
namespace {

float Dot(const std::vector<float>& a, const std::vector<float>& b) {
  float s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

std::vector<float> E(const HashEmbedder& e, std::string_view text) {
  std::vector<float> v(e.dimension());
  e.EmbedInto(text, v.data());
  return v;
}

TEST(HashEmbedderTest, IsDeterministicAcrossInstances) {
  HashEmbedder a(384), b(384);
  EXPECT_EQ(E(a, "Maya built a rate limiter in Go"), E(b, "Maya built a rate limiter in Go"));
  EXPECT_EQ(a.name(), "hash-v1");
  EXPECT_EQ(a.dimension(), 384);
}

TEST(HashEmbedderTest, VectorsAreUnitLengthOrZero) {
  HashEmbedder e(128);
  for (const char* text : {"hello world", "a much longer text about distributed systems and search", "x1 y2 z3"}) {
    std::vector<float> v = E(e, text);
    EXPECT_NEAR(std::sqrt(Dot(v, v)), 1.0f, 1e-5) << text;
  }
  for (const char* text : {"", "   ", "the of and to", "!!! ???"}) {
    std::vector<float> v = E(e, text);
    EXPECT_EQ(Dot(v, v), 0.0f) << text;
  }
}

TEST(HashEmbedderTest, SimilarTextsAreCloserThanUnrelatedOnes) {
  HashEmbedder e;
  auto query = E(e, "How fast is the distributed rate limiter?");
  auto related = E(e, "Tollgate is a distributed rate limiter handling 48,000 requests per second.");
  auto unrelated = E(e, "She keeps three beehives near Mafra and built a solar hive monitor.");
  EXPECT_GT(Dot(query, related), Dot(query, unrelated) + 0.1f);
}

TEST(HashEmbedderTest, InflectionsMeet) {
  HashEmbedder e;
  EXPECT_GT(Dot(E(e, "projects"), E(e, "project")), 0.7f);
  EXPECT_GT(Dot(E(e, "deployed services"), E(e, "deploying service")), 0.6f);
  std::string scratch;
  EXPECT_EQ(Stem("projects", &scratch), "project");
  EXPECT_EQ(Stem("companies", &scratch), "company");
  EXPECT_EQ(Stem("stopped", &scratch), "stop");
  EXPECT_EQ(Stem("building", &scratch), "build");
  EXPECT_EQ(Stem("status", &scratch), "status");
  EXPECT_EQ(Stem("making", &scratch), Stem("make", &scratch));
}

TEST(HashEmbedderTest, IdfChangesTheNameAndTheWeights) {
  std::vector<std::string> corpus = {"common word alpha", "common word beta", "common word gamma"};
  auto idf = HashEmbedder::ComputeIdf(corpus, 2);
  HashEmbedder plain, weighted(384, idf);
  EXPECT_EQ(weighted.name(), "hash-v1+idf");
  // With idf, the rare word dominates: "alpha" moves closer to doc 0 than "common" does.
  auto doc = E(weighted, corpus[0]);
  EXPECT_GT(Dot(E(weighted, "alpha"), doc), Dot(E(weighted, "common"), doc));
  EXPECT_NE(E(plain, corpus[0]), doc);
}

TEST(HashEmbedderTest, EmbedBatchMatchesEmbedInto) {
  HashEmbedder e(64);
  std::vector<std::vector<float>> out;
  ASSERT_TRUE(e.EmbedBatch({"one text", "another"}, &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1], E(e, "another"));
  EXPECT_EQ(*e.Embed("one text"), E(e, "one text"));
}

TEST(HashEmbedderTest, HostileInputIsBounded) {
  HashEmbedder e;
  std::string huge(1 << 20, 'a');  // one 1 MiB "word"
  EXPECT_NEAR(Dot(E(e, huge), E(e, huge)), 1.0f, 1e-5);
  std::string bytes;
  for (int i = 0; i < 100000; ++i) bytes.push_back(static_cast<char>(i * 7919));
  std::vector<float> v = E(e, bytes);
  for (float x : v) EXPECT_TRUE(std::isfinite(x));
}

TEST(MakeEmbedderTest, KindsAndErrors) {
  auto hash = MakeEmbedder("hash", {256, nullptr});
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ((*hash)->dimension(), 256);
  auto openai = MakeEmbedder("openai", {0, nullptr}, OpenAiEndpoint{"http://127.0.0.1:9/v1", "", "m"});
  ASSERT_TRUE(openai.ok());  // constructing it sends nothing
  EXPECT_EQ((*openai)->name(), "openai:m");
  EXPECT_EQ(MakeEmbedder("word2vec").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(MakeEmbedder("hash", {0, nullptr}).status().error(), "bad_dimension");
}

TEST(TextTermsTest, IndexTermsDropStopwordsAndStem) {
  EXPECT_EQ(IndexTerms("The Projects of Maya, and her RATE-limiters!"),
            (std::vector<std::string>{"project", "maya", "rate", "limit"}));
  EXPECT_EQ(IndexTerms("The Projects of Maya, and her RATE-limiters!", Stemming::kLight),
            (std::vector<std::string>{"project", "maya", "rat", "limiter"}));
}

}  // namespace
}  // namespace folio
