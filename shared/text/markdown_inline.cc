// markdown_inline.cc: one line of text as plain words: inline markup
// stripped in one pass (code spans kept verbatim), table rows rendered with
// their column names, paragraphs cut into sentences.
#include <algorithm>
#include <array>
#include <string>

#include "markdown_scan.h"
#include "markdown_text.h"

namespace folio {
namespace {

using markdown_scan::IsAlnum;
using markdown_scan::IsSpace;
using markdown_scan::StartsWith;
using markdown_scan::Trim;

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
