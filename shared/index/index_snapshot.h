// index_snapshot.h: one opened index directory (manifest, chunk store, BM25
// indexes of chunks, documents and anchor text; the HNSW graph and idf
// table when the index has vectors), all mmapped read-only, and hybrid
// search over it. Open it once per process and share it: Search is safe from any
// number of threads. Hot swap: open the new directory, then replace the
// shared_ptr; views returned by Search stay valid while the caller holds the
// snapshot they came from.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bm25_index.h"
#include "chunk_store.h"
#include "embedder.h"
#include "embedder_factory.h"
#include "hnsw_graph.h"
#include "idf_table.h"
#include "index_manifest.h"
#include "prompt.h"
#include "rank_fusion.h"
#include "status.h"

namespace folio {

struct IndexOpenOptions {
  // kQuick: O(1) checks per file plus a 4-byte-per-element walk of the HNSW
  // file; opening time does not grow with chunk count. kFull: also checksums
  // every file against the manifest and checks every record, posting and
  // level-0 link (O(index size)) — for files from an untrusted place.
  HnswGraph::Verify verify = HnswGraph::Verify::kQuick;
};

struct SearchOptions {
  size_t k = 5;                // results wanted; 1..kMaxK
  bool one_per_source = true;  // best chunk per source file first (see DiversifyByGroup)
  // How the vector and keyword rankings are weighed; unset: the weights for
  // the index's embedder (FusionWeightsFor). Set by benchmarks only.
  std::optional<FusionWeights> fusion;
  KeywordWeights keyword;      // how the keyword evidence is combined (benchmarks try others)
  static constexpr size_t kMaxK = 100;
};

struct SearchHit {
  uint32_t chunk_id = 0;
  uint32_t doc_id = 0;       // the chunk's document (ChunkView::doc_id)
  std::string_view source;   // views into the snapshot's mapping
  std::string_view heading;
  std::string_view text;
  float score = 0;           // fused relevance in (0, 1]: the keyword evidence over its maximum
                             // (MaxKeywordScore), or with vectors the reciprocal-rank fusion's
  float vector_score = 0;    // cosine similarity, 0 if not among the vector candidates
  float bm25_score = 0;      // raw chunk BM25, 0 if no query term matched
};

class IndexSnapshot {
 public:
  // Opens `dir`. NotFound ("index_not_found") if there is no manifest;
  // Unprocessable ("index_format_unsupported") for another format version;
  // InvalidArgument ("index_corrupt") for missing, truncated, garbage or
  // mutually inconsistent files. Never crashes on a bad file.
  static Result<std::shared_ptr<IndexSnapshot>> Open(const std::string& dir, const IndexOpenOptions& options = {});

  // Hybrid search. Keyword evidence: the top max(4k, 100) chunks by BM25 on
  // query_text, and the top max(4k, 40) documents by BM25 over whole
  // documents and over their anchor text, fused by score into a ranking of
  // documents (FuseKeywordScores), each standing for its best candidate
  // chunk (else its best chunk for the query, else its first) and followed
  // by its other candidates. With vectors (query_vector non-empty, the index
  // has them and their weight is above 0), the top max(4k, 40) chunks by
  // similarity are fused with that ranking by weighted reciprocal rank
  // (k = 60, weights per embedder). Then one chunk per source first, top k.
  // InvalidArgument if k is out of range or query_vector has the wrong
  // dimension or non-finite values.
  Result<std::vector<SearchHit>> Search(std::string_view query_text, std::span<const float> query_vector,
                                        const SearchOptions& options) const;

  // The embedder that makes query vectors comparable with this index (same
  // kind, dimension and idf table). Unavailable if that kind is not built
  // in; Unprocessable ("index_without_vectors") if !has_vectors().
  Result<std::unique_ptr<Embedder>> MakeQueryEmbedder(const OpenAiEndpoint& openai = {}) const;

  // The passages for `hits` (best first), each with up to `max_related`
  // other chunks of its document in `related`, those nearest to the hit
  // first, then in document order.
  std::vector<Passage> PassagesFor(const std::vector<SearchHit>& hits, size_t max_related) const;

  const IndexManifest& manifest() const { return manifest_; }
  const std::string& dir() const { return dir_; }
  const ChunkStore& chunks() const { return chunks_; }
  // False when the index was built without vectors (manifest().vectors):
  // queries need no embedding.
  bool has_vectors() const { return graph_ != nullptr; }
  const HnswGraph& graph() const { return *graph_; }  // REQUIRES: has_vectors()
  const Bm25Index& bm25() const { return bm25_; }
  std::shared_ptr<const IdfTable> idf() const { return idf_; }

  // REQUIRES: no concurrent Search (benchmarks and tests only).
  void SetEfSearch(size_t ef) {
    if (graph_) graph_->SetEfSearch(ef);
  }

 private:
  IndexSnapshot(ChunkStore chunks, Bm25Index bm25, Bm25Index doc_bm25, Bm25Index anchors)
      : chunks_(std::move(chunks)), bm25_(std::move(bm25)), doc_bm25_(std::move(doc_bm25)),
        anchors_(std::move(anchors)) {}

  struct RankedChunk {
    uint32_t id = 0;
    double score = 0;  // in [0, 1]: its document's keyword evidence over MaxKeywordScore, less
                       // what the chunk lacks of its document's best chunk
    float bm25 = 0;    // raw chunk BM25
  };
  // The keyword ranking of chunks (see Search), best first.
  std::vector<RankedChunk> KeywordRanking(const std::vector<std::string>& terms, size_t k,
                                          const KeywordWeights& weights) const;

  std::string dir_;
  IndexManifest manifest_;
  ChunkStore chunks_;
  Bm25Index bm25_;
  Bm25Index doc_bm25_;  // BM25 over whole documents (ids are doc ids)
  Bm25Index anchors_;   // BM25 over each document's anchor text (ids are doc ids)
  std::unique_ptr<HnswGraph> graph_;  // null without vectors
  std::shared_ptr<const IdfTable> idf_;
};

}  // namespace folio
