// markdown_text.h: reads the text of a chunk as a person would, for answers
// quoted from it: blocks (paragraphs, whole list items, table rows with
// their table's header, headings; code blocks left out), inline markup
// removed (emphasis, code spans, links, HTML tags, reST roles, AsciiDoc
// attributes), and paragraphs split into sentences. Markdown first; the
// common reStructuredText and AsciiDoc forms (underlined headings, "::"
// literal blocks, delimited listings) are read too, since plain-text KBs
// use them. Pure functions; safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace folio {

enum class BlockKind { kParagraph, kListItem, kTableRow, kHeading };

struct TextBlock {
  BlockKind kind = BlockKind::kParagraph;
  std::string text;                  // markup stripped, one line; for a table row its cells joined by "; "
  std::vector<std::string> cells;    // kTableRow: the row's cells, stripped
  std::vector<std::string> header;   // kTableRow: the header cells of its table (empty if it has none)
};

// The blocks of `text` in reading order. Code (fenced, indented after a
// blank line, after a "::" paragraph, or between AsciiDoc "----" lines),
// table separator rows, header rows (they travel with each row instead),
// reST directives and lines of punctuation only are left out. A list item
// keeps its continuation lines. Empty blocks are dropped.
std::vector<TextBlock> SplitBlocks(std::string_view text);

// One line of inline markup as plain text: **b**, *i*, _i_, ~~s~~ lose their
// markers (underscores inside words, as in snake_case, stay); `code` keeps
// its content; [text](url), ![alt](url) and [text][ref] become text; <url>
// becomes url; HTML tags go; reST roles (:func:`x`) and `text <url>`_ links
// become their text; AsciiDoc {caret}/{tilde} become ^/~ and linkgit:x[1]
// becomes x(1); backslash escapes are resolved; whitespace is collapsed.
std::string StripInlineMarkup(std::string_view text);

// A table row as a sentence naming its columns: with header {"Language",
// "Level"} and cells {"Go", "Expert"}, "Language: Go; Level: Expert".
// Empty cells and cells that are only a dash are skipped; cells without a
// header cell are listed bare.
std::string RenderTableRow(const std::vector<std::string>& header, const std::vector<std::string>& cells);

// The sentences of one paragraph, trimmed. A sentence ends at '.', '!' or
// '?' (closing quotes and brackets included) followed by a space and not
// after a common abbreviation ("e.g.", "i.e.", "etc.", "vs.") or an initial;
// "1.5" and "json.dumps" are never cut.
std::vector<std::string> SplitSentences(std::string_view paragraph);

}  // namespace folio
