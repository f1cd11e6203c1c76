// anchor_text.h: what the other documents of a knowledge base say about each
// document: the words around every mention of its name elsewhere ("see
// git-shell(1): a restricted shell which only allows pushes and pulls",
// ":mod:`shutil` for high-level file and directory handling", "[Tollgate]
// (projects/tollgate.md)"). Readers describe a page in their own words when
// they point to it, and those are the words a visitor asks with, which the
// page itself may never use; the index keeps them as a field of their own
// (anchors_bm25.bin). Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "kb_reader.h"

namespace folio {

struct AnchorOptions {
  // Words taken on each side of a mention. 10 (measured on the tune half of
  // the large evaluation set: 5 to 12 give within a question of the same).
  size_t window = 10;
  // Mentions of one document counted per mentioning document: a page that
  // names another forty times describes it no better than in its first few.
  size_t per_source = 3;
};

// A document's name: its file name without directory and without the
// extensions of text formats (.txt, .md, .markdown, .rst, .adoc, .asciidoc,
// .html, .htm), lowercased: "git/git-shell.txt" -> "git-shell",
// "library/shutil.rst.txt" -> "shutil", "concurrent.futures.rst" ->
// "concurrent.futures".
std::string DocumentName(std::string_view source);

// For each document of `documents` (same order), the words around the
// mentions of its name in the other documents, one line per mention,
// lowercased; empty if no other document mentions it. A mention is the
// name's words with the name's own separators ("git-shell", "git shell",
// "concurrent.futures"); a one-word name also needs the marks of a
// reference (backticks, quotes, a link, a role like :mod:, "name(1)",
// "name.attribute") unless the word is rare: found in at most 1 in 20
// documents, so prose that merely uses the word "random" or "errors" is
// not taken for a mention of random.rst or errors.rst. Names shorter than
// two characters never match. O(total text size).
std::vector<std::string> AnchorTexts(const std::vector<KbDocument>& documents, const AnchorOptions& options = {});

}  // namespace folio
