// index_test.cc: the index directory end to end. Oracles: the mmapped HNSW
// search against hnswlib's own loadIndex, and HNSW top-k against brute force.
// Then hybrid ranking on a small KB with known answers, hostile files, and the
// unchanged-KB shortcut.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "hnsw_graph.h"
#include "index_snapshot.h"
#include "index_writer.h"
#include "temp_dir.h"

namespace folio {
namespace {

using test::TempDir;

namespace fs = std::filesystem;

void WriteFile(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Clustered unit vectors: text-like data has neighbourhoods, uniform noise has none.
std::vector<float> StructuredVectors(size_t n, int dim, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  const int clusters = 40;
  std::vector<float> centers(clusters * dim);
  for (float& x : centers) x = normal(rng);
  std::vector<float> v(n * dim);
  for (size_t i = 0; i < n; ++i) {
    int c = static_cast<int>(rng() % clusters);
    double norm = 0;
    for (int d = 0; d < dim; ++d) {
      float x = centers[c * dim + d] + 0.6f * normal(rng);
      v[i * dim + d] = x;
      norm += x * x;
    }
    for (int d = 0; d < dim; ++d) v[i * dim + d] /= static_cast<float>(std::sqrt(norm));
  }
  return v;
}

class HnswOracleTest : public ::testing::Test {
 protected:
  static constexpr int kDim = 64;
  static constexpr size_t kCount = 3000;
  void SetUp() override {
    vectors_ = StructuredVectors(kCount, kDim, 7);
    queries_ = StructuredVectors(200, kDim, 8);
    path_ = dir_.path("g.hnsw");
    ASSERT_TRUE(BuildHnswFile(vectors_.data(), kCount, kDim, HnswParams{16, 200, 64}, 2, path_, nullptr).ok());
  }
  TempDir dir_{"folio-index-test"};
  std::string path_;
  std::vector<float> vectors_, queries_;
};

TEST_F(HnswOracleTest, MappedSearchEqualsHnswlibLoadIndex) {
  auto mapped = HnswGraph::Open(path_, kDim, HnswGraph::Verify::kFull);
  auto loaded = HnswGraph::LoadWithHnswlib(path_, kDim);
  ASSERT_TRUE(mapped.ok()) << mapped.status().ToString();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ((*mapped)->size(), kCount);
  for (size_t ef : {10, 64}) {
    (*mapped)->SetEfSearch(ef);
    (*loaded)->SetEfSearch(ef);
    for (size_t q = 0; q < 200; ++q) {
      std::vector<VectorHit> a, b;
      ASSERT_TRUE((*mapped)->Search(&queries_[q * kDim], 10, &a).ok());
      ASSERT_TRUE((*loaded)->Search(&queries_[q * kDim], 10, &b).ok());
      ASSERT_EQ(a.size(), b.size());
      for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].label, b[i].label) << "query " << q << " rank " << i;
        EXPECT_EQ(a[i].similarity, b[i].similarity);
      }
    }
  }
}

TEST_F(HnswOracleTest, RecallAgainstBruteForce) {
  auto graph = HnswGraph::Open(path_, kDim, HnswGraph::Verify::kQuick);
  ASSERT_TRUE(graph.ok());
  (*graph)->SetEfSearch(64);
  const size_t k = 10;
  size_t found = 0;
  for (size_t q = 0; q < 200; ++q) {
    const float* query = &queries_[q * kDim];
    std::vector<std::pair<float, uint32_t>> exact;
    for (size_t i = 0; i < kCount; ++i) {
      float dot = 0;
      for (int d = 0; d < kDim; ++d) dot += query[d] * vectors_[i * kDim + d];
      exact.push_back({-dot, static_cast<uint32_t>(i)});
    }
    std::partial_sort(exact.begin(), exact.begin() + k, exact.end());
    std::set<uint32_t> truth;
    for (size_t i = 0; i < k; ++i) truth.insert(exact[i].second);
    std::vector<VectorHit> hits;
    ASSERT_TRUE((*graph)->Search(query, k, &hits).ok());
    for (const VectorHit& h : hits) found += truth.count(h.label);
  }
  double recall = static_cast<double>(found) / (200 * k);
  EXPECT_GE(recall, 0.95) << "recall@10 at ef 64";
}

TEST_F(HnswOracleTest, TruncatedOrGarbageGraphIsAnError) {
  std::string bytes;
  {
    std::ifstream in(path_, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string bad = dir_.path("bad.hnsw");
  for (size_t len : {size_t{0}, size_t{10}, size_t{96}, bytes.size() / 2, bytes.size() - 1}) {
    WriteFile(bad, bytes.substr(0, len));
    EXPECT_FALSE(HnswGraph::Open(bad, kDim, HnswGraph::Verify::kQuick).ok()) << "truncated to " << len;
  }
  WriteFile(bad, bytes + "x");
  EXPECT_FALSE(HnswGraph::Open(bad, kDim, HnswGraph::Verify::kQuick).ok()) << "trailing byte";
  EXPECT_FALSE(HnswGraph::Open(path_, kDim + 4, HnswGraph::Verify::kQuick).ok()) << "wrong dimension";
  std::mt19937 rng(1);
  for (int trial = 0; trial < 50; ++trial) {  // random header fields
    std::string g = bytes;
    for (int i = 0; i < 4; ++i) g[rng() % 96] = static_cast<char>(rng());
    WriteFile(bad, g);
    auto graph = HnswGraph::Open(bad, kDim, HnswGraph::Verify::kFull);
    if (graph.ok()) {  // the change hit a field that does not matter (e.g. max_elements)
      std::vector<VectorHit> hits;
      EXPECT_TRUE((*graph)->Search(queries_.data(), 10, &hits).ok());
    }
  }
  // A level-0 link pointing past the end is caught by the full check.
  std::string g = bytes;
  uint32_t huge = 0x7FFFFFF0;
  std::memcpy(&g[96 + 4], &huge, 4);  // element 0, first link
  WriteFile(bad, g);
  EXPECT_FALSE(HnswGraph::Open(bad, kDim, HnswGraph::Verify::kFull).ok());
}

// A small KB whose answers are known.
class IndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kb_ = dir_.path("kb");
    out_ = dir_.path("index");
    WriteFile(kb_ + "/projects/tollgate.md",
              "# Tollgate\n\n## Summary\n\nTollgate is a distributed rate limiter written in Go. It handles 48,000 "
              "requests per second at peak using token buckets in Redis.\n\n## Outcomes\n\nLatency p99 stayed "
              "under 2 ms and abusive traffic dropped by 90 percent.\n");
    WriteFile(kb_ + "/projects/lantern.md",
              "# Lantern\n\n## Summary\n\nLantern is a document search engine indexing 340 million blocks with "
              "Tantivy, replacing PostgreSQL full-text search.\n\n## Stack\n\nRust, Tantivy, Kafka.\n");
    WriteFile(kb_ + "/hobbies.md",
              "# Outside work\n\nMaya keeps three beehives near Mafra and built a solar-powered hive monitor. She "
              "boulders twice a week.\n");
    WriteFile(kb_ + "/contact.txt", "Email maya@example.com. Time zone: Lisbon, WET/WEST. Calls on weekdays.\n");
    WriteFile(kb_ + "/logo.png", "\x89PNG");
    opt_.threads = 2;
  }

  Result<std::shared_ptr<IndexSnapshot>> Build() {
    Result<BuildReport> r = BuildIndex(kb_, out_, opt_);
    if (!r.ok()) return r.status();
    return IndexSnapshot::Open(out_);
  }

  std::string Top(const IndexSnapshot& snap, const std::string& query) {
    std::vector<float> vector;
    if (snap.has_vectors()) vector = *(*snap.MakeQueryEmbedder())->Embed(query);
    SearchOptions options;
    options.k = 3;
    auto hits = snap.Search(query, vector, options);
    return hits.ok() && !hits->empty() ? std::string((*hits)[0].source) : "";
  }

  TempDir dir_{"folio-index-test"};
  std::string kb_, out_;
  IndexBuildOptions opt_;
};

TEST_F(IndexTest, BuildWritesAConsistentIndex) {
  Result<BuildReport> r = BuildIndex(kb_, out_, opt_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->unchanged);
  EXPECT_EQ(r->manifest.documents, 4u);
  EXPECT_EQ(r->skipped.size(), 1u);
  auto snap = IndexSnapshot::Open(out_, {HnswGraph::Verify::kFull});
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  const IndexManifest& m = (*snap)->manifest();
  EXPECT_EQ(m.embedder_kind, "hash");
  EXPECT_EQ(m.chunks, (*snap)->chunks().size());
  EXPECT_EQ(m.built_at.size(), 20u);
  EXPECT_FALSE(fs::exists(out_ + ".old"));
  // The hash embedder's ranking has weight 0: no vectors, no graph, no idf.
  EXPECT_FALSE(m.vectors);
  EXPECT_FALSE((*snap)->has_vectors());
  EXPECT_EQ(m.files.size(), 4u);  // chunks, bm25, doc_bm25, anchors
  EXPECT_FALSE(fs::exists(out_ + "/" + kHnswFile));
  EXPECT_FALSE(fs::exists(out_ + "/" + kIdfFile));
  EXPECT_EQ((*snap)->MakeQueryEmbedder().status().error(), "index_without_vectors");
}

TEST_F(IndexTest, VectorsAndTheirGraphAreBuiltWhenAsked) {
  opt_.vectors = IndexBuildOptions::Vectors::kAlways;
  Result<BuildReport> r = BuildIndex(kb_, out_, opt_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto snap = IndexSnapshot::Open(out_, {HnswGraph::Verify::kFull});
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  const IndexManifest& m = (*snap)->manifest();
  EXPECT_TRUE(m.vectors);
  EXPECT_TRUE((*snap)->has_vectors());
  EXPECT_EQ(m.embedder, "hash-v1+idf");
  EXPECT_EQ(m.dimension, 384);
  EXPECT_EQ(m.files.size(), 6u);  // hnsw, chunks, bm25, doc_bm25, anchors, idf
  EXPECT_EQ((*snap)->graph().size(), m.chunks);
  // Another vector mode is another build.
  opt_.vectors = IndexBuildOptions::Vectors::kAuto;
  r = BuildIndex(kb_, out_, opt_);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->unchanged);
  EXPECT_FALSE(r->manifest.vectors);
}

TEST_F(IndexTest, KeywordOnlyIndexIgnoresAQueryVector) {
  auto snap = Build();
  ASSERT_TRUE(snap.ok());
  ASSERT_FALSE((*snap)->has_vectors());
  auto hits = (*snap)->Search("beehives", std::vector<float>(7, 0.5f), SearchOptions{});
  ASSERT_TRUE(hits.ok()) << hits.status().ToString();
  EXPECT_EQ((*hits)[0].source, "hobbies.md");
  EXPECT_EQ((*hits)[0].vector_score, 0.0f);
}

TEST_F(IndexTest, HybridSearchFindsKnownAnswers) {
  auto snap = Build();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(Top(**snap, "How fast is the rate limiter?"), "projects/tollgate.md");
  EXPECT_EQ(Top(**snap, "which search engine library replaced postgres"), "projects/lantern.md");
  EXPECT_EQ(Top(**snap, "bee hives"), "hobbies.md");
  EXPECT_EQ(Top(**snap, "what is her email address"), "contact.txt");
  EXPECT_EQ(Top(**snap, "requests per second"), "projects/tollgate.md");
}

TEST_F(IndexTest, SearchResultsAreFusedDiversifiedAndBounded) {
  opt_.vectors = IndexBuildOptions::Vectors::kAlways;
  auto snap = Build();
  ASSERT_TRUE(snap.ok());
  auto embedder = (*snap)->MakeQueryEmbedder();
  std::vector<float> q = *(*embedder)->Embed("Tollgate rate limiter outcomes");
  SearchOptions all_lists;  // every ranking counted, the vector one included
  all_lists.k = 3;
  all_lists.fusion = FusionWeights{1.0, 1.0};
  auto hits = (*snap)->Search("Tollgate rate limiter outcomes", q, all_lists);
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 3u);
  std::set<std::string_view> sources;
  for (const SearchHit& h : *hits) {
    sources.insert(h.source);
    EXPECT_GT(h.score, 0.0f);
    EXPECT_LE(h.score, 1.0f);
  }
  EXPECT_EQ(sources.size(), 3u);  // one chunk per file while there are enough files
  EXPECT_GE((*hits)[0].score, (*hits)[1].score);
  EXPECT_GT((*hits)[0].bm25_score, 0.0f);
  EXPECT_GT((*hits)[0].vector_score, 0.0f);
  // More results than files: the rest are further chunks.
  all_lists.k = 6;
  hits = (*snap)->Search("Tollgate", q, all_lists);
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ(hits->size(), 6u);

  SearchOptions none;
  none.k = 0;
  EXPECT_FALSE((*snap)->Search("x", q, none).ok());
  EXPECT_FALSE((*snap)->Search("x", std::vector<float>(3, 0.1f), SearchOptions{}).ok());
  std::vector<float> nan(384, std::nanf(""));
  EXPECT_FALSE((*snap)->Search("x", nan, SearchOptions{}).ok());
  auto keyword_only = (*snap)->Search("beehives", {}, SearchOptions{});
  ASSERT_TRUE(keyword_only.ok());
  EXPECT_EQ((*keyword_only)[0].source, "hobbies.md");
  EXPECT_TRUE((*snap)->Search("", {}, SearchOptions{})->empty());
}

TEST_F(IndexTest, ConcurrentSearchesAgree) {
  opt_.vectors = IndexBuildOptions::Vectors::kAlways;
  auto snap = Build();
  ASSERT_TRUE(snap.ok());
  auto embedder = (*snap)->MakeQueryEmbedder();
  std::vector<float> q = *(*embedder)->Embed("search engine");
  SearchOptions every_ranking;  // the graph searched too
  every_ranking.fusion = FusionWeights{};
  auto expected = *(*snap)->Search("search engine", q, every_ranking);
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto got = (*snap)->Search("search engine", q, every_ranking);
        if (!got.ok() || got->size() != expected.size() || (*got)[0].chunk_id != expected[0].chunk_id) ++mismatches;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST_F(IndexTest, UnchangedKbSkipsTheRebuild) {
  Result<BuildReport> first = BuildIndex(kb_, out_, opt_);
  ASSERT_TRUE(first.ok());
  Result<BuildReport> second = BuildIndex(kb_, out_, opt_);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->unchanged);
  EXPECT_EQ(second->manifest.kb_version, first->manifest.kb_version);
  EXPECT_EQ(second->manifest.built_at, first->manifest.built_at);

  opt_.chunking.target_tokens = 100;  // other parameters: rebuild
  Result<BuildReport> third = BuildIndex(kb_, out_, opt_);
  ASSERT_TRUE(third.ok());
  EXPECT_FALSE(third->unchanged);
  EXPECT_EQ(third->manifest.kb_version, first->manifest.kb_version);

  WriteFile(kb_ + "/hobbies.md", "# Outside work\n\nClimbing.\n");  // other content: rebuild
  Result<BuildReport> fourth = BuildIndex(kb_, out_, opt_);
  ASSERT_TRUE(fourth.ok());
  EXPECT_FALSE(fourth->unchanged);
  EXPECT_NE(fourth->manifest.kb_version, first->manifest.kb_version);

  opt_.force = true;
  EXPECT_FALSE(BuildIndex(kb_, out_, opt_)->unchanged);
}

TEST_F(IndexTest, EmptyKbAndForeignOutputDirAreRefused) {
  TempDir empty{"folio-index-test"};
  Result<BuildReport> r = BuildIndex(empty.path(), out_, opt_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().error(), "empty_kb");
  WriteFile(out_ + "/precious.txt", "do not delete");
  r = BuildIndex(kb_, out_, opt_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().error(), "out_not_index");
  EXPECT_TRUE(fs::exists(out_ + "/precious.txt"));
}

TEST_F(IndexTest, DamagedFilesGiveAnErrorNotACrash) {
  opt_.vectors = IndexBuildOptions::Vectors::kAlways;  // every kind of file
  ASSERT_TRUE(BuildIndex(kb_, out_, opt_).ok());
  std::mt19937 rng(3);
  for (const char* name : {kManifestFile, kHnswFile, kChunksFile, kBm25File, kDocBm25File, kAnchorsFile, kIdfFile}) {
    const std::string path = out_ + "/" + name;
    std::string original;
    {
      std::ifstream in(path, std::ios::binary);
      original.assign(std::istreambuf_iterator<char>(in), {});
    }
    for (size_t len : {size_t{0}, size_t{7}, original.size() / 2, original.size() - 2}) {
      WriteFile(path, original.substr(0, len));
      EXPECT_FALSE(IndexSnapshot::Open(out_).ok()) << name << " truncated to " << len;
    }
    std::string garbage(original.size(), '\0');
    for (char& c : garbage) c = static_cast<char>(rng());
    WriteFile(path, garbage);
    EXPECT_FALSE(IndexSnapshot::Open(out_).ok()) << name << " garbage";
    // Same size, a few bytes flipped: the full check (checksums) always notices;
    // the quick open may not, but then searching must still be safe.
    for (int trial = 0; trial < 20; ++trial) {
      std::string flipped = original;
      for (int i = 0; i < 3; ++i) flipped[rng() % flipped.size()] ^= static_cast<char>(1 + rng() % 255);
      WriteFile(path, flipped);
      EXPECT_FALSE(IndexSnapshot::Open(out_, {HnswGraph::Verify::kFull}).ok()) << name << " flipped";
      auto snap = IndexSnapshot::Open(out_);
      if (snap.ok() && std::string(name) != kHnswFile) {  // (hnsw level-0 bytes are trusted in quick mode)
        auto embedder = (*snap)->MakeQueryEmbedder();
        if (embedder.ok()) (void)(*snap)->Search("rate limiter", *(*embedder)->Embed("rate limiter"), {});
      }
    }
    WriteFile(path, original);
    ASSERT_TRUE(IndexSnapshot::Open(out_, {HnswGraph::Verify::kFull}).ok()) << name << " restored";
  }
  fs::remove(out_ + "/" + kBm25File);
  EXPECT_FALSE(IndexSnapshot::Open(out_).ok());
  EXPECT_EQ(IndexSnapshot::Open(dir_.path("nowhere")).status().code(), Code::kNotFound);
}

TEST_F(IndexTest, AnotherFormatVersionIsRefusedAndIngestReplacesIt) {
  ASSERT_TRUE(BuildIndex(kb_, out_, opt_).ok());
  std::ifstream in(out_ + "/" + kManifestFile);
  std::string m((std::istreambuf_iterator<char>(in)), {});
  const std::string current = "\"format_version\": " + std::to_string(kIndexFormatVersion);
  m.replace(m.find(current), current.size(), "\"format_version\": 2");  // as an older folio wrote it
  WriteFile(out_ + "/" + kManifestFile, m);
  auto snap = IndexSnapshot::Open(out_);
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().error(), "index_format_unsupported");
  EXPECT_NE(snap.status().message().find("folio-ingest"), std::string::npos) << snap.status().message();
  Result<BuildReport> rebuilt = BuildIndex(kb_, out_, opt_);  // not refused as a foreign directory
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  EXPECT_FALSE(rebuilt->unchanged);
  EXPECT_TRUE(IndexSnapshot::Open(out_).ok());
}

}  // namespace
}  // namespace folio
