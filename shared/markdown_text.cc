// markdown_text.cc: a line-by-line block reader and a one-pass inline
// stripper. Neither is a full CommonMark parser: they only need to turn the
// text of a knowledge base into sentences a person can read, and to never
// show markup. Anything they do not recognise is kept as text.
#include "markdown_text.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace folio {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) || (static_cast<unsigned char>(c) & 0x80); }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

size_t Indent(std::string_view line) {
  size_t n = 0;
  for (char c : line) {
    if (c == ' ') ++n;
    else if (c == '\t') n += 4;
    else break;
  }
  return n;
}

std::string CollapseSpaces(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (IsSpace(c)) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
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

// "b", "/em", "br /", "a href=…": an HTML tag's inside, by its name. Other
// <words> are placeholders of the text ("git checkout <commit>") and stay.
bool IsHtmlTag(std::string_view inner) {
  static constexpr std::array<std::string_view, 30> kTags = {
      "a", "abbr", "b", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em", "h1", "h2", "h3",
      "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "span", "strong", "sub", "sup"};
  static constexpr std::array<std::string_view, 7> kMore = {"summary", "table", "td", "th", "tr", "u", "ul"};
  if (!inner.empty() && inner[0] == '/') inner.remove_prefix(1);
  size_t end = inner.find_first_of(" \t/");
  std::string name(inner.substr(0, end));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return std::find(kTags.begin(), kTags.end(), name) != kTags.end() ||
         std::find(kMore.begin(), kMore.end(), name) != kMore.end();
}

// Removes emphasis markers from a run of plain (non-code) text and resolves
// links, tags, escapes and AsciiDoc forms; appends to *out.
void StripPlain(std::string_view s, std::string* out) {
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size() && std::ispunct(static_cast<unsigned char>(s[i + 1]))) {
      out->push_back(s[i + 1]);
      i += 2;
      continue;
    }
    if (c == '{') {
      static constexpr std::pair<std::string_view, std::string_view> kAttrs[] = {
          {"{caret}", "^"}, {"{tilde}", "~"}, {"{litdd}", "--"}, {"{apostrophe}", "'"}, {"{startsb}", "["}, {"{endsb}", "]"}};
      bool replaced = false;
      for (const auto& [from, to] : kAttrs) {
        if (s.substr(i, from.size()) == from) {
          out->append(to);
          i += from.size();
          replaced = true;
          break;
        }
      }
      if (replaced) continue;
    }
    if (s.substr(i, 8) == "linkgit:") {  // linkgit:git-log[1] -> git-log(1)
      size_t open = s.find('[', i);
      size_t close = open == std::string_view::npos ? open : s.find(']', open);
      if (close != std::string_view::npos && close - i < 80) {
        out->append(s.substr(i + 8, open - i - 8));
        out->append("(").append(s.substr(open + 1, close - open - 1)).append(")");
        i = close + 1;
        continue;
      }
    }
    if ((c == '[' || (c == '!' && i + 1 < s.size() && s[i + 1] == '['))) {  // [text](url), ![alt](url), [text][ref]
      size_t open = c == '!' ? i + 1 : i;
      size_t close = s.find(']', open);
      if (close != std::string_view::npos && close + 1 < s.size() && (s[close + 1] == '(' || s[close + 1] == '[')) {
        char end = s[close + 1] == '(' ? ')' : ']';
        size_t target_end = s.find(end, close + 2);
        if (target_end != std::string_view::npos) {
          StripPlain(s.substr(open + 1, close - open - 1), out);
          i = target_end + 1;
          continue;
        }
      }
    }
    if (c == '<') {  // <https://…> keeps the address; an HTML tag goes
      size_t close = s.find('>', i);
      if (close != std::string_view::npos && close - i < 120) {
        std::string_view inner = s.substr(i + 1, close - i - 1);
        if (StartsWith(inner, "http://") || StartsWith(inner, "https://") || StartsWith(inner, "mailto:")) {
          out->append(inner);
          i = close + 1;
          continue;
        }
        if (IsHtmlTag(inner)) {
          i = close + 1;
          continue;
        }
      }
    }
    if (c == '*' || c == '_' || c == '~') {
      size_t run = s.find_first_not_of(c, i);
      run = (run == std::string_view::npos ? s.size() : run) - i;
      char prev = i == 0 ? ' ' : s[i - 1];
      char next = i + run < s.size() ? s[i + run] : ' ';
      bool opens = !IsSpace(next) && !IsAlnum(prev);
      bool closes = !IsSpace(prev) && !IsAlnum(next);
      bool strip = c == '~' ? run == 2 : run <= 3 && (opens || closes);
      if (strip) {
        i += run;
        continue;
      }
      out->append(s.substr(i, run));
      i += run;
      continue;
    }
    out->push_back(c);
    ++i;
  }
}

// reST role text: "~re.Pattern.findall" -> "re.Pattern.findall", "text <target>" -> "text",
// Backslash escapes resolved ("image/\*" -> "image/*").
std::string RoleText(std::string_view code) {
  if (!code.empty() && (code[0] == '~' || code[0] == '!')) code.remove_prefix(1);
  if (code.size() > 2 && code.back() == '>') {
    size_t lt = code.rfind(" <");
    if (lt != std::string_view::npos && lt > 0) code = code.substr(0, lt);
  }
  std::string out;
  for (size_t i = 0; i < code.size(); ++i) {
    if (code[i] == '\\' && i + 1 < code.size()) ++i;
    out += code[i];
  }
  return out;
}

}  // namespace

std::vector<TextBlock> SplitBlocks(std::string_view text) { return BlockReader().Read(text); }

std::string StripInlineMarkup(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t plain_start = 0;
  for (size_t i = 0; i < text.size();) {
    if (text[i] != '`' || (i > 0 && text[i - 1] == '\\')) {
      ++i;
      continue;
    }
    size_t run = text.find_first_not_of('`', i);
    run = (run == std::string_view::npos ? text.size() : run) - i;
    size_t close = text.find(std::string(run, '`'), i + run);
    while (close != std::string_view::npos && close + run < text.size() && text[close + run] == '`') {
      close = text.find(std::string(run, '`'), close + run + 1);
    }
    if (close == std::string_view::npos) {  // an unmatched backtick is dropped
      StripPlain(text.substr(plain_start, i - plain_start), &out);
      i += run;
      plain_start = i;
      continue;
    }
    std::string_view plain = text.substr(plain_start, i - plain_start);
    bool role = false;  // reST :role:`text`
    if (!plain.empty() && plain.back() == ':') {
      size_t k = plain.size() - 1;
      while (k > 0 && (std::isalnum(static_cast<unsigned char>(plain[k - 1])) || plain[k - 1] == ':' || plain[k - 1] == '-' || plain[k - 1] == '+')) --k;
      if (k < plain.size() - 1 && plain[k] == ':' && (k == 0 || !IsAlnum(plain[k - 1]))) {
        plain = plain.substr(0, k);
        role = true;
      }
    }
    StripPlain(plain, &out);
    std::string_view code = Trim(text.substr(i + run, close - i - run));
    size_t after = close + run;
    bool link = false;  // reST `text <url>`_
    while (after < text.size() && text[after] == '_' && run == 1) {
      ++after;
      link = true;
    }
    if (role || link) out.append(RoleText(code));
    else out.append(code);
    i = plain_start = after;
  }
  StripPlain(text.substr(plain_start), &out);
  return CollapseSpaces(out);
}

std::string RenderTableRow(const std::vector<std::string>& header, const std::vector<std::string>& cells) {
  std::string out;
  for (size_t i = 0; i < cells.size(); ++i) {
    std::string_view cell = Trim(cells[i]);
    if (cell.empty() || cell == "-" || cell == "\xE2\x80\x94" || cell == "\xE2\x80\x93") continue;
    if (!out.empty()) out += "; ";
    std::string_view name = i < header.size() ? Trim(header[i]) : std::string_view();
    if (!name.empty()) out.append(name).append(": ");
    out.append(cell);
  }
  return out;
}

std::vector<std::string> SplitSentences(std::string_view paragraph) {
  static constexpr std::array<std::string_view, 14> kAbbrev = {"e.g", "i.e", "etc", "vs", "cf", "mr", "mrs", "ms",
                                                               "dr", "st", "approx", "incl", "no", "fig"};
  std::vector<std::string> out;
  size_t start = 0;
  auto push = [&](size_t end) {
    std::string_view s = Trim(paragraph.substr(start, end - start));
    if (!s.empty()) out.emplace_back(s);
    start = end;
  };
  for (size_t i = 0; i < paragraph.size(); ++i) {
    char c = paragraph[i];
    if (c != '.' && c != '!' && c != '?') continue;
    size_t end = i + 1;
    while (end < paragraph.size() && std::string_view(")]\"'").find(paragraph[end]) != std::string_view::npos) ++end;
    // Closing curly quotes (U+2019, U+201D) end a sentence too.
    while (end + 2 < paragraph.size() && static_cast<unsigned char>(paragraph[end]) == 0xE2 &&
           static_cast<unsigned char>(paragraph[end + 1]) == 0x80 &&
           (static_cast<unsigned char>(paragraph[end + 2]) == 0x99 || static_cast<unsigned char>(paragraph[end + 2]) == 0x9D)) {
      end += 3;
    }
    if (end < paragraph.size() && !IsSpace(paragraph[end])) continue;  // "1.5", "json.dumps"
    if (c == '.') {
      size_t w = i;
      while (w > start && !IsSpace(paragraph[w - 1])) --w;
      std::string word(paragraph.substr(w, i - w));
      std::transform(word.begin(), word.end(), word.begin(), [](unsigned char ch) { return std::tolower(ch); });
      while (!word.empty() && !std::isalnum(static_cast<unsigned char>(word.front()))) word.erase(0, 1);
      if (std::find(kAbbrev.begin(), kAbbrev.end(), word) != kAbbrev.end()) continue;
      if (word.size() == 1 && std::isalpha(static_cast<unsigned char>(word[0]))) continue;  // an initial
      size_t next = paragraph.find_first_not_of(" \t", end);
      if (next != std::string_view::npos && std::islower(static_cast<unsigned char>(paragraph[next]))) continue;
    }
    push(end);
  }
  push(paragraph.size());
  return out;
}

}  // namespace folio
