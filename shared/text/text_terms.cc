// text_terms.cc: stopword list and stemmer. The stemmer is deliberately much
// lighter than Porter's: it only needs to make inflections of the same word
// meet, and every rule here is guarded by a minimum length so short words
// ("is", "bus", "news") are left alone.
#include "text_terms.h"

#include <algorithm>
#include <array>

#include "porter_stem.h"

namespace folio {
namespace {

// Sorted, so IsStopword is a binary search over ~120 short strings.
constexpr std::array<std::string_view, 119> kStopwords = {
    "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as",
    "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by",
    "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from",
    "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him",
    "himself", "his", "how", "if", "in", "into", "is", "it", "its", "itself", "just", "me",
    "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only",
    "or", "other", "our", "ours", "out", "over", "own", "same", "she", "should", "so", "some",
    "such", "than", "that", "the", "their", "theirs", "them", "then", "there", "these", "they",
    "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were",
    "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would",
    "you", "your"};

// Irregular past forms of common English verbs and their base form (from
// WordNet's verb exception list, Debian's wordnet-base; forms that are
// also common nouns or adjectives — "left", "bound", "ground", "bit" — are
// left out). A suffix stripper cannot make "grew" meet "grow". Sorted.
constexpr std::array<std::pair<std::string_view, std::string_view>, 171> kIrregular = {{
    {"arisen", "arise"}, {"arose", "arise"}, {"ate", "eat"}, {"awoke", "awake"}, {"awoken", "awake"},
    {"beaten", "beat"}, {"became", "become"}, {"began", "begin"}, {"begun", "begin"}, {"bent", "bend"},
    {"bitten", "bite"}, {"bled", "bleed"}, {"blew", "blow"}, {"blown", "blow"}, {"bought", "buy"},
    {"bred", "breed"}, {"broke", "break"}, {"broken", "break"}, {"brought", "bring"}, {"built", "build"},
    {"burnt", "burn"}, {"came", "come"}, {"caught", "catch"}, {"chose", "choose"}, {"chosen", "choose"},
    {"clung", "cling"}, {"crept", "creep"}, {"dealt", "deal"}, {"drank", "drink"}, {"drawn", "draw"},
    {"dreamt", "dream"}, {"drew", "draw"}, {"driven", "drive"}, {"drove", "drive"}, {"drunk", "drink"},
    {"dug", "dig"}, {"eaten", "eat"}, {"fallen", "fall"}, {"fed", "feed"}, {"felt", "feel"}, {"fled", "flee"},
    {"flew", "fly"}, {"flown", "fly"}, {"flung", "fling"}, {"forbade", "forbid"}, {"forbidden", "forbid"},
    {"forgave", "forgive"}, {"forgiven", "forgive"}, {"forgot", "forget"}, {"forgotten", "forget"},
    {"fought", "fight"}, {"found", "find"}, {"froze", "freeze"}, {"frozen", "freeze"}, {"gave", "give"},
    {"given", "give"}, {"gone", "go"}, {"got", "get"}, {"gotten", "get"}, {"grew", "grow"}, {"grown", "grow"},
    {"heard", "hear"}, {"held", "hold"}, {"hid", "hide"}, {"hidden", "hide"}, {"kept", "keep"}, {"knelt", "kneel"},
    {"knew", "know"}, {"known", "know"}, {"laid", "lay"}, {"leant", "lean"}, {"leapt", "leap"},
    {"learnt", "learn"}, {"led", "lead"}, {"lent", "lend"}, {"lost", "lose"}, {"made", "make"}, {"meant", "mean"},
    {"met", "meet"}, {"misled", "mislead"}, {"mistaken", "mistake"}, {"mistook", "mistake"},
    {"outgrew", "outgrow"}, {"outgrown", "outgrow"}, {"overcame", "overcome"}, {"overridden", "override"},
    {"overrode", "override"}, {"paid", "pay"}, {"proven", "prove"}, {"ran", "run"}, {"rang", "ring"},
    {"rebuilt", "rebuild"}, {"rewritten", "rewrite"}, {"rewrote", "rewrite"}, {"ridden", "ride"},
    {"risen", "rise"}, {"rode", "ride"}, {"rung", "ring"}, {"said", "say"}, {"sang", "sing"}, {"sank", "sink"},
    {"seen", "see"}, {"sent", "send"}, {"shaken", "shake"}, {"shone", "shine"}, {"shook", "shake"},
    {"shown", "show"}, {"shrank", "shrink"}, {"shrunk", "shrink"}, {"shrunken", "shrink"}, {"slept", "sleep"},
    {"slid", "slide"}, {"sold", "sell"}, {"sought", "seek"}, {"sped", "speed"}, {"spent", "spend"},
    {"spilt", "spill"}, {"spoke", "speak"}, {"spoken", "speak"}, {"sprang", "spring"}, {"sprung", "spring"},
    {"spun", "spin"}, {"stank", "stink"}, {"stole", "steal"}, {"stolen", "steal"}, {"stood", "stand"},
    {"striven", "strive"}, {"strove", "strive"}, {"struck", "strike"}, {"strung", "string"}, {"stuck", "stick"},
    {"stung", "sting"}, {"sung", "sing"}, {"sunk", "sink"}, {"swam", "swim"}, {"swept", "sweep"},
    {"swore", "swear"}, {"sworn", "swear"}, {"swum", "swim"}, {"swung", "swing"}, {"taken", "take"},
    {"taught", "teach"}, {"thought", "think"}, {"threw", "throw"}, {"thrown", "throw"}, {"told", "tell"},
    {"took", "take"}, {"tore", "tear"}, {"torn", "tear"}, {"trod", "tread"}, {"trodden", "tread"},
    {"undergone", "undergo"}, {"understood", "understand"}, {"undertaken", "undertake"},
    {"undertook", "undertake"}, {"underwent", "undergo"}, {"undid", "undo"}, {"undone", "undo"}, {"went", "go"},
    {"wept", "weep"}, {"withdrawn", "withdraw"}, {"withdrew", "withdraw"}, {"woke", "wake"}, {"woken", "wake"},
    {"won", "win"}, {"wore", "wear"}, {"worn", "wear"}, {"wove", "weave"}, {"woven", "weave"},
    {"written", "write"}, {"wrote", "write"}}};

bool IsVowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

bool EndsWith(std::string_view w, std::string_view suffix) {
  return w.size() >= suffix.size() && w.substr(w.size() - suffix.size()) == suffix;
}

bool IsAsciiWord(std::string_view w) {
  return std::all_of(w.begin(), w.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// "stopp" -> "stop", but "fall", "kiss", "buzz" keep their pair.
std::string_view UndoubleConsonant(std::string_view w) {
  size_t n = w.size();
  if (n >= 3 && w[n - 1] == w[n - 2] && !IsVowel(w[n - 1]) && w[n - 1] != 'l' &&
      w[n - 1] != 's' && w[n - 1] != 'z') {
    return w.substr(0, n - 1);
  }
  return w;
}

}  // namespace

bool IsStopword(std::string_view word) {
  if (word.size() == 1 && static_cast<unsigned char>(word[0]) < 0x80) return true;
  return std::binary_search(kStopwords.begin(), kStopwords.end(), word);
}

std::string_view Stem(std::string_view w, std::string* scratch) {
  if (w.size() <= 3 || !IsAsciiWord(w)) return w;
  // Plurals.
  if (EndsWith(w, "ies") && w.size() > 4) {
    scratch->assign(w.substr(0, w.size() - 3));
    scratch->push_back('y');
    w = *scratch;
  } else if (EndsWith(w, "sses")) {
    w = w.substr(0, w.size() - 2);
  } else if (EndsWith(w, "es") && w.size() > 4 &&
             (EndsWith(w, "ches") || EndsWith(w, "shes") || EndsWith(w, "xes") || EndsWith(w, "zes"))) {
    w = w.substr(0, w.size() - 2);
  } else if (w.back() == 's' && !EndsWith(w, "ss") && !EndsWith(w, "us") && !EndsWith(w, "is")) {
    w = w.substr(0, w.size() - 1);
  }
  // Verb endings.
  if (EndsWith(w, "ing") && w.size() > 5) {
    w = UndoubleConsonant(w.substr(0, w.size() - 3));
  } else if (EndsWith(w, "ed") && !EndsWith(w, "eed") && w.size() > 4) {
    w = UndoubleConsonant(w.substr(0, w.size() - 2));
  }
  // "make"/"making"/"makes" all end as "mak".
  if (w.size() > 3 && w.back() == 'e') w = w.substr(0, w.size() - 1);
  return w;
}

std::string_view BaseForm(std::string_view word) {
  auto it = std::lower_bound(kIrregular.begin(), kIrregular.end(), word,
                             [](const auto& entry, std::string_view w) { return entry.first < w; });
  return it != kIrregular.end() && it->first == word ? it->second : word;
}

std::vector<std::string> IndexTerms(std::string_view text, Stemming stemming) {
  std::vector<std::string> terms;
  std::string scratch;
  ForEachWord(text, [&](std::string_view word) {
    if (IsStopword(word)) return;
    if (stemming == Stemming::kPorter) terms.push_back(PorterStem(BaseForm(word)));
    else terms.emplace_back(Stem(word, &scratch));
  });
  return terms;
}

}  // namespace folio
