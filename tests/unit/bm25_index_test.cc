// bm25_index_test.cc: the BM25 reader's searches against oracles. A search
// over a range of ids equals the whole search filtered to that range, and
// no hit scores as much as MaxScore, which is the sum of idf × (k1 + 1).
#include "bm25_index.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace folio {
namespace {

class Bm25IndexTest : public ::testing::Test {
 protected:
  // 300 documents of 5 to 60 words drawn unevenly from 40, so some words
  // are in most documents and some in a few.
  void SetUp() override {
    char tmpl[] = "/tmp/folio-bm25-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::mt19937 rng(7);
    Bm25Writer writer;
    for (int d = 0; d < 300; ++d) {
      std::vector<std::string> terms;
      for (int n = 5 + static_cast<int>(rng() % 56); n > 0; --n) {
        unsigned r = rng() % 1600;
        terms.push_back("w" + std::to_string(static_cast<int>(std::sqrt(r))));  // w0..w39, w39 most common
      }
      writer.AddDocument(terms);
    }
    ASSERT_TRUE(writer.Write(dir_ + "/bm25.bin", 1.2f, 0.75f, nullptr, nullptr).ok());
    Result<Bm25Index> index = Bm25Index::Open(dir_ + "/bm25.bin");
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    index_ = std::make_unique<Bm25Index>(std::move(*index));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  std::unique_ptr<Bm25Index> index_;
};

TEST_F(Bm25IndexTest, RangeSearchEqualsTheWholeSearchFilteredToTheRange) {
  const std::vector<std::vector<std::string>> queries = {{"w3"}, {"w3", "w20", "w39"}, {"w1", "w1", "w38"}, {"nope"}};
  const std::pair<uint32_t, uint32_t> ranges[] = {{0, 300}, {0, 1}, {17, 18}, {40, 90}, {250, 300}, {299, 400}, {5, 5}};
  for (const auto& q : queries) {
    std::vector<Bm25Hit> all = index_->Search(q, 300);
    for (auto [begin, end] : ranges) {
      std::vector<Bm25Hit> expected;
      for (const Bm25Hit& h : all) {
        if (h.chunk >= begin && h.chunk < end) expected.push_back(h);
      }
      std::vector<Bm25Hit> got = index_->SearchRange(q, begin, end, 300);
      ASSERT_EQ(got.size(), expected.size()) << q.size() << " terms in [" << begin << ", " << end << ")";
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].chunk, expected[i].chunk);
        EXPECT_FLOAT_EQ(got[i].score, expected[i].score);
      }
      std::vector<Bm25Hit> top = index_->SearchRange(q, begin, end, 1);
      EXPECT_EQ(top.size(), std::min<size_t>(1, expected.size()));
    }
  }
}

TEST_F(Bm25IndexTest, MaxScoreIsTheSumOfIdfTimesK1PlusOneAndNoHitReachesIt) {
  // A word in every document has idf ln(1 + 0.5 / 300.5); an unknown word counts 0.
  Bm25Writer writer;
  writer.AddDocument({"everywhere", "rare"});
  writer.AddDocument({"everywhere"});
  ASSERT_TRUE(writer.Write(dir_ + "/two.bin", 1.2f, 0.75f, nullptr, nullptr).ok());
  Result<Bm25Index> two = Bm25Index::Open(dir_ + "/two.bin");
  ASSERT_TRUE(two.ok());
  const double idf_rare = std::log(1.0 + (2 - 1 + 0.5) / (1 + 0.5));
  const double idf_everywhere = std::log(1.0 + (2 - 2 + 0.5) / (2 + 0.5));
  EXPECT_NEAR(two->MaxScore({"rare", "rare", "unknown"}), idf_rare * 2.2, 1e-6);
  EXPECT_NEAR(two->MaxScore({"rare", "everywhere"}), (idf_rare + idf_everywhere) * 2.2, 1e-6);
  EXPECT_EQ(two->MaxScore({"unknown"}), 0.0);

  for (const auto& q : std::vector<std::vector<std::string>>{{"w2"}, {"w2", "w30"}, {"w0", "w10", "w20", "w39"}}) {
    const double max = index_->MaxScore(q);
    ASSERT_GT(max, 0.0);
    for (const Bm25Hit& h : index_->Search(q, 300)) EXPECT_LT(h.score, max);
  }
}

}  // namespace
}  // namespace folio
