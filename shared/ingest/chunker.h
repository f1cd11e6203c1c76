// chunker.h: splits one document into overlapping, heading-aware chunks for
// the index. Markdown sections (#, ##, ### outside code fences) are chunk
// boundaries and give each chunk its heading path ("Lantern > Outcomes");
// inside a section a window of ~target_tokens slides with ~overlap_tokens of
// overlap, cut at paragraph, sentence or line ends where it can and never
// inside a word. Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace folio {

struct ChunkerOptions {
  // Chunk size in EstimateTokens() units. 200 was chosen by measuring hit@k
  // on bench/eval/questions.json against kb/ (see docs in chunker.cc).
  size_t target_tokens = 200;
  // Tokens repeated at the start of the next chunk of the same section, so a
  // fact that straddles a cut is whole in at least one chunk.
  size_t overlap_tokens = 40;

  // OK if 16 <= target_tokens <= 8192 and overlap_tokens <= target_tokens / 2.
  Status Validate() const;
};

struct Chunk {
  std::string source;   // the document's relative path
  std::string heading;  // "H1 > H2 > H3"; the file title where there is none
  std::string text;     // the section's text for this window, LF line ends
  size_t tokens = 0;    // EstimateTokens(text)
};

// Chunks `text` (the whole document). Markdown rules apply when `source` ends
// in .md or .markdown; anything else is plain text with the file title as its
// heading. CRLF and lone CR become LF. An empty or all-space document yields
// no chunks. A chunk may exceed target_tokens by up to a quarter when that
// avoids leaving a tiny tail. A run of non-space text longer than
// 2 * target_tokens bytes (no real word is) is cut at a UTF-8 character
// boundary. REQUIRES: options.Validate().ok().
std::vector<Chunk> ChunkDocument(std::string_view source, std::string_view text,
                                 const ChunkerOptions& options);

// "projects/lantern-notes.txt" -> "lantern notes": the file name without
// directory or extension, '-' and '_' read as spaces.
std::string FileTitle(std::string_view source);

}  // namespace folio
