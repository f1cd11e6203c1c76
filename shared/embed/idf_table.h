// idf_table.h: inverse document frequencies for the hash embedder's features,
// computed once at ingest and stored in the index (idf.bin), so the worker
// weighs query features exactly as the chunks were weighed.
// Features are hashed into kBuckets slots (64-bit feature key -> slot).
// Immutable once built or opened; share it as shared_ptr<const IdfTable>
// across threads. An opened table borrows its mmapped file and owns it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mapped_file.h"
#include "status.h"

namespace folio {

class IdfTable {
 public:
  static constexpr uint32_t kBuckets = 1u << 18;  // 1 MiB of floats; few collisions for KB vocabularies

  // idf[slot] = ln((1 + num_docs) / (1 + df[slot])) + 1 (the smoothed idf).
  // REQUIRES: df.size() == kBuckets.
  static std::shared_ptr<const IdfTable> FromDocumentFrequencies(const std::vector<uint32_t>& df,
                                                                 uint64_t num_docs);

  // Maps an idf.bin file. Errors ("index_corrupt") if the size, magic, bucket
  // count or any weight (finite, 0 < w <= 64) is wrong.
  static Result<std::shared_ptr<const IdfTable>> Open(const std::string& path);

  // Writes idf.bin: 32-byte header {"FOLIOIDF", u32 version=1, u32 buckets,
  // u64 num_docs, u64 0} then kBuckets little-endian floats.
  Status Write(const std::string& path) const;

  static uint32_t Slot(uint64_t feature_key) { return static_cast<uint32_t>(feature_key >> 3) & (kBuckets - 1); }
  float Weight(uint64_t feature_key) const { return weights_[Slot(feature_key)]; }
  uint64_t num_docs() const { return num_docs_; }

 private:
  IdfTable() = default;

  std::vector<float> owned_;
  MappedFile file_;
  const float* weights_ = nullptr;
  uint64_t num_docs_ = 0;
};

}  // namespace folio
