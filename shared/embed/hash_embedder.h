// hash_embedder.h: the built-in offline embedder ("hash-v1"): signed feature
// hashing of stemmed word unigrams and bigrams and of character 3/4-grams of
// each word, sublinear tf, optional idf weights, L2-normalised.
// Deterministic across runs and machines. Safe to call from many threads at
// once (per-thread scratch, immutable state); the idf table is shared.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "embedder.h"
#include "idf_table.h"

namespace folio {

class HashEmbedder final : public Embedder {
 public:
  static constexpr int kDefaultDimension = 384;
  static constexpr int kMinDimension = 8;
  static constexpr int kMaxDimension = 8192;

  // REQUIRES: kMinDimension <= dimension <= kMaxDimension (MakeEmbedder checks).
  // `idf` may be null (all weights 1); keep the one from the index otherwise.
  explicit HashEmbedder(int dimension = kDefaultDimension, std::shared_ptr<const IdfTable> idf = nullptr);

  // "hash-v1", or "hash-v1+idf" when an idf table is attached: vectors made
  // with and without idf do not mix, so the manifest records which.
  std::string name() const override;
  int dimension() const override { return dimension_; }
  Status EmbedBatch(const std::vector<std::string>& texts, std::vector<std::vector<float>>* out) override;

  // The allocation-free core: writes dimension() floats to out[0..dim).
  // All zeros when `text` has no features (empty, only stopwords or symbols).
  void EmbedInto(std::string_view text, float* out) const;

  // The distinct feature keys of `text` (for document frequencies), appended
  // to *keys in no particular order.
  static void FeatureKeys(std::string_view text, std::vector<uint64_t>* keys);

  // Document frequencies of every feature slot over `texts` (one document per
  // text), using up to `threads` threads, as an idf table.
  static std::shared_ptr<const IdfTable> ComputeIdf(const std::vector<std::string>& texts, int threads);

  const std::shared_ptr<const IdfTable>& idf() const { return idf_; }

 private:
  int dimension_;
  std::shared_ptr<const IdfTable> idf_;
};

}  // namespace folio
