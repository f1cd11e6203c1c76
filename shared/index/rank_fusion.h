// rank_fusion.h: how the evidence of one search is combined. The keyword
// evidence — BM25 over chunks, over whole documents and over what other
// documents say about each one (anchor_text.h) — by normalised scores into
// one ranking of documents; that ranking and the vector one by weighted
// reciprocal rank, with the weight each embedder's ranking has earned; and
// the per-source diversification of the result.
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace folio {

inline constexpr double kRrfK = 60;  // the constant of Cormack et al. (2009)

// How much the vector and the keyword rankings count. A weak ranking must
// not drag a strong one down: with RRF each list adds weight/(kRrfK + rank),
// so a list of weight w can lift an item at most w/(kRrfK + 1) — a few
// places, never past what the other list's order says with conviction.
struct FusionWeights {
  double vector = 1.0;
  double keyword = 1.0;  // the ranking of FuseKeywordScores
};

// The weights for an index built with `embedder_kind` (manifest
// embedder_kind), measured on the large evaluation set (bench/eval_answers.sh;
// README has the figures): "hash", whose vectors carry no meaning beyond the
// words BM25 already matches, 0 (at 0.25 and 1 it lowered recall@5 on
// paraphrased questions; an index of it is built without vectors); a
// learned model ("openai") counts as much as the keyword ranking.
FusionWeights FusionWeightsFor(const std::string& embedder_kind);

// What each kind of keyword evidence adds to a document's score, the best
// of its chunks counting 1 (tune half of the large evaluation set; README).
struct KeywordWeights {
  double second_chunk = 0.25;  // its second-best chunk: two matching sections say more than one
  double document = 0.5;       // BM25 over the whole document: words spread over its sections
  double anchors = 0.5;        // BM25 over the words other documents use around its name
};

// One keyword hit: a chunk (id) of document doc, or a document (id == doc).
// score is the BM25 score divided by Bm25Index::MaxScore for the query:
// the share of the query matched, comparable between the three indexes.
struct KeywordHit {
  uint32_t id = 0;
  uint32_t doc = 0;
  double score = 0;
};

struct DocumentScore {
  uint32_t doc = 0;
  double score = 0;                // the fused evidence (FuseKeywordScores)
  std::vector<KeywordHit> chunks;  // its candidate chunks, best first; may be empty
};

// Every document with some evidence, best first (ties by doc id), scored
// best chunk + w.second_chunk × second-best chunk + w.document × document
// + w.anchors × anchors (a missing hit counts 0; a list of weight 0 adds
// nothing, not even its documents).
std::vector<DocumentScore> FuseKeywordScores(const std::vector<KeywordHit>& chunks,
                                             const std::vector<KeywordHit>& documents,
                                             const std::vector<KeywordHit>& anchors, const KeywordWeights& weights);

// The largest score FuseKeywordScores can give: with every hit at 1.
double MaxKeywordScore(const KeywordWeights& weights);

struct FusedItem {
  uint32_t id = 0;
  float score = 0;       // sum over lists of weight/(kRrfK + rank), divided by its maximum
                         // (rank 1 in every non-empty list), so it lies in (0, 1]
  int vector_rank = 0;   // 1-based; 0 if absent from that list
  int keyword_rank = 0;
};

// Fuses two rankings of chunk ids (best first; ids within a list are
// distinct). An empty list, or one of weight 0, does not count towards
// the maximum: with one list, its top item scores 1. Result sorted by
// score descending, ties by id ascending.
std::vector<FusedItem> FuseReciprocalRank(const std::vector<uint32_t>& vector_ranking,
                                          const std::vector<uint32_t>& keyword_ranking,
                                          const FusionWeights& weights = {});

// Picks up to k items from `fused` (sorted best first): first the best item of
// each group (groups[i] is the group of fused[i] — its source document), then,
// if there are fewer groups than k, the next best items in order. Returns
// them best first. REQUIRES: groups.size() == fused.size().
std::vector<FusedItem> DiversifyByGroup(const std::vector<FusedItem>& fused, const std::vector<uint32_t>& groups,
                                        size_t k);

}  // namespace folio
