// index_snapshot.cc: opening an index directory (consistency between the
// manifest and each file) and hybrid search: the keyword ranking of chunks,
// then the fusion with the vector ranking when there is one.
#include "index_snapshot.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <system_error>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "embedder_factory.h"
#include "file_util.h"
#include "mapped_file.h"
#include "rank_fusion.h"
#include "text_terms.h"

namespace folio {
namespace {

Status Corrupt(const std::string& dir, const std::string& why) {
  return InvalidArgument("index_corrupt", dir + ": " + why);
}

// The path of a file role, checked against the manifest's recorded size
// (a cheap stat that catches truncation before anything is mapped).
Result<std::string> FilePath(const std::string& dir, const IndexManifest& m, const std::string& role,
                             bool checksum) {
  auto it = m.files.find(role);
  if (it == m.files.end()) return Corrupt(dir, "manifest lists no " + role + " file");
  std::string path = dir + "/" + it->second.name;
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return Corrupt(dir, "missing " + it->second.name);
  if (size != it->second.bytes) {
    return Corrupt(dir, it->second.name + " has " + std::to_string(size) + " bytes, the manifest says " +
                            std::to_string(it->second.bytes));
  }
  if (checksum) {
    Result<MappedFile> f = MappedFile::Open(path);
    if (!f.ok()) return f.status();
    if (Xxh3Hex(f->bytes()) != it->second.xxh3) return Corrupt(dir, it->second.name + " checksum mismatch");
  }
  return path;
}

// A BM25 index over the documents (doc_bm25, anchors): one entry per document.
Result<Bm25Index> OpenDocumentBm25(const std::string& dir, const IndexManifest& m, const std::string& role, bool full) {
  Result<std::string> path = FilePath(dir, m, role, full);
  if (!path.ok()) return path.status();
  Result<Bm25Index> index = Bm25Index::Open(*path);
  if (!index.ok()) return index.status();
  if (index->documents() != m.documents) return Corrupt(dir, m.files.at(role).name + " and the manifest disagree on the documents");
  if (full) {
    if (Status s = index->VerifyAll(); !s.ok()) return s;
  }
  return index;
}

}  // namespace

Result<std::shared_ptr<IndexSnapshot>> IndexSnapshot::Open(const std::string& dir, const IndexOpenOptions& options) {
  Result<IndexManifest> manifest = ReadManifest(dir + "/" + kManifestFile);
  if (!manifest.ok()) return manifest.status();
  const IndexManifest& m = *manifest;
  const bool full = options.verify == HnswGraph::Verify::kFull;
  if (m.chunks == 0) return Corrupt(dir, "the index has no chunks");
  if (m.vectors && (m.dimension < 1 || m.dimension > 65536)) return Corrupt(dir, "bad dimension");

  Result<std::string> chunks_path = FilePath(dir, m, "chunks", full);
  if (!chunks_path.ok()) return chunks_path.status();
  Result<ChunkStore> chunks = ChunkStore::Open(*chunks_path);
  if (!chunks.ok()) return chunks.status();
  Result<std::string> bm25_path = FilePath(dir, m, "bm25", full);
  if (!bm25_path.ok()) return bm25_path.status();
  Result<Bm25Index> bm25 = Bm25Index::Open(*bm25_path);
  if (!bm25.ok()) return bm25.status();
  std::unique_ptr<HnswGraph> graph;
  if (m.vectors) {
    Result<std::string> hnsw_path = FilePath(dir, m, "hnsw", full);
    if (!hnsw_path.ok()) return hnsw_path.status();
    Result<std::unique_ptr<HnswGraph>> opened = HnswGraph::Open(*hnsw_path, m.dimension, options.verify);
    if (!opened.ok()) return opened.status();
    graph = std::move(*opened);
  } else if (m.files.count("hnsw") || m.idf) {
    return Corrupt(dir, "the manifest lists vectors for an index without them");
  }

  if (chunks->size() != m.chunks || bm25->documents() != m.chunks || (graph && graph->size() != m.chunks) ||
      chunks->documents() != m.documents) {
    return Corrupt(dir, "files disagree on the number of chunks");
  }
  if (full) {
    if (Status s = chunks->VerifyAll(); !s.ok()) return s;
    if (Status s = bm25->VerifyAll(); !s.ok()) return s;
  }
  Result<Bm25Index> doc_bm25 = OpenDocumentBm25(dir, m, "doc_bm25", full);
  if (!doc_bm25.ok()) return doc_bm25.status();
  Result<Bm25Index> anchors = OpenDocumentBm25(dir, m, "anchors", full);
  if (!anchors.ok()) return anchors.status();
  std::shared_ptr<IndexSnapshot> snap(
      new IndexSnapshot(std::move(*chunks), std::move(*bm25), std::move(*doc_bm25), std::move(*anchors)));
  if (m.idf) {
    Result<std::string> idf_path = FilePath(dir, m, "idf", full);
    if (!idf_path.ok()) return idf_path.status();
    Result<std::shared_ptr<const IdfTable>> idf = IdfTable::Open(*idf_path);
    if (!idf.ok()) return idf.status();
    snap->idf_ = std::move(*idf);
  }
  snap->dir_ = dir;
  snap->manifest_ = std::move(*manifest);
  snap->graph_ = std::move(graph);
  if (snap->graph_) snap->graph_->SetEfSearch(static_cast<size_t>(std::max(1, snap->manifest_.hnsw_ef_search)));
  return snap;
}

Result<std::unique_ptr<Embedder>> IndexSnapshot::MakeQueryEmbedder(const OpenAiEndpoint& openai) const {
  if (!graph_) return Unprocessable("index_without_vectors", dir_ + " has no vectors: queries are not embedded");
  Result<std::unique_ptr<Embedder>> e = MakeEmbedder(manifest_.embedder_kind, {manifest_.dimension, idf_, openai});
  if (!e.ok()) return e.status();
  if ((*e)->name() != manifest_.embedder || (*e)->dimension() != manifest_.dimension) {
    return Unprocessable("embedder_mismatch", "index was built with " + manifest_.embedder + ", this build makes " +
                                                  (*e)->name());
  }
  return e;
}

std::vector<IndexSnapshot::RankedChunk> IndexSnapshot::KeywordRanking(const std::vector<std::string>& terms, size_t k,
                                                                     const KeywordWeights& weights) const {
  const size_t chunk_candidates = std::min<size_t>(std::max<size_t>(k * 4, 100), chunks_.size());
  const size_t doc_candidates = std::min<size_t>(std::max<size_t>(k * 4, 40), chunks_.documents());
  std::vector<KeywordHit> chunk_hits, document_hits, anchor_hits;
  std::unordered_map<uint32_t, float> raw;  // chunk id -> its BM25
  const double chunk_max = bm25_.MaxScore(terms);
  for (const Bm25Hit& h : bm25_.Search(terms, chunk_candidates)) {
    std::optional<ChunkView> v = chunks_.Get(h.chunk);
    if (!v || chunk_max <= 0) continue;  // a corrupt id is dropped
    chunk_hits.push_back({h.chunk, v->doc_id, h.score / chunk_max});
    raw[h.chunk] = h.score;
  }
  for (const auto& [index, out, weight] : {std::tuple{&doc_bm25_, &document_hits, weights.document},
                                           std::tuple{&anchors_, &anchor_hits, weights.anchors}}) {
    if (weight <= 0) continue;
    const double max = index->MaxScore(terms);
    for (const Bm25Hit& h : index->Search(terms, doc_candidates)) {
      if (max > 0 && h.chunk < chunks_.documents()) out->push_back({h.chunk, h.chunk, h.score / max});
    }
  }
  const double scale = MaxKeywordScore(weights);
  std::vector<RankedChunk> ranking;
  for (const DocumentScore& d : FuseKeywordScores(chunk_hits, document_hits, anchor_hits, weights)) {
    if (!d.chunks.empty()) {
      for (const KeywordHit& c : d.chunks) {
        ranking.push_back({c.id, (d.score - (d.chunks[0].score - c.score)) / scale, raw[c.id]});
      }
      continue;
    }
    // Found by its whole text or its anchors only: its best chunk for the
    // query among its own, else its first (which introduces it).
    auto [begin, end] = chunks_.ChunksOf(d.doc);
    if (begin >= end) continue;
    std::vector<Bm25Hit> best = bm25_.SearchRange(terms, begin, end, 1);
    ranking.push_back({best.empty() ? begin : best[0].chunk, d.score / scale, best.empty() ? 0.0f : best[0].score});
  }
  std::stable_sort(ranking.begin(), ranking.end(),
                   [](const RankedChunk& a, const RankedChunk& b) { return a.score > b.score; });
  return ranking;
}

std::vector<Passage> IndexSnapshot::PassagesFor(const std::vector<SearchHit>& hits, size_t max_related) const {
  std::vector<Passage> out;
  for (const SearchHit& h : hits) {
    Passage p{std::string(h.source), std::string(h.heading), std::string(h.text), h.score, {}};
    std::optional<uint32_t> first = chunks_.FirstChunkOf(h.doc_id);
    std::vector<uint32_t> ids;
    for (uint32_t id = first.value_or(h.chunk_id); first && id < chunks_.size(); ++id) {
      std::optional<ChunkView> v = chunks_.Get(id);
      if (!v || v->doc_id != h.doc_id) break;
      if (id != h.chunk_id) ids.push_back(id);
    }
    auto distance = [&](uint32_t id) { return id > h.chunk_id ? id - h.chunk_id : h.chunk_id - id; };
    std::stable_sort(ids.begin(), ids.end(), [&](uint32_t a, uint32_t b) { return distance(a) < distance(b); });
    if (ids.size() > max_related) ids.resize(max_related);
    std::sort(ids.begin(), ids.end());
    for (uint32_t id : ids) {
      std::optional<ChunkView> v = chunks_.Get(id);
      if (v) p.related.push_back({std::string(v->heading), std::string(v->text)});
    }
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::vector<SearchHit>> IndexSnapshot::Search(std::string_view query_text, std::span<const float> query_vector,
                                                     const SearchOptions& options) const {
  if (options.k < 1 || options.k > SearchOptions::kMaxK) {
    return InvalidArgument("bad_k", "k must be between 1 and " + std::to_string(SearchOptions::kMaxK));
  }
  if (!graph_) query_vector = {};  // nothing to compare it with
  if (!query_vector.empty()) {
    if (query_vector.size() != static_cast<size_t>(manifest_.dimension)) {
      return InvalidArgument("bad_query_vector", "query vector has " + std::to_string(query_vector.size()) +
                                                     " dimensions, the index " + std::to_string(manifest_.dimension));
    }
    for (float x : query_vector) {
      if (!std::isfinite(x)) return InvalidArgument("bad_query_vector", "query vector has a non-finite value");
    }
  }
  const FusionWeights weights = options.fusion ? *options.fusion : FusionWeightsFor(manifest_.embedder_kind);
  std::vector<RankedChunk> keyword = KeywordRanking(IndexTerms(query_text), options.k, options.keyword);
  std::vector<VectorHit> vector_hits;
  bool nonzero = std::any_of(query_vector.begin(), query_vector.end(), [](float x) { return x != 0.0f; });
  if (nonzero && weights.vector > 0) {  // a ranking of weight 0 would add nothing: not searched
    const size_t candidates = std::min<size_t>(std::max<size_t>(options.k * 4, 40), chunks_.size());
    if (Status s = graph_->Search(query_vector.data(), candidates, &vector_hits); !s.ok()) return s;
  }
  std::vector<uint32_t> vector_ranking;
  std::unordered_map<uint32_t, float> similarity, bm25;
  for (const VectorHit& h : vector_hits) {
    if (h.label >= chunks_.size()) continue;  // a corrupt label is dropped
    vector_ranking.push_back(h.label);
    similarity.emplace(h.label, h.similarity);
  }
  std::vector<FusedItem> fused;
  if (vector_ranking.empty()) {
    for (size_t r = 0; r < keyword.size(); ++r) {
      FusedItem item;
      item.id = keyword[r].id;
      item.score = static_cast<float>(keyword[r].score);
      item.keyword_rank = static_cast<int>(r) + 1;
      fused.push_back(item);
    }
  } else {
    std::vector<uint32_t> keyword_ranking;
    for (const RankedChunk& c : keyword) keyword_ranking.push_back(c.id);
    fused = FuseReciprocalRank(vector_ranking, keyword_ranking, weights);
  }
  for (const RankedChunk& c : keyword) bm25.emplace(c.id, c.bm25);

  // Resolve chunks (a record that fails its bounds check is dropped).
  std::vector<FusedItem> resolved;
  std::vector<uint32_t> groups;
  std::vector<ChunkView> views;
  for (const FusedItem& item : fused) {
    std::optional<ChunkView> v = chunks_.Get(item.id);
    if (!v) continue;
    resolved.push_back(item);
    groups.push_back(options.one_per_source ? v->doc_id : v->id);
    views.push_back(*v);
  }
  std::vector<FusedItem> picked = DiversifyByGroup(resolved, groups, options.k);

  std::vector<SearchHit> hits;
  hits.reserve(picked.size());
  for (const FusedItem& item : picked) {
    const ChunkView* v = nullptr;
    for (size_t i = 0; i < resolved.size(); ++i) {
      if (resolved[i].id == item.id) {
        v = &views[i];
        break;
      }
    }
    SearchHit hit;
    hit.chunk_id = item.id;
    hit.doc_id = v->doc_id;
    hit.source = v->source;
    hit.heading = v->heading;
    hit.text = v->text;
    hit.score = item.score;
    if (auto it = similarity.find(item.id); it != similarity.end()) hit.vector_score = it->second;
    if (auto it = bm25.find(item.id); it != bm25.end()) hit.bm25_score = it->second;
    hits.push_back(hit);
  }
  return hits;
}

}  // namespace folio
