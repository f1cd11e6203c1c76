// rank_fusion.h: weighted reciprocal-rank fusion of the vector and keyword
// rankings, the weights each embedder's ranking has earned, and the
// per-source diversification of the fused list.
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace folio {

inline constexpr double kRrfK = 60;  // the constant of Cormack et al. (2009)

// How much each ranking counts. A weak ranking must not drag a strong one
// down: with RRF each list adds weight/(kRrfK + rank), so a list of weight w
// can lift an item at most w/(kRrfK + 1) — a few places, never past what the
// other list's order says with conviction.
struct FusionWeights {
  double vector = 1.0;
  double keyword = 1.0;    // BM25 over chunks
  double document = 1.0;   // BM25 over whole documents, each represented by one of its chunks
};

// The weights for an index built with `embedder_kind` (manifest
// embedder_kind), measured on the tune half of the large evaluation set
// (bench/eval_answers.sh; README has the figures): "hash", whose vectors
// carry no meaning beyond the words BM25 already matches, 0 (at 0.25 and 1
// it lowered recall@5 on paraphrased questions); whole documents 0.5 of
// chunk BM25. A learned model ("openai") counts as much as BM25.
FusionWeights FusionWeightsFor(const std::string& embedder_kind);

struct FusedItem {
  uint32_t id = 0;
  float score = 0;       // sum over lists of weight/(kRrfK + rank), divided by its maximum
                         // (rank 1 in every non-empty list), so it lies in (0, 1]
  int vector_rank = 0;   // 1-based; 0 if absent from that list
  int keyword_rank = 0;
  int document_rank = 0;
};

// Fuses up to three rankings of chunk ids (best first; ids within a list
// are distinct). An empty list does not count towards the maximum: with one
// list, its top item scores 1. Result sorted by score descending, ties by id
// ascending.
std::vector<FusedItem> FuseReciprocalRank(const std::vector<uint32_t>& vector_ranking,
                                          const std::vector<uint32_t>& keyword_ranking,
                                          const std::vector<uint32_t>& document_ranking = {},
                                          const FusionWeights& weights = {});

// Picks up to k items from `fused` (sorted best first): first the best item of
// each group (groups[i] is the group of fused[i] — its source document), then,
// if there are fewer groups than k, the next best items in order. Returns
// them best first. REQUIRES: groups.size() == fused.size().
std::vector<FusedItem> DiversifyByGroup(const std::vector<FusedItem>& fused, const std::vector<uint32_t>& groups,
                                        size_t k);

}  // namespace folio
