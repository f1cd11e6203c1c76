// index_manifest.h: manifest.json, the table of contents of an index
// directory, written last by the index writer and read first by
// IndexSnapshot::Open. The worker watches this file to hot-swap indexes.
// Plain value type; functions are stateless and never throw.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "status.h"

namespace folio {

// 2: bm25.heading_weight (the heading path counted that many times in BM25)
//    and BM25 over whole documents (files.doc_bm25, docs_bm25.bin).
// 3: embedder.vectors: the HNSW graph (and the idf table of its embedder)
//    only when something searches it; BM25 over each document's anchor
//    text (files.anchors, anchors_bm25.bin).
// Another version is refused, with a message that says to run folio-ingest
// again (which replaces it).
inline constexpr int kIndexFormatVersion = 3;
inline constexpr char kManifestFile[] = "manifest.json";
inline constexpr char kHnswFile[] = "vectors.hnsw";
inline constexpr char kChunksFile[] = "chunks.bin";
inline constexpr char kBm25File[] = "bm25.bin";
inline constexpr char kIdfFile[] = "idf.bin";
inline constexpr char kDocBm25File[] = "docs_bm25.bin";
inline constexpr char kAnchorsFile[] = "anchors_bm25.bin";

struct IndexFileInfo {
  std::string name;    // relative to the index directory
  uint64_t bytes = 0;
  std::string xxh3;    // 16 hex digits, XXH3-64 of the whole file
};

struct IndexManifest {
  int format_version = kIndexFormatVersion;
  std::string kb_version;        // ReadKb's content hash
  std::string embedder;          // Embedder::name(), e.g. "hash-v1+idf"
  std::string embedder_kind;     // MakeEmbedder kind: "hash", "openai"
  int dimension = 0;
  bool idf = false;              // idf.bin present and used by the embedder
  // The chunks' vectors are in the index (files.hnsw). False when the
  // embedder's fusion weight is 0 (FusionWeightsFor: the built-in "hash"
  // embedder): no search would read them, so neither the vectors nor their
  // graph are built, and queries are not embedded.
  bool vectors = true;
  size_t chunk_tokens = 0;       // ChunkerOptions used
  size_t overlap_tokens = 0;
  int hnsw_m = 0;
  int hnsw_ef_construction = 0;
  int hnsw_ef_search = 0;        // default ef at query time
  double bm25_k1 = 1.2;
  double bm25_b = 0.75;
  int bm25_heading_weight = 1;   // times a chunk's heading path counts in its BM25 terms
  uint64_t documents = 0;
  uint64_t chunks = 0;
  uint64_t tokens = 0;           // sum of chunk EstimateTokens()
  std::string built_at;          // ISO 8601 UTC, "2025-01-31T12:00:00Z"
  std::map<std::string, IndexFileInfo> files;  // role ("hnsw", "chunks", "bm25", "doc_bm25", "anchors", "idf") -> file

  // True if an index built with `other`'s inputs would equal this one: same
  // format, KB content, embedder, chunking and HNSW build parameters.
  bool SameBuildAs(const IndexManifest& other) const;
};

// Reads and validates the types of every field. NotFound ("index_not_found")
// if the file is absent; InvalidArgument ("index_corrupt") on bad JSON or
// fields; Unprocessable ("index_format_unsupported") for another version
// (an index built by an older folio: its message says to run folio-ingest).
Result<IndexManifest> ReadManifest(const std::string& path);

// Writes the manifest as pretty JSON (durably: write, fsync, close).
Status WriteManifest(const std::string& path, const IndexManifest& manifest);

}  // namespace folio
