// rank_fusion.cc: RRF over at most a few hundred ids, so plain sorting.
#include "rank_fusion.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace folio {

FusionWeights FusionWeightsFor(const std::string& embedder_kind) {
  if (embedder_kind == "hash") return {0.0, 1.0, 0.5};
  return {1.0, 1.0, 1.0};
}

std::vector<FusedItem> FuseReciprocalRank(const std::vector<uint32_t>& vector_ranking,
                                          const std::vector<uint32_t>& keyword_ranking,
                                          const std::vector<uint32_t>& document_ranking, const FusionWeights& weights) {
  std::unordered_map<uint32_t, FusedItem> by_id;
  std::unordered_map<uint32_t, double> sum;
  double max_sum = 0;
  const std::vector<uint32_t>* rankings[3] = {&vector_ranking, &keyword_ranking, &document_ranking};
  const double list_weights[3] = {weights.vector, weights.keyword, weights.document};
  for (int which = 0; which < 3; ++which) {
    const std::vector<uint32_t>& ranking = *rankings[which];
    const double weight = list_weights[which];
    if (ranking.empty() || weight <= 0) continue;
    max_sum += weight / (kRrfK + 1);
    for (size_t r = 0; r < ranking.size(); ++r) {
      FusedItem& item = by_id[ranking[r]];
      item.id = ranking[r];
      int rank = static_cast<int>(r) + 1;
      if (which == 0 && item.vector_rank == 0) item.vector_rank = rank;
      if (which == 1 && item.keyword_rank == 0) item.keyword_rank = rank;
      if (which == 2 && item.document_rank == 0) item.document_rank = rank;
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
