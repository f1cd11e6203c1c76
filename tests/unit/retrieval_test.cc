// retrieval_test.cc: how the rankings are combined. A weak ranking cannot
// drag a strong one's top results down; keyword evidence adds up by score;
// a document whose words are spread over its sections is found through
// whole-document BM25 even when no single chunk holds them, and a page
// through what other pages say about it even when it never uses the
// question's words; a chunk's heading counts more than one word of its
// text; the passages of a search carry the other sections of their
// documents.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "index_snapshot.h"
#include "index_writer.h"
#include "rank_fusion.h"
#include "temp_dir.h"

namespace folio {
namespace {

namespace fs = std::filesystem;

TEST(RankFusionTest, AWeakRankingCannotPullTheStrongOnesTopDown) {
  // The keyword ranking says 1, 2, 3; the vector ranking says the opposite.
  std::vector<FusedItem> fused = FuseReciprocalRank({3, 2, 1}, {1, 2, 3}, FusionWeights{0.25, 1.0});
  ASSERT_EQ(fused.size(), 3u);
  EXPECT_EQ(fused[0].id, 1u);
  EXPECT_EQ(fused[1].id, 2u);
  EXPECT_EQ(fused[2].id, 3u);
  // At equal weights the same lists tie (up to rounding).
  fused = FuseReciprocalRank({3, 2, 1}, {1, 2, 3}, FusionWeights{1.0, 1.0});
  EXPECT_NEAR(fused[0].score, fused[1].score, 1e-6);
}

TEST(RankFusionTest, ScoresAreOneForTheTopOfEveryWeightedList) {
  std::vector<FusedItem> fused = FuseReciprocalRank({7, 8}, {7, 9}, FusionWeights{0.25, 1.0});
  ASSERT_FALSE(fused.empty());
  EXPECT_EQ(fused[0].id, 7u);
  EXPECT_FLOAT_EQ(fused[0].score, 1.0f);
  EXPECT_EQ(fused[0].vector_rank, 1);
  EXPECT_EQ(fused[0].keyword_rank, 1);
  for (const FusedItem& f : fused) EXPECT_LE(f.score, 1.0f);
  // A list of weight 0 adds nothing, not even its items.
  fused = FuseReciprocalRank({5}, {6}, FusionWeights{0.0, 1.0});
  ASSERT_EQ(fused.size(), 1u);
  EXPECT_EQ(fused[0].id, 6u);
}

TEST(RankFusionTest, TheHashEmbedderIsNotFusedAndALearnedModelCountsAsMuchAsKeywords) {
  FusionWeights hash = FusionWeightsFor("hash");
  EXPECT_EQ(hash.vector, 0.0);
  EXPECT_GT(hash.keyword, 0.0);
  FusionWeights openai = FusionWeightsFor("openai");
  EXPECT_EQ(openai.vector, openai.keyword);
}

// Document 1's chunk matches most of the question; document 2 matches a
// little of it in every kind of evidence. Scores add, so the strong match
// stands: a rank-based fusion would put document 2 first (first in two
// lists of three).
TEST(RankFusionTest, KeywordEvidenceAddsUpByScoreSoAStrongMatchStands) {
  KeywordWeights w;  // second chunk 0.25, document 0.5, anchors 0.5
  std::vector<DocumentScore> docs = FuseKeywordScores({{10, 1, 0.8}, {20, 2, 0.3}, {21, 2, 0.2}, {11, 1, 0.1}},
                                                      {{2, 2, 0.2}, {1, 1, 0.1}}, {{2, 2, 0.3}}, w);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].doc, 1u);
  EXPECT_NEAR(docs[0].score, 0.8 + 0.25 * 0.1 + 0.5 * 0.1, 1e-9);
  EXPECT_NEAR(docs[1].score, 0.3 + 0.25 * 0.2 + 0.5 * 0.2 + 0.5 * 0.3, 1e-9);
  ASSERT_EQ(docs[0].chunks.size(), 2u);
  EXPECT_EQ(docs[0].chunks[0].id, 10u);  // its chunks, best first
  // A document found only by its anchor text is ranked, with no chunk.
  docs = FuseKeywordScores({}, {}, {{4, 4, 0.6}}, w);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_TRUE(docs[0].chunks.empty());
  EXPECT_NEAR(docs[0].score, 0.3, 1e-9);
  EXPECT_DOUBLE_EQ(MaxKeywordScore(w), 2.25);
}

class RetrievalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // guide.md spreads "backup", "encrypted" and "offsite" over three
    // sections; notes.md, as long, has two of them in one section, and
    // the filler files make the words rare enough to matter.
    Write("guide.md",
          "# Guide\n\n## Copies\n\nTake a backup every night with the nightly job.\n\n"
          "## Safety\n\nEvery archive is encrypted with the team key before it leaves.\n\n"
          "## Places\n\nArchives go offsite to a second region within the hour.\n");
    Write("notes.md",
          "# Notes\n\nA backup that is encrypted stays private. The rest of these notes are about the "
          "garden, the kitchen, the new chairs, the printer on the second floor and the parking rules.\n");
    for (int i = 0; i < 6; ++i) {
      Write("filler" + std::to_string(i) + ".md",
            "# Filler " + std::to_string(i) + "\n\nThe weather report and the lunch menu, item " + std::to_string(i) + ".\n");
    }
    Write("rates.md", "# Pricing\n\nThe day rate is 850 euros.\n\n## Day rate history\n\nIt rose twice since 2021.\n");
    // mirrorctl.md never says "folder", "copy" or "laptop"; the pages that
    // point to it do.
    Write("tools/mirrorctl.md", "# mirrorctl\n\nSynchronises directory trees between hosts over SSH, "
          "sending only the changed blocks.\n");
    Write("howto.md", "# How-to\n\nTo put a whole folder on a laptop, run `mirrorctl` with both paths.\n\n"
          "## Printing\n\nThe printer on the second floor takes any job.\n");
    Write("faq.md", "# FAQ\n\nA folder for your laptop: see [mirrorctl](tools/mirrorctl.md).\n");
    options_.threads = 1;
    Result<BuildReport> r = BuildIndex(dir_.path("kb"), dir_.path("index"), options_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    Result<std::shared_ptr<IndexSnapshot>> snap = IndexSnapshot::Open(dir_.path("index"));
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    snap_ = *snap;
  }

  void Write(const std::string& name, const std::string& text) {
    fs::create_directories(fs::path(dir_.path("kb/" + name)).parent_path());
    std::ofstream(dir_.path("kb/" + name)) << text;
  }

  std::vector<SearchHit> Search(const std::string& q, KeywordWeights weights, size_t k = 3) {
    SearchOptions o;
    o.k = k;
    o.keyword = weights;
    Result<std::vector<SearchHit>> hits = snap_->Search(q, {}, o);
    return hits.ok() ? *hits : std::vector<SearchHit>{};
  }

  const test::TempDir dir_{"folio-retrieval-test"};
  IndexBuildOptions options_;
  std::shared_ptr<IndexSnapshot> snap_;
};

// (The document evidence weighed up here to show it at work; the shipped
// weight, 0.5 of a chunk's, was chosen on the large evaluation set.)
TEST_F(RetrievalTest, WholeDocumentRankingFindsWordsSpreadOverSections) {
  const std::string q = "encrypted offsite backup";
  std::vector<SearchHit> chunks_only = Search(q, {0.0, 0.0, 0.0});
  ASSERT_FALSE(chunks_only.empty());
  EXPECT_EQ(chunks_only[0].source, "notes.md") << "one chunk holds two of the three words";
  std::vector<SearchHit> with_documents = Search(q, {0.0, 2.0, 0.0});
  ASSERT_FALSE(with_documents.empty());
  EXPECT_EQ(with_documents[0].source, "guide.md") << "the document holds all three";
}

TEST_F(RetrievalTest, AnchorTextFindsAPageByWhatOtherPagesSayAboutIt) {
  const std::string q = "folder for my laptop";
  auto found = [&](const std::vector<SearchHit>& hits) {
    return std::any_of(hits.begin(), hits.end(), [](const SearchHit& h) { return h.source == "tools/mirrorctl.md"; });
  };
  EXPECT_FALSE(found(Search(q, {0.25, 0.5, 0.0}))) << "its own words do not match";
  std::vector<SearchHit> hits = Search(q, KeywordWeights{});
  EXPECT_TRUE(found(hits)) << "the pages that point to it say folder and laptop";
  EXPECT_EQ(hits[0].source, "howto.md") << "a page that says it itself comes first";
  // Its passage is its best chunk for the question, although none of its
  // chunks was a candidate (here its only one).
  for (const SearchHit& h : hits) {
    if (h.source == "tools/mirrorctl.md") {
      EXPECT_NE(h.text.find("Synchronises"), std::string::npos);
    }
  }
}

TEST_F(RetrievalTest, AHeadingCountsMoreThanOneWordOfText) {
  EXPECT_EQ(snap_->manifest().bm25_heading_weight, IndexBuildOptions{}.heading_weight);
  std::vector<SearchHit> hits = Search("day rate history", {0.0, 0.0, 0.0}, 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].heading, "Pricing > Day rate history");
}

TEST_F(RetrievalTest, PassagesCarryTheOtherSectionsOfTheirDocumentNearestFirst) {
  std::vector<SearchHit> hits = Search("team key", KeywordWeights{}, 1);
  ASSERT_EQ(hits.size(), 1u);
  ASSERT_EQ(hits[0].heading, "Guide > Safety");
  std::vector<Passage> all = snap_->PassagesFor(hits, 8);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].source, "guide.md");
  EXPECT_NE(all[0].text.find("team key"), std::string::npos);
  ASSERT_EQ(all[0].related.size(), 2u);  // the section itself is not repeated
  EXPECT_EQ(all[0].related[0].heading, "Guide > Copies");  // then in document order
  EXPECT_EQ(all[0].related[1].heading, "Guide > Places");
  std::vector<Passage> one = snap_->PassagesFor(hits, 1);
  ASSERT_EQ(one[0].related.size(), 1u);
  std::vector<Passage> none = snap_->PassagesFor(hits, 0);
  EXPECT_TRUE(none[0].related.empty());
}

TEST_F(RetrievalTest, FirstChunkOfEachDocument) {
  const ChunkStore& chunks = snap_->chunks();
  for (uint32_t doc = 0; doc < chunks.documents(); ++doc) {
    std::optional<uint32_t> first = chunks.FirstChunkOf(doc);
    ASSERT_TRUE(first.has_value()) << doc;
    EXPECT_EQ(chunks.Get(*first)->doc_id, doc);
    if (*first > 0) {
      EXPECT_LT(chunks.Get(*first - 1)->doc_id, doc);
    }
  }
  EXPECT_FALSE(chunks.FirstChunkOf(static_cast<uint32_t>(chunks.documents())).has_value());
}

}  // namespace
}  // namespace folio
