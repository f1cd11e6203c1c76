// markdown_blocks.cc: SplitBlocks, a line-by-line block reader. Not a full
// CommonMark parser: it only needs to turn the text of a knowledge base into
// blocks a person reads (paragraphs, list items, table rows, headings) and to
// leave code out. Anything it does not recognise is kept as text.
#include <algorithm>
#include <array>

#include "markdown_scan.h"
#include "markdown_text.h"

namespace folio {
namespace {

using markdown_scan::IsSpace;
using markdown_scan::StartsWith;
using markdown_scan::Trim;

size_t Indent(std::string_view line) {
  size_t n = 0;
  for (char c : line) {
    if (c == ' ') ++n;
    else if (c == '\t') n += 4;
    else break;
  }
  return n;
}

// "---", "=====", "~~~~", "^^^^", "...." or a grid-table rule "+----+----+".
bool IsRuleLine(std::string_view t) {
  if (t.size() < 3) return false;
  static constexpr std::string_view kRule = "=-~^*+#.`'\":_";
  if (kRule.find(t[0]) != std::string_view::npos && t.find_first_not_of(t[0]) == std::string_view::npos) return true;
  return t[0] == '+' && t.find_first_not_of("+-=: ") == std::string_view::npos;
}

// A reST simple-table rule: runs of '=' separated by spaces, two runs or more.
bool IsColumnRule(std::string_view t) {
  return t.size() >= 3 && t[0] == '=' && t.find_first_not_of("= ") == std::string_view::npos &&
         t.find(' ') != std::string_view::npos;
}

// A fence opener/closer: the fence character and run length, or 0.
size_t FenceRun(std::string_view t, char* c) {
  if (t.empty() || (t[0] != '`' && t[0] != '~')) return 0;
  size_t n = t.find_first_not_of(t[0]);
  n = n == std::string_view::npos ? t.size() : n;
  if (n < 3) return 0;
  *c = t[0];
  return n;
}

// A list item's marker ("- ", "* ", "+ ", "1. ", "2) "): the length of the
// marker and its space, or 0.
size_t ListMarker(std::string_view t) {
  if (t.size() >= 2 && (t[0] == '-' || t[0] == '*' || t[0] == '+') && (t[1] == ' ' || t[1] == '\t')) return 2;
  size_t d = 0;
  while (d < t.size() && d < 9 && std::isdigit(static_cast<unsigned char>(t[d]))) ++d;
  if (d > 0 && d + 1 < t.size() && (t[d] == '.' || t[d] == ')') && (t[d + 1] == ' ' || t[d + 1] == '\t')) return d + 2;
  return 0;
}

std::vector<std::string> TableCells(std::string_view t) {
  std::vector<std::string> cells;
  if (!t.empty() && t.front() == '|') t.remove_prefix(1);
  if (!t.empty() && t.back() == '|' && (t.size() < 2 || t[t.size() - 2] != '\\')) t.remove_suffix(1);
  std::string cell;
  bool code = false;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '\\' && i + 1 < t.size() && t[i + 1] == '|') {
      cell += '|';
      ++i;
    } else if (t[i] == '`') {
      code = !code;
      cell += '`';
    } else if (t[i] == '|' && !code) {
      cells.push_back(StripInlineMarkup(cell));
      cell.clear();
    } else {
      cell += t[i];
    }
  }
  cells.push_back(StripInlineMarkup(cell));
  return cells;
}

bool IsSeparatorRow(const std::vector<std::string>& raw_cells) {
  for (const std::string& c : raw_cells) {
    std::string_view t = Trim(c);
    if (t.empty() || t.find_first_not_of(":-=+ ") != std::string_view::npos || t.find('-') == std::string_view::npos) {
      if (!(t.empty() && raw_cells.size() > 1)) return false;
    }
  }
  return true;
}

// reST directives whose body is code, not prose.
bool IsCodeDirective(std::string_view name) {
  static constexpr std::array<std::string_view, 8> kCode = {"code-block", "code", "sourcecode", "literalinclude",
                                                            "doctest", "testcode", "testoutput", "productionlist"};
  return std::find(kCode.begin(), kCode.end(), name) != kCode.end();
}

// reST directives that describe an API object: their argument is a heading.
bool IsObjectDirective(std::string_view name) {
  static constexpr std::array<std::string_view, 14> kObject = {
      "function", "method", "class", "attribute", "data", "exception", "decorator", "module",
      "describe", "option", "envvar", "classmethod", "staticmethod", "coroutinefunction"};
  return std::find(kObject.begin(), kObject.end(), name) != kObject.end();
}

class BlockReader {
 public:
  std::vector<TextBlock> Read(std::string_view text) {
    std::vector<std::string_view> lines;
    for (size_t pos = 0; pos <= text.size();) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos) nl = text.size();
      std::string_view line = text.substr(pos, nl - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      lines.push_back(line);
      pos = nl + 1;
    }
    for (size_t i = 0; i < lines.size(); ++i) Line(lines, i);
    Flush();
    return std::move(blocks_);
  }

 private:
  void Line(const std::vector<std::string_view>& lines, size_t i) {
    std::string_view line = lines[i];
    std::string_view t = Trim(line);
    size_t indent = Indent(line);
    if (fence_len_ > 0) {  // inside ``` or ~~~
      char c = 0;
      if (FenceRun(t, &c) >= fence_len_ && c == fence_char_ && t.find_first_not_of(c) == std::string_view::npos) fence_len_ = 0;
      return;
    }
    if (!delimiter_.empty()) {  // inside an AsciiDoc ----/.... block
      if (t == delimiter_) delimiter_.clear();
      return;
    }
    if (literal_) {  // the indented block after "::" or a code directive
      if (t.empty() || indent > literal_indent_) return;
      literal_ = false;
    }
    if (skip_ == Skip::kParagraph) {  // a verse/listing paragraph, a shell session
      if (!t.empty()) return;
      skip_ = Skip::kNone;
    }
    if (skip_ == Skip::kGridTable) {  // reST grid table: its rows span lines, so it is left out
      if (!t.empty() && (t[0] == '|' || t[0] == '+')) return;
      skip_ = Skip::kNone;
    }
    if (skip_ == Skip::kSimpleTable) {  // reST simple table: ends at a rule followed by a blank line
      bool last = i + 1 == lines.size() || Trim(lines[i + 1]).empty();
      if (IsColumnRule(t) && last) skip_ = Skip::kNone;
      return;
    }
    if (t.empty()) {
      Flush();
      table_ = false;
      blank_ = true;
      return;
    }
    bool was_blank = blank_;
    blank_ = false;
    if (t[0] != '|') table_ = false;
    char fc = 0;
    // "~~~~" right under a line of text underlines a heading; elsewhere it opens a fence.
    if (size_t run = FenceRun(t, &fc); run > 0 && !(fc == '~' && !current_.empty())) {
      Flush();
      fence_char_ = fc;
      fence_len_ = run;
      return;
    }
    if (t == "+") {  // AsciiDoc list continuation: a paragraph break
      Flush();
      return;
    }
    if (t.size() >= 2 && t.front() == '[' && t.back() == ']' && t.find(' ') == std::string_view::npos) {
      Flush();  // AsciiDoc block attributes ([verse], [source,sh]) and anchors ([[id]])
      std::string_view attr = t.substr(1, t.size() - 2);
      if (StartsWith(attr, "verse") || StartsWith(attr, "source") || StartsWith(attr, "listing") || StartsWith(attr, "literal")) {
        skip_ = Skip::kParagraph;
      }
      return;
    }
    if (was_blank && StartsWith(t, "$ ")) {
      Flush();  // a shell session
      skip_ = Skip::kParagraph;
      return;
    }
    if (IsColumnRule(t)) {
      Flush();
      skip_ = Skip::kSimpleTable;
      return;
    }
    if (t[0] == '+' && IsRuleLine(t)) {
      Flush();
      skip_ = Skip::kGridTable;
      return;
    }
    if (IsRuleLine(t)) {
      if (current_.size() == 1 && kind_ == BlockKind::kParagraph && !table_) {  // underlined heading
        std::string title = StripInlineMarkup(current_[0]);
        current_.clear();
        Emit(BlockKind::kHeading, std::move(title));
      } else if (was_blank && t.size() >= 4 && (t[0] == '-' || t[0] == '.') &&
                 std::find(lines.begin() + i + 1, lines.end(), line) != lines.end()) {
        Flush();
        delimiter_ = std::string(t);
      }
      return;
    }
    if (StartsWith(t, ".. ")) {  // reST directive or comment
      Flush();
      std::string_view rest = Trim(t.substr(3));
      size_t colons = rest.find("::");
      std::string_view name = colons == std::string_view::npos ? std::string_view() : rest.substr(0, colons);
      if (name.find(':') != std::string_view::npos) name = name.substr(name.rfind(':') + 1);  // py:function
      if (IsObjectDirective(name)) {
        Emit(BlockKind::kHeading, StripInlineMarkup(rest.substr(colons + 2)));
      } else if (colons == std::string_view::npos || IsCodeDirective(name)) {
        literal_ = true;  // a comment or code: skip its indented body
        literal_indent_ = indent;
      }
      return;
    }
    if (StartsWith(t, ">>>") || (StartsWith(t, "...") && t.size() > 3 && t[3] == ' ')) {  // an interpreter session
      Flush();
      return;
    }
    if (t[0] == '#' || t[0] == '=') {  // Markdown "## Title", AsciiDoc "== Title =="
      size_t level = t.find_first_not_of(t[0]);
      if (level != std::string_view::npos && level <= 6 && (t[level] == ' ' || t[level] == '\t')) {
        Flush();
        std::string_view title = Trim(t.substr(level));
        while (!title.empty() && title.back() == t[0]) title.remove_suffix(1);
        Emit(BlockKind::kHeading, StripInlineMarkup(Trim(title)));
        return;
      }
    }
    if (t[0] == '|') {
      TableLine(t);
      return;
    }
    if (size_t marker = ListMarker(t); marker > 0) {
      Flush();
      kind_ = BlockKind::kListItem;
      current_.push_back(std::string(t.substr(marker)));
      in_list_ = true;
      return;
    }
    if (was_blank && indent >= 4 && !in_list_) return;  // an indented code block
    if (t[0] == '>') t = Trim(t.substr(1));              // a quotation reads as text
    if (current_.empty()) {
      kind_ = BlockKind::kParagraph;
      if (was_blank && indent < 2) in_list_ = false;
    }
    if (size_t sep = t.find(":: "); sep != std::string_view::npos && std::string_view("`-'<[*").find(t[0]) != std::string_view::npos) {
      Flush();  // AsciiDoc "'%d':: ref names, …": the term, then its description
      Emit(BlockKind::kHeading, StripInlineMarkup(t.substr(0, sep)));
      kind_ = BlockKind::kParagraph;
      current_.push_back(std::string(Trim(t.substr(sep + 3))));
      return;
    }
    if (t.size() >= 2 && t.substr(t.size() - 2) == "::") {
      // An AsciiDoc labeled-list term ("--force::", "`git log -p`::") has its
      // description on the next line, or reads as code or an option; a reST
      // "For example::" is prose, and a blank line and a literal block follow.
      bool followed = i + 1 < lines.size() && !Trim(lines[i + 1]).empty();
      bool term_like = std::string_view("`-'<[*").find(t[0]) != std::string_view::npos;
      if (term_like || (followed && current_.empty())) {
        Flush();
        Emit(BlockKind::kHeading, StripInlineMarkup(t.substr(0, t.size() - 2)));
        return;
      }
      t.remove_suffix(1);  // reST: "text::" reads "text:", and an indented literal block follows
      if (t.size() >= 2 && t[t.size() - 2] == ' ') t.remove_suffix(2);  // "text ::" -> "text"
      current_.push_back(std::string(t));
      Flush();
      literal_ = true;
      literal_indent_ = indent;
      return;
    }
    current_.push_back(std::string(t));
  }

  void TableLine(std::string_view t) {
    Flush();
    std::vector<std::string> raw;
    {
      std::string_view s = t;
      if (!s.empty() && s.front() == '|') s.remove_prefix(1);
      if (!s.empty() && s.back() == '|') s.remove_suffix(1);
      size_t start = 0;
      for (size_t k = 0; k <= s.size(); ++k) {
        if (k == s.size() || s[k] == '|') {
          raw.emplace_back(s.substr(start, k - start));
          start = k + 1;
        }
      }
    }
    if (IsSeparatorRow(raw)) {  // the row before it is the header
      if (table_ && rows_in_table_ == 1 && !blocks_.empty() && blocks_.back().kind == BlockKind::kTableRow) {
        header_ = blocks_.back().cells;
        blocks_.pop_back();
      }
      ++rows_in_table_;
      return;
    }
    if (!table_) {
      table_ = true;
      header_.clear();
      rows_in_table_ = 0;
    }
    ++rows_in_table_;
    TextBlock b;
    b.kind = BlockKind::kTableRow;
    b.cells = TableCells(t);
    b.header = header_;
    b.text = RenderTableRow(b.header, b.cells);
    if (!b.text.empty()) blocks_.push_back(std::move(b));
  }

  void Flush() {
    if (current_.empty()) return;
    std::string joined;
    for (const std::string& l : current_) {
      if (!joined.empty()) joined += ' ';
      joined += l;
    }
    current_.clear();
    Emit(kind_, StripInlineMarkup(joined));
  }

  void Emit(BlockKind kind, std::string text) {
    if (text.empty()) return;
    TextBlock b;
    b.kind = kind;
    b.text = std::move(text);
    blocks_.push_back(std::move(b));
  }

  std::vector<TextBlock> blocks_;
  std::vector<std::string> current_;  // lines of the block being read
  BlockKind kind_ = BlockKind::kParagraph;
  bool blank_ = true;                 // the previous line was blank (or there was none)
  bool in_list_ = false;              // indented lines after a blank continue a list
  char fence_char_ = 0;
  size_t fence_len_ = 0;
  std::string delimiter_;
  bool literal_ = false;
  size_t literal_indent_ = 0;
  enum class Skip { kNone, kParagraph, kGridTable, kSimpleTable };
  Skip skip_ = Skip::kNone;
  bool table_ = false;
  size_t rows_in_table_ = 0;
  std::vector<std::string> header_;
};
}  // namespace

std::vector<TextBlock> SplitBlocks(std::string_view text) { return BlockReader().Read(text); }

}  // namespace folio
