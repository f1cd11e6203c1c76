// hnsw_graph.h: the vector half of hybrid search, over hnswlib. Builds and
// saves graphs with hnswlib's own code (inner product on unit vectors), and
// searches a saved graph in place through a read-only mmap: the level-0 block
// (vectors + links, the bulk of the file) is never copied, so N worker
// processes share one copy in the page cache. This is the only file of folio
// that includes hnswlib; its exceptions stop here.
// HnswGraph::Search is safe from many threads at once; SetEfSearch is not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "status.h"

namespace folio {

struct HnswParams {
  int M = 16;                 // links per node (2*M at level 0)
  int ef_construction = 200;  // build-time beam width
  int ef_search = 128;        // default query-time beam width (stored in the manifest); see bench_search

  // OK if 2 <= M <= 256, M <= ef_construction <= 4096, 1 <= ef_search <= 4096.
  Status Validate() const;
};

struct VectorHit {
  uint32_t label = 0;   // the id given at build time (the chunk id)
  float similarity = 0; // inner product = cosine for unit vectors, 1 - hnswlib's distance
};

// Builds a graph over `count` vectors of `dim` floats (row-major in
// `vectors`, label i for row i) with `threads` threads and saves it to `path`
// with hnswlib's saveIndex. `progress(done)` is called now and then from the
// calling thread. REQUIRES: count >= 1, vectors L2-normalised.
Status BuildHnswFile(const float* vectors, size_t count, int dim, const HnswParams& params, int threads,
                     const std::string& path, const std::function<void(size_t done)>& progress);

class HnswGraph {
 public:
  enum class Verify { kQuick, kFull };

  // Maps a file written by BuildHnswFile. kQuick checks, in time independent
  // of the element count apart from a 4-byte-per-element walk: every header
  // field (against hnswlib's own derivations and the file size), the
  // upper-level link lists (ids in range, levels consistent) and the entry
  // point. kFull also checks every level-0 link list (O(elements * M)); do it
  // when the file may be hostile rather than merely truncated or stale.
  // InvalidArgument ("index_corrupt") if anything is off.
  static Result<std::unique_ptr<HnswGraph>> Open(const std::string& path, int dim, Verify verify);

  // Loads the same file with hnswlib's own loadIndex into the heap: the test
  // oracle for the mmapped path. Trusts the file.
  static Result<std::unique_ptr<HnswGraph>> LoadWithHnswlib(const std::string& path, int dim);

  ~HnswGraph();
  HnswGraph(const HnswGraph&) = delete;
  HnswGraph& operator=(const HnswGraph&) = delete;

  // The k nearest labels to `query` (dim floats), most similar first.
  // Internal ("hnsw_error") if hnswlib throws.
  Status Search(const float* query, size_t k, std::vector<VectorHit>* out) const;

  // Beam width for later searches (hnswlib uses max(ef, k)).
  // REQUIRES: no Search running concurrently.
  void SetEfSearch(size_t ef);

  size_t size() const;
  int dimension() const { return dim_; }

 private:
  struct Impl;
  explicit HnswGraph(std::unique_ptr<Impl> impl, int dim);
  std::unique_ptr<Impl> impl_;
  int dim_;
};

}  // namespace folio
