// anchor_text.cc: finding mentions of document names in one pass per
// document. Every document's text is split into words (ASCII letters,
// digits, '_' and any byte >= 0x80, lowercased) with their byte ranges; a
// name is a sequence of such words with the separators between them, so a
// mention is found by looking up each word of the text among the first
// words of the names (a hash map) and comparing the rest in place. The
// rarity of one-word names is counted on the way (the documents a name's
// word appears in at all), and mentions in prose are kept or dropped once
// every document has been read.
#include "anchor_text.h"

#include <algorithm>
#include <unordered_map>

namespace folio {
namespace {

struct Word {
  std::string_view text;  // into the lowercased copy of the document
  size_t begin = 0, end = 0;
};

bool IsWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

std::string Lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

// The words of `lower` (a lowercased text; positions are the same in the original).
std::vector<Word> Words(std::string_view lower) {
  std::vector<Word> out;
  for (size_t i = 0; i < lower.size();) {
    if (!IsWordByte(static_cast<unsigned char>(lower[i]))) {
      ++i;
      continue;
    }
    const size_t begin = i;
    while (i < lower.size() && IsWordByte(static_cast<unsigned char>(lower[i]))) ++i;
    out.push_back({lower.substr(begin, i - begin), begin, i});
  }
  return out;
}

struct Name {
  std::vector<std::string> words;
  std::string separators;  // separators[i] comes between words[i] and words[i + 1]
  uint32_t document = 0;
};

// The characters around a one-word mention that make it a reference
// rather than the word used in prose: `shutil`, :mod:`shutil`, 'git',
// "<shutil>", [shutil], path/shutil.md, *shutil*, shutil(1), shutil.copy.
bool MarkedAsReference(std::string_view text, size_t begin, size_t end) {
  const char before = begin > 0 ? text[begin - 1] : ' ';
  const char after = end < text.size() ? text[end] : ' ';
  if (std::string_view("`:'\"<[/*").find(before) != std::string_view::npos) return true;
  if (std::string_view("`(['\"*").find(after) != std::string_view::npos) return true;
  return after == '.' && end + 1 < text.size() && IsWordByte(static_cast<unsigned char>(text[end + 1]));
}

// Looks names up by the views of a text's words without copying them.
struct WordHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct Mention {
  uint32_t target = 0;
  size_t first_word = 0, words = 0;
  bool marked = false;
};

}  // namespace

std::string DocumentName(std::string_view source) {
  size_t slash = source.find_last_of('/');
  std::string name = Lowercase(slash == std::string_view::npos ? source : source.substr(slash + 1));
  static constexpr std::string_view kTextExtensions[] = {".txt", ".md", ".markdown", ".rst", ".adoc", ".asciidoc",
                                                         ".html", ".htm"};
  for (bool stripped = true; stripped;) {
    stripped = false;
    for (std::string_view ext : kTextExtensions) {
      if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0) {
        name.resize(name.size() - ext.size());
        stripped = true;
      }
    }
  }
  return name;
}

std::vector<std::string> AnchorTexts(const std::vector<KbDocument>& documents, const AnchorOptions& options) {
  std::unordered_map<std::string, std::vector<Name>, WordHash, std::equal_to<>> by_first_word;
  for (uint32_t d = 0; d < documents.size(); ++d) {
    const std::string name = DocumentName(documents[d].source);
    std::vector<Word> words = Words(name);
    if (words.empty() || name.size() < 2) continue;
    Name n;
    n.document = d;
    for (size_t i = 0; i < words.size(); ++i) {
      if (i > 0) n.separators.push_back(words[i].begin > words[i - 1].end ? name[words[i - 1].end] : ' ');
      n.words.emplace_back(words[i].text);
    }
    by_first_word[n.words[0]].push_back(std::move(n));
  }

  // Pass 1: every mention, and in how many documents each one-word name's
  // word appears. Only the mentions are kept (the words of a large KB would
  // not fit in a small container's memory): pass 2 splits the text again.
  std::vector<std::vector<Mention>> mentions(documents.size());
  std::unordered_map<uint32_t, size_t> word_documents;  // one-word name's document -> documents using the word
  for (uint32_t src = 0; src < documents.size(); ++src) {
    const std::string lower = Lowercase(documents[src].text);
    const std::string_view text = lower;
    const std::vector<Word> words = Words(lower);
    std::vector<uint32_t> seen_here;
    for (size_t i = 0; i < words.size(); ++i) {
      auto it = by_first_word.find(words[i].text);
      if (it == by_first_word.end()) continue;
      for (const Name& n : it->second) {
        const size_t count = n.words.size();
        if (count == 1) seen_here.push_back(n.document);
        if (n.document == src || i + count > words.size()) continue;
        bool match = true;
        for (size_t k = 1; k < count && match; ++k) {
          const Word& prev = words[i + k - 1];
          const Word& next = words[i + k];
          const char want = n.separators[k - 1];
          match = next.text == n.words[k] && next.begin == prev.end + 1 &&
                  (text[prev.end] == want || (want == '-' && text[prev.end] == ' '));
        }
        if (!match) continue;
        mentions[src].push_back({n.document, i, count, count > 1 || MarkedAsReference(text, words[i].begin, words[i].end)});
      }
    }
    std::sort(seen_here.begin(), seen_here.end());
    seen_here.erase(std::unique(seen_here.begin(), seen_here.end()), seen_here.end());
    for (uint32_t d : seen_here) ++word_documents[d];
  }

  // Pass 2: the words around each mention kept.
  std::vector<std::string> anchors(documents.size());
  for (uint32_t src = 0; src < documents.size(); ++src) {
    if (mentions[src].empty()) continue;
    const std::string lower = Lowercase(documents[src].text);
    const std::vector<Word> words = Words(lower);
    std::unordered_map<uint32_t, size_t> per_target;
    for (const Mention& m : mentions[src]) {
      const bool rare = word_documents[m.target] * 20 <= documents.size();
      if (!m.marked && !rare) continue;
      if (++per_target[m.target] > options.per_source) continue;
      const size_t from = m.first_word >= options.window ? m.first_word - options.window : 0;
      const size_t to = std::min(words.size(), m.first_word + m.words + options.window);
      std::string& out = anchors[m.target];
      for (size_t k = from; k < to; ++k) {
        if (k >= m.first_word && k < m.first_word + m.words) continue;  // the name itself is the page's own word
        out += words[k].text;
        out += ' ';
      }
      if (!out.empty()) out.back() = '\n';
    }
  }
  return anchors;
}

}  // namespace folio
