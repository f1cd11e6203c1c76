// hnsw_graph.cc: hnswlib behind folio's types, and the mmap loader.
//
// hnswlib 0.6's saveIndex writes, in native byte order:
//   header: size_t offsetLevel0_, max_elements_, cur_element_count,
//           size_data_per_element_, label_offset_, offsetData_; int maxlevel_;
//           u32 enterpoint_node_; size_t maxM_, maxM0_, M_; double mult_;
//           size_t ef_construction_                              (96 bytes)
//   level 0: cur_element_count * size_data_per_element_ bytes, each element
//           {u32 count (low 16 bits; bit 16 = deleted), maxM0_ u32 links,
//            dim floats, size_t label}
//   then per element: u32 byte size L, then L bytes of upper-level lists,
//           L = level * size_links_per_element_ (each {u32 count, maxM_ links}).
// MappedHnsw is a HierarchicalNSW<float> whose data_level0_memory_ and
// linkLists_[i] point into a PROT_READ mapping of that file. Only
// searchKnn is ever called on it; searchKnn reads level 0 and the upper lists
// and writes only heap state (visited-list pool, metric counters), so the
// read-only mapping is never written. Its destructor detaches the mapping
// before ~HierarchicalNSW runs so nothing mapped is passed to free().
#include "hnsw_graph.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <thread>

// hnswlib's SSE path prefetches through *(list + size + 1), a read one slot
// past a full upper-level link list: harmless in practice (malloc slack) but
// an ASan report during the build. Sanitizer builds use its scalar path.
// (The mapped search reads no such slot beyond the file: level-0 lists are
// followed by the element's vector, and searchKnn's upper-level loop does not
// prefetch.)
// (gcc says __SANITIZE_ADDRESS__; clang only answers __has_feature.)
#if defined(__SANITIZE_ADDRESS__)
#define NO_MANUAL_VECTORIZATION
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_MANUAL_VECTORIZATION
#endif
#endif
#include <hnswlib/hnswlib.h>

#include "coding.h"
#include "mapped_file.h"

namespace folio {
namespace {

using hnswlib::linklistsizeint;
using hnswlib::tableint;

constexpr size_t kHeaderBytes = 96;
constexpr int kMaxLevel = 64;          // far above any real graph (log_M of 2^32)
constexpr size_t kMaxLinksPerList = 65535;

class MappedHnsw : public hnswlib::HierarchicalNSW<float> {
 public:
  explicit MappedHnsw(hnswlib::SpaceInterface<float>* space) : hnswlib::HierarchicalNSW<float>(space) {
    // The base constructor used here initialises nothing; make its destructor safe.
    data_level0_memory_ = nullptr;
    linkLists_ = nullptr;
    visited_list_pool_ = nullptr;
    cur_element_count = 0;
    num_deleted_ = 0;
    metric_distance_computations = 0;
    metric_hops = 0;
  }
  ~MappedHnsw() override {
    data_level0_memory_ = nullptr;  // mapped, not malloc'd
    cur_element_count = 0;          // so the base does not free linkLists_[i] (mapped too)
    // linkLists_ (the pointer array) and visited_list_pool_ are ours on the heap: the base frees them.
  }
};

}  // namespace

struct HnswGraph::Impl {
  hnswlib::InnerProductSpace space;
  MappedFile file;  // empty for the heap-loaded oracle
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index;
  explicit Impl(int dim) : space(static_cast<size_t>(dim)) {}
};

Status HnswParams::Validate() const {
  if (M < 2 || M > 256) return InvalidArgument("bad_hnsw_m", "HNSW M must be between 2 and 256");
  if (ef_construction < M || ef_construction > 4096) {
    return InvalidArgument("bad_hnsw_ef", "ef_construction must be between M and 4096");
  }
  if (ef_search < 1 || ef_search > 4096) return InvalidArgument("bad_hnsw_ef", "ef_search must be between 1 and 4096");
  return Status::Ok();
}

Status BuildHnswFile(const float* vectors, size_t count, int dim, const HnswParams& params, int threads,
                     const std::string& path, const std::function<void(size_t)>& progress) {
  if (count == 0) return InvalidArgument("empty_index", "no vectors to index");
  try {
    hnswlib::InnerProductSpace space(static_cast<size_t>(dim));
    hnswlib::HierarchicalNSW<float> index(&space, count, params.M, params.ef_construction, /*random_seed=*/100);
    index.addPoint(vectors, 0);  // the entry point first, alone (as hnswlib's Python binding does)
    threads = std::max(1, threads);
    std::atomic<size_t> next{1}, done{1};
    std::exception_ptr error;
    std::mutex error_mu;
    auto work = [&](bool report) {
      try {
        for (size_t i = next++; i < count; i = next++) {
          index.addPoint(vectors + i * static_cast<size_t>(dim), i);
          size_t d = ++done;
          if (report && progress && d % 256 == 0) progress(d);
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (!error) error = std::current_exception();
        next = count;
      }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work, false);
    work(true);  // the calling thread builds too, and reports progress
    for (auto& th : pool) th.join();
    if (error) std::rethrow_exception(error);
    if (progress) progress(count);
    index.saveIndex(path);
  } catch (const std::exception& e) {
    return Internal("hnsw_error", std::string("building the HNSW graph failed: ") + e.what());
  }
  // saveIndex reports nothing: prove the file is whole by opening it fully.
  Result<std::unique_ptr<HnswGraph>> check = HnswGraph::Open(path, dim, HnswGraph::Verify::kFull);
  if (!check.ok()) return Internal("index_write_failed", "HNSW file did not verify: " + check.status().message());
  if ((*check)->size() != count) return Internal("index_write_failed", "HNSW file has the wrong element count");
  return Status::Ok();
}

HnswGraph::HnswGraph(std::unique_ptr<Impl> impl, int dim) : impl_(std::move(impl)), dim_(dim) {}
HnswGraph::~HnswGraph() = default;

size_t HnswGraph::size() const { return impl_->index->cur_element_count; }

void HnswGraph::SetEfSearch(size_t ef) { impl_->index->setEf(std::max<size_t>(1, ef)); }

Status HnswGraph::Search(const float* query, size_t k, std::vector<VectorHit>* out) const {
  out->clear();
  if (k == 0) return Status::Ok();
  try {
    auto result = impl_->index->searchKnn(query, k);
    out->resize(result.size());
    for (size_t i = result.size(); i-- > 0;) {  // the queue pops the farthest first
      (*out)[i] = VectorHit{static_cast<uint32_t>(result.top().second), 1.0f - result.top().first};
      result.pop();
    }
  } catch (const std::exception& e) {
    out->clear();
    return Internal("hnsw_error", std::string("HNSW search failed: ") + e.what());
  }
  return Status::Ok();
}

Result<std::unique_ptr<HnswGraph>> HnswGraph::LoadWithHnswlib(const std::string& path, int dim) {
  auto impl = std::make_unique<Impl>(dim);
  try {
    impl->index = std::make_unique<hnswlib::HierarchicalNSW<float>>(&impl->space, path);
  } catch (const std::exception& e) {
    return InvalidArgument("index_corrupt", path + ": hnswlib could not load it: " + e.what());
  }
  return std::unique_ptr<HnswGraph>(new HnswGraph(std::move(impl), dim));
}

Result<std::unique_ptr<HnswGraph>> HnswGraph::Open(const std::string& path, int dim, Verify verify) {
  Result<MappedFile> mapped = MappedFile::Open(path);
  if (!mapped.ok()) return mapped.status();
  auto corrupt = [&](const std::string& why) { return InvalidArgument("index_corrupt", path + ": " + why); };
  if (dim < 1 || dim > 65536) return InvalidArgument("bad_dimension", "vector dimension out of range");
  const char* p = mapped->data();
  const uint64_t size = mapped->size();
  if (size < kHeaderBytes) return corrupt("shorter than the HNSW header");

  const uint64_t offset_level0 = LoadUnaligned<uint64_t>(p + 0);
  const uint64_t n = LoadUnaligned<uint64_t>(p + 16);
  const uint64_t size_per_element = LoadUnaligned<uint64_t>(p + 24);
  const uint64_t label_offset = LoadUnaligned<uint64_t>(p + 32);
  const uint64_t offset_data = LoadUnaligned<uint64_t>(p + 40);
  const int max_level = LoadUnaligned<int>(p + 48);
  const uint32_t entry_point = LoadUnaligned<uint32_t>(p + 52);
  const uint64_t max_m = LoadUnaligned<uint64_t>(p + 56);
  const uint64_t max_m0 = LoadUnaligned<uint64_t>(p + 64);
  const uint64_t m = LoadUnaligned<uint64_t>(p + 72);
  const double mult = LoadUnaligned<double>(p + 80);
  const uint64_t ef_construction = LoadUnaligned<uint64_t>(p + 88);

  // Every derived quantity must be exactly what hnswlib itself would compute.
  const uint64_t data_size = static_cast<uint64_t>(dim) * sizeof(float);
  if (offset_level0 != 0) return corrupt("offsetLevel0 is not 0");
  if (m < 1 || m > 10000 || max_m < 1 || max_m > kMaxLinksPerList || max_m0 < 1 || max_m0 > kMaxLinksPerList) {
    return corrupt("link counts out of range");
  }
  const uint64_t links_level0 = max_m0 * sizeof(tableint) + sizeof(linklistsizeint);
  const uint64_t links_per_element = max_m * sizeof(tableint) + sizeof(linklistsizeint);
  if (offset_data != links_level0) return corrupt("offsetData does not follow the level-0 links");
  if (label_offset != offset_data + data_size) return corrupt("dimension does not match the manifest");
  if (size_per_element != label_offset + sizeof(hnswlib::labeltype)) return corrupt("bad element size");
  if (n == 0 || n > INT32_MAX || n > (size - kHeaderBytes) / size_per_element) return corrupt("bad element count");
  if (max_level < 0 || max_level > kMaxLevel) return corrupt("bad max level");
  if (entry_point >= n) return corrupt("entry point out of range");
  if (!std::isfinite(mult) || ef_construction == 0) return corrupt("bad build parameters");

  // Walk the per-element upper-level lists (4 bytes per element, plus the
  // lists of the ~1/M elements that have upper levels).
  auto impl = std::make_unique<Impl>(dim);
  auto index = std::make_unique<MappedHnsw>(&impl->space);
  index->element_levels_.assign(n, 0);
  index->linkLists_ = static_cast<char**>(calloc(n, sizeof(char*)));
  if (index->linkLists_ == nullptr) return Internal("out_of_memory", "cannot allocate HNSW link table");
  uint64_t pos = kHeaderBytes + n * size_per_element;
  for (uint64_t i = 0; i < n; ++i) {
    if (size - pos < 4) return corrupt("upper-level lists truncated");
    uint32_t bytes = LoadUnaligned<uint32_t>(p + pos);
    pos += 4;
    if (bytes == 0) continue;
    if (bytes % links_per_element != 0 || bytes / links_per_element > static_cast<uint64_t>(max_level)) {
      return corrupt("bad upper-level list size");
    }
    if (size - pos < bytes) return corrupt("upper-level lists truncated");
    index->element_levels_[i] = static_cast<int>(bytes / links_per_element);
    index->linkLists_[i] = const_cast<char*>(p + pos);
    pos += bytes;
  }
  if (pos != size) return corrupt("trailing bytes after the graph");
  if (index->element_levels_[entry_point] != max_level) return corrupt("entry point is not on the top level");

  // Upper levels: counts within bounds, neighbours in range and present on that level.
  for (uint64_t i = 0; i < n; ++i) {
    for (int level = 1; level <= index->element_levels_[i]; ++level) {
      const char* list = index->linkLists_[i] + (level - 1) * links_per_element;
      uint32_t count = LoadUnaligned<uint32_t>(list) & 0xFFFF;
      if (count > max_m) return corrupt("upper-level list too long");
      for (uint32_t j = 0; j < count; ++j) {
        uint32_t nb = LoadUnaligned<uint32_t>(list + 4 + 4 * j);
        if (nb >= n || index->element_levels_[nb] < level) return corrupt("upper-level link out of range");
      }
    }
  }
  if (verify == Verify::kFull) {
    for (uint64_t i = 0; i < n; ++i) {
      const char* list = p + kHeaderBytes + i * size_per_element;
      uint32_t count = LoadUnaligned<uint32_t>(list) & 0xFFFF;
      if (count > max_m0) return corrupt("level-0 list too long");
      for (uint32_t j = 0; j < count; ++j) {
        if (LoadUnaligned<uint32_t>(list + 4 + 4 * j) >= n) return corrupt("level-0 link out of range");
      }
    }
  }

  index->max_elements_ = n;
  index->cur_element_count = n;
  index->size_data_per_element_ = size_per_element;
  index->size_links_per_element_ = links_per_element;
  index->size_links_level0_ = links_level0;
  index->offsetLevel0_ = 0;
  index->offsetData_ = offset_data;
  index->label_offset_ = label_offset;
  index->maxlevel_ = max_level;
  index->enterpoint_node_ = entry_point;
  index->maxM_ = max_m;
  index->maxM0_ = max_m0;
  index->M_ = m;
  index->mult_ = mult;
  index->revSize_ = 1.0 / mult;
  index->ef_construction_ = ef_construction;
  index->ef_ = 64;
  index->num_deleted_ = 0;  // folio never deletes; deletion bits in a corrupt file are ignored
  index->data_size_ = data_size;
  index->fstdistfunc_ = impl->space.get_dist_func();
  index->dist_func_param_ = impl->space.get_dist_func_param();
  try {
    index->visited_list_pool_ = new hnswlib::VisitedListPool(1, static_cast<int>(n));
  } catch (const std::exception& e) {
    return Internal("out_of_memory", "cannot allocate the HNSW visited list");
  }
  index->data_level0_memory_ = const_cast<char*>(p + kHeaderBytes);
  impl->file = std::move(*mapped);
  impl->index = std::move(index);
  return std::unique_ptr<HnswGraph>(new HnswGraph(std::move(impl), dim));
}

}  // namespace folio
