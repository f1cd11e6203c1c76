// extractive_answer.cc: candidate units, their scores, the pick, the words.
//
// A unit is what can be quoted whole: a sentence of a paragraph, a list
// item (never cut between its sentences: items are short and read as one),
// or a table row rendered with its column names. Scores, for question terms
// Q (IndexTerms: stemmed, no stopwords) weighted by w(t) = ln(1 + N / df(t))
// over the N candidate units:
//   coverage  the share of Q's weight found in the unit's own words;
//   heading   the share found in the headings above it (the section path,
//             a deeper heading inside the passage, a table's column names):
//             worth half, and a quarter more for the first unit of its
//             section, which is where a FAQ puts the answer to its heading;
//   rank      0.2 / (1 + the passage's rank): retrieval's own opinion;
//   length    units under 5 words count 0.7, over 60 words 0.85;
//   echo      a short unit made mostly of the question's own terms restates
//             it ("What colleagues say about working with her.") rather
//             than answering it — unless the question asks for a number
//             and the unit has one: it counts 0.1, and the units after it
//             in its passage take its terms as a heading (they are what it
//             introduces);
//   number    a question asking how much, how many, how long or when is
//             answered by a number: units with a digit or a number word
//             get 0.25 more.
// The pick: the best unit; then the best unit of each other passage that
// covers some of the question and scores at least 0.3 of the best (each
// source the retrieval found gets its say); then the next best units
// scoring at least half the best, within the budget. When the best unit
// is a table row or a list item, the other rows or items of its section
// get 0.25 more: a table or a list answers as a whole. Otherwise at most
// three units come from one passage (with its related sections it may
// hold most of the candidates): the rest leave room for another source.
// Column names count as headings, not as coverage: otherwise every row of
// a "Language | Level" table would match "what language…" as well as the
// sentence that answers it.
#include "extractive_answer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include "markdown_text.h"
#include "text_terms.h"

namespace folio {
namespace {

constexpr double kHeadingWeight = 0.5;
constexpr double kFirstInSectionWeight = 0.25;
constexpr double kRankWeight = 0.2;
constexpr double kKeepRatio = 0.5;     // further units must score this share of the best
constexpr double kOtherSourceRatio = 0.3;  // ... or this share for the best unit of a passage not yet quoted
constexpr double kDuplicateJaccard = 0.6;
constexpr double kEchoShare = 0.6;     // a unit whose terms are this much the question's restates it
constexpr size_t kEchoMaxWords = 16;
constexpr double kEchoFactor = 0.1;
constexpr double kNumberBonus = 0.25;
constexpr double kSiblingBonus = 0.25;
constexpr size_t kMaxPerPassage = 3;   // from one passage, unless a table or a list answers: room for other sources

// "how many/much/long/far/fast/big/old/often", "when", "what year": the
// answer is a number or a date.
bool AsksForANumber(std::string_view question) {
  std::string q;
  for (char c : question) q += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static constexpr std::string_view kCues[] = {"how many", "how much", "how long", "how far", "how fast",
                                               "how quickly", "how big", "how large", "how old", "how often",
                                               "when ", "what year", "what percentage"};
  for (std::string_view cue : kCues) {
    size_t at = q.find(cue);
    if (at != std::string::npos && (at == 0 || !std::isalpha(static_cast<unsigned char>(q[at - 1])))) return true;
  }
  return false;
}

bool HasNumber(std::string_view s) {
  if (std::any_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return true;
  static constexpr std::string_view kWords[] = {"one", "two", "three", "four", "five", "six", "seven", "eight",
                                                "nine", "ten", "eleven", "twelve", "twenty", "thirty", "fifty",
                                                "hundred", "thousand", "million", "billion", "dozen", "half"};
  bool found = false;
  ForEachWord(s, [&](std::string_view w) {
    found = found || std::find(std::begin(kWords), std::end(kWords), w) != std::end(kWords);
  });
  return found;
}

struct Unit {
  std::string text;
  size_t passage = 0;
  size_t order = 0;            // reading order over all passages
  size_t in_section = 0;       // 0 for the first unit under its heading
  size_t section = 0;          // units under the same heading of the same passage share it
  size_t words = 0;
  bool table_row = false;
  bool list_item = false;
  bool echo = false;           // restates the question (see Score)
  bool related = false;        // from another section of the passage's document
  std::vector<std::string> terms;          // distinct, sorted
  std::vector<std::string> heading_terms;  // distinct, sorted
  double coverage = 0, heading = 0, score = 0;
};

std::vector<std::string> DistinctTerms(std::string_view text) {
  std::vector<std::string> t = IndexTerms(text);
  std::sort(t.begin(), t.end());
  t.erase(std::unique(t.begin(), t.end()), t.end());
  return t;
}

size_t CountWords(std::string_view s) {
  size_t n = 0;
  ForEachWord(s, [&](std::string_view) { ++n; });
  return n;
}

bool Contains(const std::vector<std::string>& sorted, const std::string& t) {
  return std::binary_search(sorted.begin(), sorted.end(), t);
}

double Jaccard(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.empty() || b.empty()) return 0;
  std::vector<std::string> both;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
  return static_cast<double>(both.size()) / static_cast<double>(a.size() + b.size() - both.size());
}

// A command synopsis or a line of code rather than prose: brackets, pipes
// and the like make up more than an eighth of its characters (a chunk cut
// in the middle of a code block leaves such lines without their fence); or
// it holds a word made only of three or more markup characters ("<<<",
// "===", "---"): once its code spans are stripped, such a word reads as
// leftover markup, whatever the page meant by it.
bool LooksLikeCode(std::string_view text) {
  constexpr std::string_view kMarkup = "=-~^<>*#|+`";
  size_t symbols = 0;
  for (char c : text) symbols += std::string_view("[]{}<>|=$\\_*#`~^@%&;").find(c) != std::string_view::npos;
  if (symbols * 8 > text.size()) return true;
  size_t run = 0;  // markup characters since the last space
  bool only_markup = true;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ' ') {
      if (only_markup && run >= 3) return true;
      run = 0;
      only_markup = true;
    } else if (kMarkup.find(text[i]) != std::string_view::npos) {
      ++run;
    } else {
      only_markup = false;
    }
  }
  return false;
}

// The units of one section of text (a passage or one of its related
// sections), appended to *units.
void CollectSection(const std::string& section_heading, const std::string& text, size_t passage, bool related,
                    size_t* order, size_t* section, std::vector<Unit>* units) {
  std::string inner_heading;
  size_t in_section = 0;
  ++*section;
  for (TextBlock& b : SplitBlocks(text)) {
    if (b.kind == BlockKind::kHeading) {
      inner_heading = b.text;
      in_section = 0;
      ++*section;
      continue;
    }
    std::string heading = section_heading + "\n" + inner_heading;
    std::vector<std::string> pieces;
    if (b.kind == BlockKind::kParagraph) {
      pieces = SplitSentences(b.text);
    } else {
      pieces.push_back(b.text);
    }
    for (std::string& piece : pieces) {
      Unit u;
      u.table_row = b.kind == BlockKind::kTableRow;
      u.list_item = b.kind == BlockKind::kListItem;
      u.words = CountWords(piece);
      if (u.words < (u.table_row ? 2u : 3u) || LooksLikeCode(piece)) continue;
      std::string own = piece;  // what counts as the unit's own words
      if (u.table_row) {
        own.clear();
        for (const std::string& c : b.cells) own += c + "\n";
        for (const std::string& h : b.header) heading += "\n" + h;
      }
      u.terms = DistinctTerms(own);
      u.heading_terms = DistinctTerms(heading);
      u.text = std::move(piece);
      u.passage = passage;
      u.related = related;
      u.order = (*order)++;
      u.in_section = in_section++;
      u.section = *section;
      units->push_back(std::move(u));
    }
  }
}

std::vector<Unit> CollectUnits(const std::vector<Passage>& passages) {
  std::vector<Unit> units;
  size_t order = 0, section = 0;
  for (size_t p = 0; p < passages.size(); ++p) {
    CollectSection(passages[p].heading, passages[p].text, p, false, &order, &section, &units);
    for (const RelatedSection& r : passages[p].related) CollectSection(r.heading, r.text, p, true, &order, &section, &units);
  }
  return units;
}

// Marks the units that restate the question and gives their terms, as
// heading terms, to the units after them in their passage and its related
// sections: a page that opens by restating the question is its answer.
void MarkEchoes(std::vector<Unit>* units, const std::vector<std::string>& query, bool wants_number) {
  for (size_t i = 0; i < units->size(); ++i) {
    Unit& u = (*units)[i];
    size_t own = 0;
    for (const std::string& t : u.terms) own += std::binary_search(query.begin(), query.end(), t);
    u.echo = u.words <= kEchoMaxWords && own >= 2 && static_cast<double>(own) >= kEchoShare * u.terms.size() &&
             !(wants_number && HasNumber(u.text));  // "Processes 1.1 billion events a day" answers "how many events"
    if (!u.echo) continue;
    for (size_t j = i + 1; j < units->size() && (*units)[j].passage == u.passage; ++j) {
      std::vector<std::string>& h = (*units)[j].heading_terms;
      std::vector<std::string> merged;
      std::set_union(h.begin(), h.end(), u.terms.begin(), u.terms.end(), std::back_inserter(merged));
      h.swap(merged);
    }
  }
}

void Score(std::vector<Unit>* units, const std::vector<std::string>& query, bool wants_number) {
  std::map<std::string, double> weight;
  const double n = static_cast<double>(units->size());
  for (const std::string& t : query) {
    size_t df = 0;
    for (const Unit& u : *units) df += Contains(u.terms, t);  // headings repeat over their units: not counted
    weight[t] = std::log(1.0 + (n + 1.0) / (static_cast<double>(df) + 0.5));
  }
  double total = 0;
  for (const auto& [t, w] : weight) total += w;
  for (Unit& u : *units) {
    if (total > 0) {
      for (const auto& [t, w] : weight) {
        if (Contains(u.terms, t)) u.coverage += w;
        if (Contains(u.heading_terms, t)) u.heading += w;
      }
      u.coverage /= total;
      u.heading /= total;
    }
    u.score = u.coverage + kHeadingWeight * u.heading + (u.in_section == 0 ? kFirstInSectionWeight * u.heading : 0) +
              kRankWeight / ((u.related ? 2.0 : 1.0) + static_cast<double>(u.passage));
    if (u.words < 5 && !u.table_row) u.score *= 0.7;
    if (u.words > 60) u.score *= 0.85;
    if (u.echo) u.score *= kEchoFactor;
    if (wants_number && HasNumber(u.text)) u.score += kNumberBonus;
  }
}

// Cuts `text` to at most `limit` bytes at a word boundary (UTF-8 safe), with "…".
std::string Cut(const std::string& text, size_t limit) {
  if (text.size() <= limit) return text;
  size_t cut = limit;
  while (cut > 0 && text[cut] != ' ') --cut;
  if (cut == 0) {
    cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  }
  std::string out = text.substr(0, cut);
  while (!out.empty() && (out.back() == ' ' || out.back() == ',' || out.back() == ';')) out.pop_back();
  return out + "\xE2\x80\xA6";  // …
}

// A quoted unit as a sentence: closing punctuation, and a capital first
// letter for a list item (it continued a lead-in: "she has: - built …"). A
// sentence that starts in lower case is left so ("git log shows …").
std::string AsSentence(std::string text, bool list_item) {
  if (list_item && !text.empty() && std::islower(static_cast<unsigned char>(text[0]))) {
    text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  }
  while (!text.empty() && (text.back() == ',' || text.back() == ';' || text.back() == ' ')) text.pop_back();
  if (!text.empty() && text.back() == ':') text.back() = '.';
  auto terminal = [](char c) { return c == '.' || c == '!' || c == '?'; };
  bool ends = !text.empty() && (terminal(text.back()) ||  // "(see below.)" ends; "(see Tollgate)" does not
                                (text.size() >= 2 && std::string_view(")\"'").find(text.back()) != std::string_view::npos &&
                                 terminal(text[text.size() - 2])));
  bool ellipsis = text.size() >= 3 && text.compare(text.size() - 3, 3, "\xE2\x80\xA6") == 0;
  if (!ends && !ellipsis) text += '.';
  return text;
}

std::string_view Lead(FallbackReason reason) {
  switch (reason) {
    case FallbackReason::kNotConfigured: return "From the knowledge base: ";
    case FallbackReason::kProviderFailing: return "The AI service is not answering right now; from the knowledge base: ";
    case FallbackReason::kBudgetExhausted: return "The assistant's daily budget is spent; from the knowledge base: ";
  }
  return "From the knowledge base: ";
}

std::string NothingFound(FallbackReason reason) {
  const std::string kMissing = "I could not find anything about that in the knowledge base. Try rephrasing the question.";
  switch (reason) {
    case FallbackReason::kNotConfigured: return kMissing;
    case FallbackReason::kProviderFailing: return "The AI service is not answering right now, and " + kMissing;
    case FallbackReason::kBudgetExhausted: return "The assistant's daily budget is spent, and " + kMissing;
  }
  return kMissing;
}

}  // namespace

FallbackReason FallbackReasonFor(Reason why) {
  if (why == Reason::kLlmNotConfigured) return FallbackReason::kNotConfigured;
  if (why == Reason::kBudgetExhausted) return FallbackReason::kBudgetExhausted;
  return FallbackReason::kProviderFailing;
}

FallbackReason FallbackReasonFor(std::string_view degraded_reason) {
  return FallbackReasonFor(ReasonOfToken(degraded_reason));
}

ExtractiveAnswer ComposeExtractiveAnswer(std::string_view question, const std::vector<Passage>& passages,
                                         FallbackReason reason, const ExtractiveOptions& options) {
  ExtractiveAnswer answer;
  std::vector<Unit> units = CollectUnits(passages);
  if (units.empty() || options.max_sentences == 0) {
    answer.text = NothingFound(reason);
    return answer;
  }
  const std::vector<std::string> query = DistinctTerms(question);
  const bool wants_number = AsksForANumber(question);
  MarkEchoes(&units, query, wants_number);
  Score(&units, query, wants_number);
  auto by_score = [](const Unit* a, const Unit* b) { return a->score > b->score; };
  std::vector<Unit*> ranked;
  for (Unit& u : units) ranked.push_back(&u);
  std::stable_sort(ranked.begin(), ranked.end(), by_score);
  if (ranked[0]->table_row || ranked[0]->list_item) {  // a table or a list answers as a whole
    for (Unit* u : ranked) {
      if (u != ranked[0] && u->section == ranked[0]->section && u->table_row == ranked[0]->table_row &&
          u->list_item == ranked[0]->list_item) {
        u->score += kSiblingBonus;
      }
    }
    std::stable_sort(ranked.begin() + 1, ranked.end(), by_score);
  }

  std::vector<const Unit*> chosen = {ranked[0]};
  size_t chars = std::min(ranked[0]->text.size(), options.max_chars);
  auto quoted = [&](size_t passage) {
    return std::any_of(chosen.begin(), chosen.end(), [&](const Unit* c) { return c->passage == passage; });
  };
  auto duplicate = [&](const Unit* u) {
    return std::any_of(chosen.begin(), chosen.end(), [&](const Unit* c) {
      return c == u || c->text == u->text || Jaccard(c->terms, u->terms) >= kDuplicateJaccard;
    });
  };
  // First the best unit of each other passage, in retrieval order, if it
  // says something about the question: retrieval ranked the passages on
  // evidence these scores cannot see (what other pages say about a page,
  // its whole text), so a page whose sentences share fewer of the
  // question's words is often the one that answers.
  for (size_t p = 0; p < passages.size() && chosen.size() < options.max_sentences; ++p) {
    if (quoted(p)) continue;
    auto best = std::find_if(ranked.begin(), ranked.end(), [&](const Unit* u) { return u->passage == p; });
    if (best == ranked.end()) continue;
    const Unit* u = *best;
    if (u->coverage > 0 && u->score >= kOtherSourceRatio * ranked[0]->score &&
        chars + u->text.size() <= options.max_chars && !duplicate(u)) {
      chosen.push_back(u);
      chars += u->text.size();
    }
  }
  for (size_t i = 1; i < ranked.size() && chosen.size() < options.max_sentences; ++i) {
    const Unit* u = ranked[i];
    if (u->score < kKeepRatio * ranked[0]->score) break;
    if (u->coverage + u->heading <= 0 || chars + u->text.size() > options.max_chars) continue;
    size_t from_same = std::count_if(chosen.begin(), chosen.end(), [&](const Unit* c) { return c->passage == u->passage; });
    if (from_same >= kMaxPerPassage && !(ranked[0]->table_row || ranked[0]->list_item)) continue;
    if (duplicate(u)) continue;
    chosen.push_back(u);
    chars += u->text.size();
  }
  std::sort(chosen.begin(), chosen.end(), [](const Unit* a, const Unit* b) { return a->order < b->order; });

  std::string body;
  std::set<size_t> cited;
  for (size_t i = 0; i < chosen.size(); ++i) {
    std::string sentence = AsSentence(Cut(chosen[i]->text, options.max_chars), chosen[i]->list_item);
    answer.parts.push_back({sentence, chosen[i]->passage});
    if (!body.empty()) body += ' ';
    body += sentence;
    if (i + 1 == chosen.size() || chosen[i + 1]->passage != chosen[i]->passage) {
      body += " [" + std::to_string(chosen[i]->passage + 1) + "]";
      cited.insert(chosen[i]->passage);
    }
  }
  answer.text = std::string(Lead(reason)) + body + "\n\nSources:";
  for (size_t p : cited) answer.text += " [" + std::to_string(p + 1) + "] " + passages[p].source + (p == *cited.rbegin() ? "" : ";");
  return answer;
}

}  // namespace folio
