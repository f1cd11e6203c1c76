// idf_table.cc: building, writing and mapping idf.bin (layout in the header).
#include "idf_table.h"

#include <cmath>
#include <cstring>
#include <fstream>

#include "coding.h"

namespace folio {
namespace {

constexpr char kMagic[8] = {'F', 'O', 'L', 'I', 'O', 'I', 'D', 'F'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 32;

}  // namespace

std::shared_ptr<const IdfTable> IdfTable::FromDocumentFrequencies(const std::vector<uint32_t>& df,
                                                                  uint64_t num_docs) {
  std::shared_ptr<IdfTable> t(new IdfTable());
  t->owned_.resize(kBuckets);
  double n = static_cast<double>(num_docs);
  for (uint32_t i = 0; i < kBuckets; ++i) {
    double d = i < df.size() ? df[i] : 0;
    t->owned_[i] = static_cast<float>(std::log((1.0 + n) / (1.0 + d)) + 1.0);
  }
  t->weights_ = t->owned_.data();
  t->num_docs_ = num_docs;
  return t;
}

Status IdfTable::Write(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  uint32_t version = kVersion, buckets = kBuckets;
  uint64_t docs = num_docs_, zero = 0;
  out.write(kMagic, sizeof(kMagic));
  out.write(reinterpret_cast<const char*>(&version), 4);
  out.write(reinterpret_cast<const char*>(&buckets), 4);
  out.write(reinterpret_cast<const char*>(&docs), 8);
  out.write(reinterpret_cast<const char*>(&zero), 8);
  out.write(reinterpret_cast<const char*>(weights_), sizeof(float) * kBuckets);
  out.close();
  if (!out) return Internal("index_write_failed", "cannot write " + path);
  return Status::Ok();
}

Result<std::shared_ptr<const IdfTable>> IdfTable::Open(const std::string& path) {
  Result<MappedFile> file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  const MappedFile& f = *file;
  auto corrupt = [&](const std::string& why) { return InvalidArgument("index_corrupt", path + ": " + why); };
  if (f.size() != kHeaderBytes + sizeof(float) * kBuckets) return corrupt("wrong size for an idf table");
  if (std::memcmp(f.data(), kMagic, sizeof(kMagic)) != 0) return corrupt("bad magic");
  const auto version = LoadUnaligned<uint32_t>(f.data() + 8);
  const auto buckets = LoadUnaligned<uint32_t>(f.data() + 12);
  const auto docs = LoadUnaligned<uint64_t>(f.data() + 16);
  if (version != kVersion || buckets != kBuckets) return corrupt("unsupported version or bucket count");
  const float* w = reinterpret_cast<const float*>(f.data() + kHeaderBytes);  // page-aligned + 32
  for (uint32_t i = 0; i < kBuckets; ++i) {
    if (!std::isfinite(w[i]) || w[i] <= 0.0f || w[i] > 64.0f) return corrupt("weight out of range");
  }
  std::shared_ptr<IdfTable> t(new IdfTable());
  t->file_ = std::move(*file);
  t->weights_ = reinterpret_cast<const float*>(t->file_.data() + kHeaderBytes);
  t->num_docs_ = docs;
  return std::shared_ptr<const IdfTable>(std::move(t));
}

}  // namespace folio
