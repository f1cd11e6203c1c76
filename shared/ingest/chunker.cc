// chunker.cc: Markdown sectioning, then a sliding window over words.
//
// Sectioning follows CommonMark closely enough for prose KBs: an ATX heading
// is up to 3 spaces, 1-6 '#', then a space/tab or end of line; a fence opens
// with >= 3 '`' or '~' and closes with a run of the same character at least
// as long. Only levels 1-3 start a section and enter the heading path; deeper
// headings stay in the text (they still help keyword matching). Setext
// headings (text underlined with ===) are not recognised.
//
// Windowing works on "words" (maximal runs of non-space bytes) with prefix
// sums of ASCII bytes and non-ASCII characters, so the token estimate of any
// word range [s, e) is O(1) and matches EstimateTokens() of the same bytes.
//
// Defaults (200 / 40) were measured with bench/eval_retrieval on kb/ and
// bench/eval/questions.json (70 questions; hybrid hit@1 / MRR):
//   100/20: 0.814 / 0.882   150/30: 0.829 / 0.889   200/40: 0.843 / 0.895
//   and identical for 250-400 (every kb/ section already fits in 200 tokens, so
//   sections, not the window, set the cuts there; overlap 0 vs 40 likewise).
// 200 is the smallest target at the plateau: smaller chunks cost hits, larger
// ones only cost prompt budget (5 hits * 200 = ~1k tokens of context).
#include "chunker.h"

#include <algorithm>

#include "token_estimate.h"

namespace folio {
namespace {

struct Section {
  std::string heading;
  std::string_view body;
};

bool IsSpace(unsigned char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\f' || c == '\v'; }

std::string NormalizeNewlines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

bool IsMarkdown(std::string_view source) {
  auto ends = [&](std::string_view ext) {
    if (source.size() < ext.size()) return false;
    for (size_t i = 0; i < ext.size(); ++i) {
      char c = source[source.size() - ext.size() + i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != ext[i]) return false;
    }
    return true;
  };
  return ends(".md") || ends(".markdown");
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Strips up to 3 leading spaces; returns false if the line is indented more.
bool StripIndent(std::string_view* line) {
  size_t n = 0;
  while (n < line->size() && (*line)[n] == ' ') ++n;
  if (n > 3) return false;
  line->remove_prefix(n);
  return true;
}

// A fence line: returns the fence char and run length, or 0.
size_t FenceRun(std::string_view line, char* fence_char) {
  if (!StripIndent(&line) || line.empty() || (line[0] != '`' && line[0] != '~')) return 0;
  size_t n = 0;
  while (n < line.size() && line[n] == line[0]) ++n;
  if (n < 3) return 0;
  *fence_char = line[0];
  return n;
}

// An ATX heading: returns its level (1-6) and text, or 0.
int HeadingLevel(std::string_view line, std::string_view* title) {
  if (!StripIndent(&line)) return 0;
  int level = 0;
  while (static_cast<size_t>(level) < line.size() && line[level] == '#') ++level;
  if (level < 1 || level > 6) return 0;
  std::string_view rest = line.substr(level);
  if (!rest.empty() && rest[0] != ' ' && rest[0] != '\t') return 0;
  rest = Trim(rest);
  while (!rest.empty() && rest.back() == '#') rest.remove_suffix(1);  // closing #s
  *title = Trim(rest);
  return level;
}

std::string JoinPath(const std::vector<std::string>& path, const std::string& fallback) {
  std::string out;
  for (const std::string& p : path) {
    if (p.empty()) continue;
    if (!out.empty()) out += " > ";
    out += p;
  }
  return out.empty() ? fallback : out;
}

std::vector<Section> SplitMarkdown(std::string_view text, const std::string& title) {
  std::vector<Section> sections;
  std::vector<std::string> path;  // index = level - 1, levels 1..3
  std::string heading = title;
  size_t body_start = 0;
  char fence_char = 0;
  size_t fence_len = 0;  // 0: not in a fence
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t line_end = nl == std::string_view::npos ? text.size() : nl;
    size_t next = nl == std::string_view::npos ? text.size() : nl + 1;
    std::string_view line = text.substr(pos, line_end - pos);
    char c = 0;
    size_t run = FenceRun(line, &c);
    std::string_view htitle;
    int level = 0;
    if (fence_len > 0) {
      // Closing fence: the same character, at least as long, nothing after it.
      std::string_view t = Trim(line);
      if (run >= fence_len && c == fence_char && t.find_first_not_of(c) == std::string_view::npos) fence_len = 0;
    } else if (run > 0) {
      fence_char = c;
      fence_len = run;
    } else if ((level = HeadingLevel(line, &htitle)) >= 1 && level <= 3) {
      sections.push_back({heading, text.substr(body_start, pos - body_start)});
      path.resize(level);
      path[level - 1] = std::string(htitle);
      heading = JoinPath(path, title);
      body_start = next;
    }
    pos = next;
  }
  sections.push_back({heading, text.substr(body_start)});
  return sections;
}

// Word spans plus prefix counts, for O(1) token estimates of word ranges.
struct Words {
  std::vector<size_t> start, end;
  std::vector<size_t> ascii_at_start, ascii_at_end, wide_at_start, wide_at_end;
  size_t size() const { return start.size(); }
  size_t Tokens(size_t s, size_t e) const {  // words [s, e), e > s
    size_t words = e - s;
    size_t ascii = ascii_at_end[e - 1] - ascii_at_start[s];
    size_t wide = wide_at_end[e - 1] - wide_at_start[s];
    size_t by_words = (4 * words + 2) / 3;
    size_t by_bytes = (ascii + 3) / 4 + wide;
    return std::max(by_words, by_bytes);
  }
};

Words FindWords(std::string_view body, size_t max_run_bytes) {
  Words w;
  size_t ascii = 0, wide = 0;
  size_t i = 0;
  const size_t n = body.size();
  auto count = [&](unsigned char c) {
    if (c < 0x80) ++ascii;
    else if ((c & 0xC0) != 0x80) ++wide;
  };
  while (i < n) {
    if (IsSpace(body[i])) {
      count(body[i]);
      ++i;
      continue;
    }
    w.start.push_back(i);
    w.ascii_at_start.push_back(ascii);
    w.wide_at_start.push_back(wide);
    size_t run_start = i;
    while (i < n && !IsSpace(body[i])) {
      // Cut a runaway run, but only before a UTF-8 lead byte.
      if (i - run_start >= max_run_bytes && (static_cast<unsigned char>(body[i]) & 0xC0) != 0x80) break;
      count(body[i]);
      ++i;
    }
    w.end.push_back(i);
    w.ascii_at_end.push_back(ascii);
    w.wide_at_end.push_back(wide);
  }
  return w;
}

// How good a cut after word k-1 (before word k) is: 3 paragraph, 2 sentence, 1 line, 0 none.
int CutQuality(std::string_view body, const Words& w, size_t k) {
  std::string_view gap = body.substr(w.end[k - 1], w.start[k] - w.end[k - 1]);
  size_t newlines = std::count(gap.begin(), gap.end(), '\n');
  if (newlines >= 2) return 3;
  char last = body[w.end[k - 1] - 1];
  if (last == '.' || last == '!' || last == '?' || last == ':') return 2;
  return newlines == 1 ? 1 : 0;
}

void ChunkSection(const std::string& source, const Section& section, const ChunkerOptions& opt,
                  std::vector<Chunk>* out) {
  Words w = FindWords(section.body, std::max<size_t>(64, 2 * opt.target_tokens));
  const size_t n = w.size();
  size_t s = 0;
  while (s < n) {
    size_t e = s + 1;  // always take at least one word
    while (e < n && w.Tokens(s, e + 1) <= opt.target_tokens) ++e;
    if (e < n && w.Tokens(s, n) <= opt.target_tokens + opt.target_tokens / 4) {
      e = n;  // the rest fits with a little slack: no tiny tail chunk
    } else if (e < n) {
      // Best cut in the second half of the window; later wins among equals.
      size_t best = e;
      int best_q = 0;
      for (size_t k = e; k > s + (e - s) / 2 && k > s + 1; --k) {
        int q = CutQuality(section.body, w, k);
        if (q > best_q) {
          best_q = q;
          best = k;
          if (q == 3) break;
        }
      }
      e = best;
    }
    Chunk c;
    c.source = source;
    c.heading = section.heading;
    c.text = std::string(section.body.substr(w.start[s], w.end[e - 1] - w.start[s]));
    c.tokens = EstimateTokens(c.text);
    out->push_back(std::move(c));
    if (e >= n) break;
    size_t next = e;
    while (next > s + 1 && w.Tokens(next - 1, e) <= opt.overlap_tokens) --next;
    s = std::max(next, s + 1);
  }
}

}  // namespace

Status ChunkerOptions::Validate() const {
  if (target_tokens < 16 || target_tokens > 8192) {
    return InvalidArgument("bad_chunk_tokens", "chunk target must be between 16 and 8192 tokens");
  }
  if (overlap_tokens > target_tokens / 2) {
    return InvalidArgument("bad_overlap", "overlap must be at most half the chunk target");
  }
  return Status::Ok();
}

std::string FileTitle(std::string_view source) {
  size_t slash = source.find_last_of('/');
  std::string_view name = slash == std::string_view::npos ? source : source.substr(slash + 1);
  size_t dot = name.find_last_of('.');
  if (dot != std::string_view::npos && dot > 0) name = name.substr(0, dot);
  std::string title(name);
  std::replace(title.begin(), title.end(), '-', ' ');
  std::replace(title.begin(), title.end(), '_', ' ');
  return title;
}

std::vector<Chunk> ChunkDocument(std::string_view source, std::string_view text, const ChunkerOptions& options) {
  std::vector<Chunk> chunks;
  std::string normalized = NormalizeNewlines(text);
  std::string title = FileTitle(source);
  std::vector<Section> sections;
  if (IsMarkdown(source)) {
    sections = SplitMarkdown(normalized, title);
  } else {
    sections.push_back({title, normalized});
  }
  std::string src(source);
  for (const Section& section : sections) ChunkSection(src, section, options, &chunks);
  return chunks;
}

}  // namespace folio
