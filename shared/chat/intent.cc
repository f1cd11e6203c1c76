// intent.cc: the intent rules and how a message is matched against them.
//
// A message is cut to kMaxClassifiedBytes, lowercased (ASCII only: other bytes
// pass through, so UTF-8 is never split or altered) and split into words on
// anything but letters, digits, apostrophes and non-ASCII bytes; common Unicode
// punctuation (U+2000..U+207F, « », ¡, ¿, no-break space) splits too, and the
// typographic apostrophe ’ reads as '. Keywords are split the same way when
// loaded, so "e-mail" in the config matches "E-Mail" in a message.
//
// Matching is a hash lookup per word: one-word keywords in one map, phrases
// indexed by their first word, prefix keywords ("project*") in a short list
// tried on each word. Each keyword or regex that matches adds 1 to its intent's
// score; ties go by "priority", which puts the catch-all "about" last, so that
// "tell me about her projects" is projects. Scores are counts, not weights by
// phrase length, for that reason: a framing phrase must not outvote the topic.
// A 60-byte message costs 1-3 µs, half of it in the regexes, which is why the
// shipped rules prefer keywords and start their regexes with fixed characters
// (glibc then skips to candidate positions).
//
// Greeting and thanks are not topics: "hi, what's her email?" must reach the
// contact answer, not a canned "Hi!". So any topical score wins, and a canned
// intent also needs a short message (max_words) in which its own keywords and
// the filler words cover more than half of the words.
#include "intent.h"

#include <regex.h>

#include <array>
#include <bit>
#include <cctype>
#include <fstream>
#include <iterator>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace folio {
namespace {

using nlohmann::json;

constexpr std::array<const char*, kIntentCount> kNames = {"greeting", "thanks", "about",   "projects",
                                                          "experience", "skills", "contact", "other"};
constexpr size_t kMaxConfigBytes = 256 * 1024;
constexpr size_t kMaxCannedWords = 64;  // coverage is a 64-bit mask of word positions

// Heterogeneous lookup, so a message's words are looked up without copies.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using WordMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// Owner of a compiled POSIX regex. glibc's regexec locks the pattern
// internally, so one Regex may be searched from several threads at once.
class Regex {
 public:
  Regex() = default;
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  ~Regex() {
    if (compiled_) regfree(&re_);
  }
  // "" on success, else regerror's message.
  std::string Compile(const std::string& pattern) {
    const int rc = regcomp(&re_, pattern.c_str(), REG_EXTENDED | REG_ICASE | REG_NOSUB);
    if (rc == 0) {
      compiled_ = true;
      return "";
    }
    char buf[256];
    regerror(rc, &re_, buf, sizeof(buf));
    return buf;
  }
  bool Search(const std::string& text) const { return regexec(&re_, text.c_str(), 0, nullptr, 0) == 0; }

 private:
  regex_t re_{};
  bool compiled_ = false;
};

// Appends the lowercased words of `text` to *words (see the top of this file).
void SplitWords(std::string_view text, std::vector<std::string>* words) {
  std::string word;
  auto end_word = [&] {
    // Apostrophes quote as often as they contract: 'hi' is hi, i'm stays.
    const size_t first = word.find_first_not_of('\'');
    if (first != std::string::npos) {
      const size_t last = word.find_last_not_of('\'');
      words->push_back(word.substr(first, last - first + 1));
    }
    word.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (std::isalnum(c) || c == '\'') {
        word.push_back(static_cast<char>(std::tolower(c)));
      } else {
        end_word();
      }
      continue;
    }
    const auto c1 = static_cast<unsigned char>(i + 1 < text.size() ? text[i + 1] : 0);
    const auto c2 = static_cast<unsigned char>(i + 2 < text.size() ? text[i + 2] : 0);
    if (c == 0xE2 && c1 == 0x80 && c2 == 0x99) {  // ’
      word.push_back('\'');
      i += 2;
    } else if (c == 0xE2 && (c1 == 0x80 || c1 == 0x81) && c2 != 0) {  // general punctuation
      end_word();
      i += 2;
    } else if (c == 0xC2 && (c1 == 0xA0 || c1 == 0xA1 || c1 == 0xAB || c1 == 0xBB || c1 == 0xBF)) {
      end_word();
      i += 1;
    } else {
      word.push_back(static_cast<char>(c));
    }
  }
  end_word();
}

// What the regexes search: ASCII lowercased, whitespace runs as one space, trimmed.
std::string RegexText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isspace(c) || c == 0) {  // a NUL would end the C string early
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(static_cast<char>(c < 0x80 ? std::tolower(c) : c));
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

bool ReadStrings(const json& j, std::vector<std::string>* out) {
  if (!j.is_array()) return false;
  for (const json& s : j) {
    if (!s.is_string()) return false;
    out->push_back(s.get<std::string>());
  }
  return true;
}

}  // namespace

struct IntentClassifier::Rules {
  struct Phrase {
    std::vector<std::string> rest;  // the words after the first
    bool prefix = false;            // the last word matches as a prefix
    Intent intent = Intent::kOther;
  };
  WordMap<std::vector<Intent>> words;    // one-word keywords
  WordMap<std::vector<Phrase>> phrases;  // keywords of 2+ words, by first word
  std::vector<std::pair<std::string, Intent>> prefixes;  // one-word prefix keywords
  WordMap<bool> filler;
  std::vector<std::pair<Intent, std::unique_ptr<Regex>>> regexes;
  std::array<std::optional<std::string>, kIntentCount> replies;
  std::array<size_t, kIntentCount> max_words{};
  std::array<int, kIntentCount> rank{};  // position in "priority": lower wins ties
};

const char* IntentName(Intent intent) {
  const auto i = static_cast<size_t>(intent);
  return i < kIntentCount ? kNames[i] : "other";
}

std::optional<Intent> IntentFromName(std::string_view name) {
  for (size_t i = 0; i < kIntentCount; ++i) {
    if (name == kNames[i]) return static_cast<Intent>(i);
  }
  return std::nullopt;
}

IntentClassifier::IntentClassifier(std::unique_ptr<Rules> rules) : rules_(std::move(rules)) {}
IntentClassifier::IntentClassifier(IntentClassifier&&) noexcept = default;
IntentClassifier& IntentClassifier::operator=(IntentClassifier&&) noexcept = default;
IntentClassifier::~IntentClassifier() = default;

Result<IntentClassifier> IntentClassifier::Load(const std::string& path) {
  if (path.empty()) return Parse(DefaultIntentConfig(), "built-in intent rules");
  auto bad = [&](const std::string& what) { return InvalidArgument("intent_config_invalid", path + ": " + what); };
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad("cannot be opened");
  std::string text;
  text.resize(kMaxConfigBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return bad("cannot be read");
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxConfigBytes) return bad("larger than 256 KiB");
  return Parse(text, path);
}

Result<IntentClassifier> IntentClassifier::Parse(std::string_view json_text, std::string_view origin) {
  auto bad = [&](const std::string& what) {
    return InvalidArgument("intent_config_invalid", std::string(origin) + ": " + what);
  };
  const json j = json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (key != "_comment" && key != "version" && key != "priority" && key != "filler" && key != "intents") {
      return bad("unknown field \"" + key + "\"");
    }
  }
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int64_t>() != 1) {
    return bad("\"version\" must be 1");
  }
  auto rules = std::make_unique<Rules>();

  // priority: a permutation of every intent but "other"; that order by default.
  std::vector<std::string> priority;
  if (j.contains("priority")) {
    if (!ReadStrings(j["priority"], &priority)) return bad("\"priority\" must be an array of intent names");
  } else {
    priority = {"contact", "projects", "experience", "skills", "about", "thanks", "greeting"};
  }
  rules->rank.fill(-1);
  for (size_t i = 0; i < priority.size(); ++i) {
    const std::optional<Intent> intent = IntentFromName(priority[i]);
    if (!intent || *intent == Intent::kOther || rules->rank[static_cast<size_t>(*intent)] != -1) {
      return bad("\"priority\": \"" + priority[i] + "\" is unknown, \"other\" or repeated");
    }
    rules->rank[static_cast<size_t>(*intent)] = static_cast<int>(i);
  }
  if (priority.size() != kIntentCount - 1) return bad("\"priority\" must list every intent but \"other\"");

  std::vector<std::string> filler;
  if (j.contains("filler") && !ReadStrings(j["filler"], &filler)) return bad("\"filler\" must be an array of strings");
  for (const std::string& f : filler) {
    std::vector<std::string> w;
    SplitWords(f, &w);
    if (w.size() != 1) return bad("filler \"" + f + "\" is not one word");
    rules->filler[w[0]] = true;
  }

  if (!j.contains("intents") || !j["intents"].is_object()) return bad("\"intents\" must be an object");
  for (const auto& [name, spec] : j["intents"].items()) {
    const std::optional<Intent> found = IntentFromName(name);
    if (!found || *found == Intent::kOther) return bad("unknown intent \"" + name + "\"");
    const Intent intent = *found;
    const bool canned = intent == Intent::kGreeting || intent == Intent::kThanks;
    const std::string where = "intent \"" + name + "\": ";
    if (!spec.is_object()) return bad(where + "must be an object");
    for (const auto& [key, value] : spec.items()) {
      const bool known = key == "keywords" || key == "regex" || (canned && (key == "reply" || key == "max_words"));
      if (!known) return bad(where + "unknown field \"" + key + "\"" + (canned ? "" : " (reply and max_words are for greeting and thanks)"));
    }
    std::vector<std::string> keywords, patterns;
    if (spec.contains("keywords") && !ReadStrings(spec["keywords"], &keywords)) {
      return bad(where + "\"keywords\" must be an array of strings");
    }
    if (spec.contains("regex") && !ReadStrings(spec["regex"], &patterns)) {
      return bad(where + "\"regex\" must be an array of strings");
    }
    for (std::string keyword : keywords) {
      const bool prefix = !keyword.empty() && keyword.back() == '*';
      if (prefix) keyword.pop_back();
      if (keyword.find('*') != std::string::npos) return bad(where + "'*' is allowed only at the end: " + keyword);
      std::vector<std::string> w;
      SplitWords(keyword, &w);
      if (w.empty()) return bad(where + "a keyword has no words: \"" + keyword + "\"");
      if (w.size() == 1 && prefix) {
        rules->prefixes.emplace_back(w[0], intent);
      } else if (w.size() == 1) {
        rules->words[w[0]].push_back(intent);
      } else {
        rules->phrases[w[0]].push_back(Rules::Phrase{std::vector<std::string>(w.begin() + 1, w.end()), prefix, intent});
      }
    }
    for (const std::string& pattern : patterns) {
      auto re = std::make_unique<Regex>();
      if (std::string error = re->Compile(pattern); !error.empty()) {
        return bad(where + "regex \"" + pattern + "\": " + error);
      }
      rules->regexes.emplace_back(intent, std::move(re));
    }
    if (spec.contains("reply")) {
      if (!spec["reply"].is_string() || spec["reply"].get<std::string>().empty()) {
        return bad(where + "\"reply\" must be a non-empty string");
      }
      rules->replies[static_cast<size_t>(intent)] = spec["reply"].get<std::string>();
    }
    if (canned) {
      rules->max_words[static_cast<size_t>(intent)] = 6;
      if (spec.contains("max_words")) {
        const json& m = spec["max_words"];
        if (!m.is_number_integer() || m.get<int64_t>() < 1 || m.get<int64_t>() > int64_t{kMaxCannedWords}) {
          return bad(where + "\"max_words\" must be an integer in [1, 64]");
        }
        rules->max_words[static_cast<size_t>(intent)] = m.get<size_t>();
      }
    }
  }
  return IntentClassifier(std::move(rules));
}

Intent IntentClassifier::Classify(std::string_view message) const {
  message = message.substr(0, kMaxClassifiedBytes);
  std::vector<std::string> words;
  words.reserve(32);
  SplitWords(message, &words);
  const Rules& r = *rules_;
  std::array<int, kIntentCount> score{};
  std::array<uint64_t, kIntentCount> covered{};  // word positions (< 64) matched per intent
  uint64_t filler = 0;
  auto mark = [&](Intent intent, size_t first, size_t count) {
    score[static_cast<size_t>(intent)] += 1;
    for (size_t i = first; i < first + count && i < kMaxCannedWords; ++i) covered[static_cast<size_t>(intent)] |= uint64_t{1} << i;
  };
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (auto it = r.words.find(w); it != r.words.end()) {
      for (Intent intent : it->second) mark(intent, i, 1);
    }
    if (auto it = r.phrases.find(w); it != r.phrases.end()) {
      for (const Rules::Phrase& p : it->second) {
        if (i + p.rest.size() >= words.size()) continue;
        bool match = true;
        for (size_t k = 0; k < p.rest.size() && match; ++k) {
          const std::string& got = words[i + 1 + k];
          const bool last = k + 1 == p.rest.size();
          match = (p.prefix && last) ? got.starts_with(p.rest[k]) : got == p.rest[k];
        }
        if (match) mark(p.intent, i, 1 + p.rest.size());
      }
    }
    for (const auto& [prefix, intent] : r.prefixes) {
      if (w.starts_with(prefix)) mark(intent, i, 1);
    }
    if (i < kMaxCannedWords && r.filler.contains(w)) filler |= uint64_t{1} << i;
  }
  if (!r.regexes.empty()) {
    const std::string text = RegexText(message);
    for (const auto& [intent, re] : r.regexes) {
      if (re->Search(text)) score[static_cast<size_t>(intent)] += 1;
    }
  }

  // The best of `candidates` by score, then priority; kOther if none scored.
  auto best = [&](std::initializer_list<Intent> candidates, auto&& eligible) {
    Intent out = Intent::kOther;
    for (Intent c : candidates) {
      const size_t i = static_cast<size_t>(c);
      if (score[i] <= 0 || !eligible(c)) continue;
      const size_t o = static_cast<size_t>(out);
      if (out == Intent::kOther || score[i] > score[o] || (score[i] == score[o] && r.rank[i] < r.rank[o])) out = c;
    }
    return out;
  };
  const Intent topical = best({Intent::kAbout, Intent::kProjects, Intent::kExperience, Intent::kSkills, Intent::kContact},
                              [](Intent) { return true; });
  if (topical != Intent::kOther) return topical;
  return best({Intent::kGreeting, Intent::kThanks}, [&](Intent c) {
    const size_t i = static_cast<size_t>(c);
    if (words.size() > r.max_words[i]) return false;
    return 2 * static_cast<size_t>(std::popcount(covered[i] | filler)) > words.size();
  });
}

std::optional<std::string> IntentClassifier::CannedReply(Intent intent) const {
  const auto i = static_cast<size_t>(intent);
  if (i >= kIntentCount) return std::nullopt;
  return rules_->replies[i];
}

// config/intents.json as shipped; intent_test checks that the two stay identical.
std::string_view DefaultIntentConfig() {
  static constexpr std::string_view kDefault = R"json(
{
  "_comment": [
    "config/intents.json: the rules of folio's intent classifier (shared/intent.h). IntentClassifier::Load(path)",
    "reads a file of this shape; with no path it uses the copy built into shared/intent.cc, identical to this one.",
    "version: 1. intents: one object per intent, named greeting|thanks|about|projects|experience|skills|contact",
    "  ('other' is what matches nothing and takes no rules). Every field is optional:",
    "  keywords: words or phrases, matched whole-word against the message lowercased and split on anything",
    "    but letters, digits, apostrophes and non-ASCII bytes; a trailing '*' makes the last word a prefix",
    "    ('project*' matches 'projects'). Each keyword found adds 1 to its intent's score.",
    "  regex: POSIX extended regular expressions (glibc: \\< and \\> mark word edges), case-insensitive,",
    "    searched in the lowercased message with whitespace collapsed; each match adds 1. Prefer keywords:",
    "    a regex costs up to a microsecond per message, more if it cannot start with a fixed character.",
    "  reply: the canned answer, for greeting and thanks only.",
    "  max_words: greeting and thanks only: longer messages are never that intent.",
    "The topical intents (about..contact) win over greeting and thanks: 'hi, what's her email?' is contact.",
    "A message is greeting or thanks only if it matched no topical rule, has at most max_words words, and",
    "more than half of its words are that intent's keywords or 'filler' words.",
    "priority: the highest score wins; ties go to the intent listed first. List every intent but 'other' once.",
    "So 'tell me about her projects' (about 1, projects 1) is projects: about, the catch-all topic, comes last."
  ],
  "version": 1,
  "priority": ["contact", "projects", "experience", "skills", "about", "thanks", "greeting"],
  "filler": [
    "there", "you", "me", "so", "much", "very", "a", "lot", "again", "all", "folio", "bot", "friend",
    "everyone", "guys", "how", "are", "is", "it", "going", "doing", "can", "help", "and", "oh", "ok", "okay",
    "well", "the", "for", "that", "this", "really", "just", "great", "cool", "nice", "awesome", "to", "meet",
    "i", "am", "i'm", "it's", "that's", "your", "was", "helpful", "useful", "good"
  ],
  "intents": {
    "greeting": {
      "keywords": [
        "hi", "hello", "hey", "heya", "hiya", "howdy", "yo", "hola", "greetings", "sup", "what's up",
        "good morning", "good afternoon", "good evening", "morning", "evening"
      ],
      "max_words": 6,
      "reply": "Hi! I'm folio. Ask me about her projects, experience, skills, or how to get in touch."
    },
    "thanks": {
      "keywords": [
        "thanks", "thank you", "thank", "thx", "ty", "cheers", "appreciate it", "appreciated",
        "much appreciated", "thanks a lot", "many thanks"
      ],
      "max_words": 6,
      "reply": "You're welcome! Anything else you'd like to know about her work?"
    },
    "about": {
      "keywords": [
        "who is she", "who's she", "who are you", "tell me about her", "about yourself", "what do you do", "bio", "biography",
        "background", "introduce", "introduction", "herself", "hobbies", "interests",
        "based", "located", "where does she live", "education", "degree", "university", "studied"
      ]
    },
    "projects": {
      "keywords": [
        "project*", "portfolio", "built", "build", "side project", "open source", "repo", "repos",
        "repository", "repositories", "github", "tollgate", "demo", "demos", "app", "apps", "shipped",
        "case stud*", "what has she made", "showcase"
      ]
    },
    "experience": {
      "keywords": [
        "experience", "experienced", "work history", "work experience", "worked", "works at", "working at",
        "where does she work", "job", "jobs", "career", "employer*", "compan*", "role", "roles", "position",
        "positions", "resume", "résumé", "cv", "years of", "previous job*", "previous role*", "current job",
        "senior", "intern", "interns", "internship*", "freelanc*"
      ]
    },
    "skills": {
      "keywords": [
        "skill*", "tech stack", "stack", "languages", "language", "framework*", "tools", "proficient",
        "expertise", "good at", "does she know", "familiar with", "python", "rust", "golang", "typescript",
        "javascript", "java", "kubernetes", "docker", "sql", "react", "aws"
      ],
      "regex": ["\\<(c\\+\\+|c#|f#)([^a-z0-9+#]|$)"]
    },
    "contact": {
      "keywords": [
        "contact", "email", "e-mail", "mail", "reach", "reach out", "get in touch", "linkedin", "phone",
        "call her", "message her", "hire", "hiring", "available for", "availability", "twitter", "mastodon",
        "calendly", "schedule a call", "book a call", "how do i reach"
      ],
      "regex": ["@[a-z0-9-]+\\.[a-z]{2,}"]
    }
  }
}
)json";
  return kDefault;
}

}  // namespace folio
