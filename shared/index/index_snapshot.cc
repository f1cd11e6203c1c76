// index_snapshot.cc: opening an index directory (consistency between the
// manifest and each file) and hybrid search.
#include "index_snapshot.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <system_error>
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
  Result<std::string> doc_bm25_path = FilePath(dir, m, "doc_bm25", full);
  if (!doc_bm25_path.ok()) return doc_bm25_path.status();
  Result<Bm25Index> doc_bm25 = Bm25Index::Open(*doc_bm25_path);
  if (!doc_bm25.ok()) return doc_bm25.status();
  if (doc_bm25->documents() != m.documents) return Corrupt(dir, "docs_bm25.bin and the manifest disagree on the documents");
  if (full) {
    if (Status s = doc_bm25->VerifyAll(); !s.ok()) return s;
  }
  std::shared_ptr<IndexSnapshot> snap(new IndexSnapshot(std::move(*chunks), std::move(*bm25), std::move(*doc_bm25)));
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

Result<std::unique_ptr<Embedder>> IndexSnapshot::MakeQueryEmbedder() const {
  if (!graph_) return Unprocessable("index_without_vectors", dir_ + " has no vectors: queries are not embedded");
  Result<std::unique_ptr<Embedder>> e = MakeEmbedder(manifest_.embedder_kind, {manifest_.dimension, idf_});
  if (!e.ok()) return e.status();
  if ((*e)->name() != manifest_.embedder || (*e)->dimension() != manifest_.dimension) {
    return Unprocessable("embedder_mismatch", "index was built with " + manifest_.embedder + ", this build makes " +
                                                  (*e)->name());
  }
  return e;
}

std::vector<uint32_t> IndexSnapshot::DocumentRepresentatives(const std::vector<Bm25Hit>& document_hits,
                                                             const std::vector<uint32_t>& keyword_ranking,
                                                             const std::vector<uint32_t>& vector_ranking) const {
  std::unordered_map<uint32_t, uint32_t> best;  // doc id -> its best-ranked candidate chunk
  for (const std::vector<uint32_t>* ranking : {&keyword_ranking, &vector_ranking}) {
    for (uint32_t id : *ranking) {
      std::optional<ChunkView> v = chunks_.Get(id);
      if (v) best.emplace(v->doc_id, id);
    }
  }
  std::vector<uint32_t> out;
  std::unordered_set<uint32_t> seen;
  for (const Bm25Hit& h : document_hits) {
    auto it = best.find(h.chunk);
    std::optional<uint32_t> id = it != best.end() ? std::optional<uint32_t>(it->second) : chunks_.FirstChunkOf(h.chunk);
    if (id && seen.insert(*id).second) out.push_back(*id);
  }
  return out;
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
  const size_t candidates = std::min<size_t>(std::max<size_t>(options.k * 4, 40), chunks_.size());

  const FusionWeights weights = options.fusion ? *options.fusion : FusionWeightsFor(manifest_.embedder_kind);
  std::vector<VectorHit> vector_hits;
  bool nonzero = std::any_of(query_vector.begin(), query_vector.end(), [](float x) { return x != 0.0f; });
  if (nonzero && weights.vector > 0) {  // a ranking of weight 0 would add nothing: not searched
    if (Status s = graph_->Search(query_vector.data(), candidates, &vector_hits); !s.ok()) return s;
  }
  const std::vector<std::string> query_terms = IndexTerms(query_text);
  std::vector<Bm25Hit> keyword_hits = bm25_.Search(query_terms, candidates);
  std::vector<Bm25Hit> document_hits = doc_bm25_.Search(query_terms, std::min<size_t>(candidates, doc_bm25_.documents()));

  std::vector<uint32_t> vector_ranking, keyword_ranking;
  std::vector<float> vector_scores;  // parallel to vector_ranking
  for (const VectorHit& h : vector_hits) {
    if (h.label >= chunks_.size()) continue;  // a corrupt label is dropped
    vector_ranking.push_back(h.label);
    vector_scores.push_back(h.similarity);
  }
  for (const Bm25Hit& h : keyword_hits) keyword_ranking.push_back(h.chunk);
  std::vector<uint32_t> document_ranking = DocumentRepresentatives(document_hits, keyword_ranking, vector_ranking);
  std::vector<FusedItem> fused = FuseReciprocalRank(
      vector_ranking, keyword_ranking, document_ranking, weights);

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
    if (item.vector_rank > 0) hit.vector_score = vector_scores[item.vector_rank - 1];
    if (item.keyword_rank > 0) hit.bm25_score = keyword_hits[item.keyword_rank - 1].score;
    hits.push_back(hit);
  }
  return hits;
}

}  // namespace folio
