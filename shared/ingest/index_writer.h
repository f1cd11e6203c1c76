// index_writer.h: builds an index directory from a KB: read, chunk, BM25
// of chunks and of documents, chunk store, (idf, vectors and HNSW graph when
// something searches them), manifest. Everything is written into a
// sibling temp directory and swapped in atomically (renameat2 EXCHANGE, or
// two renames where that is unsupported), so readers see the old index or
// the new one, never a mix; the old one is removed after the swap.
// One build per output directory at a time (not locked: the caller's job).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "chunker.h"
#include "embedder_factory.h"
#include "hnsw_graph.h"
#include "index_manifest.h"
#include "kb_reader.h"
#include "status.h"

namespace folio {

struct IndexBuildOptions {
  std::string embedder_kind = "hash";  // MakeEmbedder kind
  OpenAiEndpoint openai;               // for "openai" (OpenAiEndpointOf)
  int dimension = 384;
  bool idf = true;                     // hash embedder only: weigh features by idf
  // Whether the chunks are embedded and their HNSW graph built: kAuto when
  // the embedder's fusion weight is above 0 (FusionWeightsFor: "openai"
  // yes, the built-in "hash" no: nothing would search its graph, which was
  // most of the ingest time and of the index's size); kAlways for
  // benchmarks of the vector ranking and tests of the graph itself.
  enum class Vectors { kAuto, kAlways };
  Vectors vectors = Vectors::kAuto;
  // How many times a chunk's heading path counts in BM25 (1: as often as
  // any word of its text). Headings name what a section is about — the file
  // title, "Notice period" — so a question's words found there say more.
  int heading_weight = 3;
  ChunkerOptions chunking;
  HnswParams hnsw;
  int threads = 2;                     // embedding and HNSW build
  bool force = false;                  // rebuild even if the KB and parameters are unchanged
  KbReadOptions kb;
};

struct BuildProgress {
  std::string_view stage;  // "read", "chunk", "idf", "embed", "hnsw", "write"
  size_t done = 0;
  size_t total = 0;
};
// Called from the building thread only, often (throttle any rendering).
using BuildProgressFn = std::function<void(const BuildProgress&)>;

struct BuildReport {
  bool unchanged = false;  // the existing index matched: nothing was written
  IndexManifest manifest;  // of the index now in place
  std::vector<KbSkipped> skipped;
  std::vector<std::string> repaired;
  double read_seconds = 0, chunk_seconds = 0, embed_seconds = 0, hnsw_seconds = 0, write_seconds = 0;
  double total_seconds = 0;
  double embed_chunks_per_second = 0;  // 0 when the index has no vectors
  double chunks_per_second = 0;        // chunks over the whole build after reading the KB
};

// Reads `kb_dir` and builds `out_dir`. If out_dir holds a valid index whose
// manifest has the same kb_version and build parameters (and !force), returns
// with unchanged = true after reading the KB only. Refuses (InvalidArgument
// "out_not_index") to replace an existing non-empty directory that has no
// manifest.json. Errors from ReadKb pass through (e.g. "empty_kb").
Result<BuildReport> BuildIndex(const std::string& kb_dir, const std::string& out_dir,
                               const IndexBuildOptions& options, const BuildProgressFn& progress = {});

// The same from documents already in memory (benchmarks, tests).
Result<BuildReport> BuildIndexFromKb(const KbContents& kb, const std::string& out_dir,
                                     const IndexBuildOptions& options, const BuildProgressFn& progress = {});

}  // namespace folio
