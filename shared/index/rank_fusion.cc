// rank_fusion.cc: the keyword evidence fused by scores, the vector and
// keyword rankings by reciprocal rank. At most a few hundred ids: plain
// sorting and hash maps.
//
// Why scores for the keyword evidence and ranks for the vectors: the three
// keyword indexes score the same query terms with the same BM25, so once
// each score is divided by the best any document could reach for those
// terms (Bm25Index::MaxScore) they say on one scale how much of the
// question a chunk, a document or its anchor text matches. Ranks would
// throw that away: RRF's 1/(60 + rank) makes rank 1 and rank 10 nearly
// equal, so every list added reorders the top whatever its conviction — fused
// by rank, the anchor text cost the sample KB's keyword questions MRR 1.000
// → 0.868, where a weak one-word match of some anchor outranked a page that
// matched every word; fused by score it costs nothing there and lifts the
// large set's paraphrased questions as much. Cosine similarities have
// another scale altogether, so the vector ranking keeps RRF.
#include "rank_fusion.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace folio {

FusionWeights FusionWeightsFor(const std::string& embedder_kind) {
  if (embedder_kind == "hash") return {0.0, 1.0};
  return {1.0, 1.0};
}

std::vector<DocumentScore> FuseKeywordScores(const std::vector<KeywordHit>& chunks,
                                             const std::vector<KeywordHit>& documents,
                                             const std::vector<KeywordHit>& anchors, const KeywordWeights& weights) {
  std::unordered_map<uint32_t, DocumentScore> by_doc;
  for (const KeywordHit& h : chunks) {
    DocumentScore& d = by_doc[h.doc];
    d.doc = h.doc;
    d.chunks.push_back(h);
  }
  for (auto& [doc, d] : by_doc) {
    std::stable_sort(d.chunks.begin(), d.chunks.end(), [](const KeywordHit& a, const KeywordHit& b) {
      return a.score != b.score ? a.score > b.score : a.id < b.id;
    });
    d.score = d.chunks[0].score + (d.chunks.size() > 1 ? weights.second_chunk * d.chunks[1].score : 0.0);
  }
  for (const auto& [list, weight] : {std::pair{&documents, weights.document}, std::pair{&anchors, weights.anchors}}) {
    if (weight <= 0) continue;  // adds nothing, not even its documents
    for (const KeywordHit& h : *list) {
      DocumentScore& d = by_doc[h.doc];
      d.doc = h.doc;
      d.score += weight * h.score;
    }
  }
  std::vector<DocumentScore> out;
  out.reserve(by_doc.size());
  for (auto& [doc, d] : by_doc) out.push_back(std::move(d));
  std::sort(out.begin(), out.end(), [](const DocumentScore& a, const DocumentScore& b) {
    return a.score != b.score ? a.score > b.score : a.doc < b.doc;
  });
  return out;
}

double MaxKeywordScore(const KeywordWeights& weights) {
  return 1.0 + weights.second_chunk + weights.document + weights.anchors;
}

std::vector<FusedItem> FuseReciprocalRank(const std::vector<uint32_t>& vector_ranking,
                                          const std::vector<uint32_t>& keyword_ranking, const FusionWeights& weights) {
  std::unordered_map<uint32_t, FusedItem> by_id;
  std::unordered_map<uint32_t, double> sum;
  double max_sum = 0;
  const std::vector<uint32_t>* rankings[2] = {&vector_ranking, &keyword_ranking};
  const double list_weights[2] = {weights.vector, weights.keyword};
  for (int which = 0; which < 2; ++which) {
    const std::vector<uint32_t>& ranking = *rankings[which];
    const double weight = list_weights[which];
    if (ranking.empty() || weight <= 0) continue;
    max_sum += weight / (kRrfK + 1);
    for (size_t r = 0; r < ranking.size(); ++r) {
      FusedItem& item = by_id[ranking[r]];
      item.id = ranking[r];
      int rank = static_cast<int>(r) + 1;
      int& slot = which == 0 ? item.vector_rank : item.keyword_rank;
      if (slot == 0) slot = rank;
      sum[ranking[r]] += weight / (kRrfK + rank);
    }
  }
  std::vector<FusedItem> out;
  out.reserve(by_id.size());
  for (auto& [id, item] : by_id) {
    item.score = static_cast<float>(std::min(1.0, sum[id] / max_sum));
    out.push_back(item);
  }
  std::sort(out.begin(), out.end(), [](const FusedItem& a, const FusedItem& b) {
    return a.score != b.score ? a.score > b.score : a.id < b.id;
  });
  return out;
}

std::vector<FusedItem> DiversifyByGroup(const std::vector<FusedItem>& fused, const std::vector<uint32_t>& groups,
                                        size_t k) {
  std::vector<FusedItem> picked;
  std::vector<bool> taken(fused.size(), false);
  std::unordered_set<uint32_t> seen;
  for (size_t i = 0; i < fused.size() && picked.size() < k; ++i) {
    if (seen.insert(groups[i]).second) {
      picked.push_back(fused[i]);
      taken[i] = true;
    }
  }
  for (size_t i = 0; i < fused.size() && picked.size() < k; ++i) {
    if (!taken[i]) picked.push_back(fused[i]);
  }
  std::stable_sort(picked.begin(), picked.end(), [](const FusedItem& a, const FusedItem& b) {
    return a.score != b.score ? a.score > b.score : a.id < b.id;
  });
  return picked;
}

}  // namespace folio
