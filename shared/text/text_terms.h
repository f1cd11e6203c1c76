// text_terms.h: the one tokenizer of the index: lowercased words, English
// stopwords and stemming (Porter's for the index terms, a light one for the
// hash embedder's features). The BM25 indexes, the embedders and the answer
// composer all use it, so a query is split exactly as the chunks were at ingest.
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace folio {

// Words longer than this are cut (a 100 KB base64 run is still one word, but
// only its first kMaxWordBytes count). Keeps per-word work bounded.
inline constexpr size_t kMaxWordBytes = 48;

// Calls fn(std::string_view word) for each word of `text`, in order. A word is
// a maximal run of ASCII letters/digits and non-ASCII bytes (so UTF-8 letters
// stay inside words); ASCII is lowercased. The view passed to fn points into a
// buffer that is reused for the next word.
template <typename Fn>
void ForEachWord(std::string_view text, Fn&& fn) {
  char buf[kMaxWordBytes];
  size_t len = 0;
  bool in_word = false;
  for (unsigned char c : text) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
    bool upper = c >= 'A' && c <= 'Z';
    if (alnum || upper) {
      if (len < kMaxWordBytes) buf[len++] = static_cast<char>(upper ? c + ('a' - 'A') : c);
      in_word = true;
    } else if (in_word) {
      fn(std::string_view(buf, len));
      len = 0;
      in_word = false;
    }
  }
  if (in_word) fn(std::string_view(buf, len));
}

// True for common English function words ("the", "of", "is", ...) and single
// ASCII letters. REQUIRES: `word` is lowercase (as ForEachWord yields).
bool IsStopword(std::string_view word);

// Light suffix stripping: plural -s/-es/-ies, -ing, -ed, a final -e, and a
// doubled final consonant left behind ("stopped" -> "stop"), so "projects",
// "project" and "projected" meet. Returns a view of `word` (a prefix) or of
// `*scratch`. REQUIRES: `word` is lowercase.
std::string_view Stem(std::string_view word, std::string* scratch);

// The base form of an irregular past form of a common verb ("grew" ->
// "grow", "built" -> "build"); any other word as it is. REQUIRES: lowercase.
std::string_view BaseForm(std::string_view word);

enum class Stemming {
  kPorter,  // PorterStem (porter_stem.h) of BaseForm: what the index uses
  kLight,   // Stem above: what the index used before (the plain BM25 baseline of bench/eval-retrieval)
};

// The index terms of `text`: stemmed words that are not stopwords, in order,
// duplicates kept. This is what BM25 indexes and what a query is matched on.
std::vector<std::string> IndexTerms(std::string_view text, Stemming stemming = Stemming::kPorter);

}  // namespace folio
