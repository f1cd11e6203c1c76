// rank_fusion.h: reciprocal-rank fusion of the vector and keyword rankings,
// and the per-source diversification of the fused list.
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace folio {

inline constexpr double kRrfK = 60;  // the constant of Cormack et al. (2009)

struct FusedItem {
  uint32_t id = 0;
  float score = 0;       // sum over lists of 1/(kRrfK + rank), divided by its maximum
                         // (rank 1 in every non-empty list), so it lies in (0, 1]
  int vector_rank = 0;   // 1-based; 0 if absent from that list
  int keyword_rank = 0;
};

// Fuses two rankings (best first; ids within a list are distinct). An empty
// list does not count towards the maximum: with one list, its top item scores 1.
// Result sorted by score descending, ties by id ascending.
std::vector<FusedItem> FuseReciprocalRank(const std::vector<uint32_t>& vector_ranking,
                                          const std::vector<uint32_t>& keyword_ranking);

// Picks up to k items from `fused` (sorted best first): first the best item of
// each group (groups[i] is the group of fused[i] — its source document), then,
// if there are fewer groups than k, the next best items in order. Returns
// them best first. REQUIRES: groups.size() == fused.size().
std::vector<FusedItem> DiversifyByGroup(const std::vector<FusedItem>& fused, const std::vector<uint32_t>& groups,
                                        size_t k);

}  // namespace folio
