// kb_reader.h: reads a knowledge-base directory into memory for ingest.
// Walks the tree, keeps .md/.markdown/.txt files, skips everything else with a
// reason, repairs invalid UTF-8, and hashes the content into a kb_version.
// Stateless free function; safe from any thread. Never throws.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "status.h"

namespace folio {

struct KbDocument {
  std::string source;  // path relative to the KB root, '/'-separated, valid UTF-8
  std::string text;    // valid UTF-8 (bad bytes replaced by U+FFFD), BOM removed
};

struct KbSkipped {
  std::string path;    // relative path (lossy-repaired to UTF-8 for display)
  std::string reason;  // e.g. "unsupported extension", "binary (contains NUL bytes)"
};

struct KbContents {
  std::vector<KbDocument> documents;   // sorted by source (bytewise)
  std::vector<KbSkipped> skipped;      // sorted by path
  std::vector<std::string> repaired;   // sources whose invalid UTF-8 was replaced
  std::string kb_version;              // 32 hex digits, see ReadKb
  size_t total_bytes = 0;              // raw bytes of the documents read
};

struct KbReadOptions {
  // Files larger than this are skipped ("too large"): a KB is prose, and one
  // runaway log file must not take the ingest down.
  size_t max_file_bytes = 32u << 20;
};

// Reads every usable document under `dir`. Hidden files and directories (name
// starting with '.') are ignored silently; symlinked directories are not
// followed. kb_version is XXH3-128 over the sorted (source, raw bytes) pairs
// of the documents read, so the same KB always gives the same version.
// Errors: NotFound ("kb_not_found") if `dir` is not a directory;
// Unprocessable ("empty_kb") if no usable document is found — the message
// says how many files were skipped and why.
Result<KbContents> ReadKb(const std::string& dir, const KbReadOptions& options = {});

}  // namespace folio
