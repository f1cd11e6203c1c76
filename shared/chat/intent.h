// intent.h: a rule-based classifier that tells what a chat message is about
// (greeting, thanks, about, projects, experience, skills, contact, other), in
// about a microsecond, from keyword and regex rules in config/intents.json.
// An IntentClassifier is immutable after Load(): share one per process by const
// reference; Classify() is safe from any number of threads. Move-only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "status.h"

namespace folio {

enum class Intent : uint8_t { kGreeting, kThanks, kAbout, kProjects, kExperience, kSkills, kContact, kOther };

inline constexpr size_t kIntentCount = 8;

// "greeting" | "thanks" | "about" | "projects" | "experience" | "skills" |
// "contact" | "other": the names config/intents.json and the cache key use.
const char* IntentName(Intent intent);
// The inverse of IntentName; nullopt for any other string.
std::optional<Intent> IntentFromName(std::string_view name);

// The rules built into folio: the text of config/intents.json at build time
// (a test keeps the two identical).
std::string_view DefaultIntentConfig();

// The whole of any message folio accepts is classified (2,000 characters are
// at most 8,000 bytes): a greeting followed by a real question must not get
// the canned greeting. This bound only caps the cost for other callers
// (linear: ≈ 1-2 µs for a typical question, tens of µs for the longest).
inline constexpr size_t kMaxClassifiedBytes = 16 << 10;

class IntentClassifier {
 public:
  // Reads the rules from the JSON file at `path` ("" = DefaultIntentConfig()).
  // InvalidArgument("intent_config_invalid") names the file and the first
  // problem: unreadable or over 256 KiB, not JSON, an unknown intent or field,
  // a field of the wrong type, an empty keyword, a '*' anywhere but at the end
  // of a keyword, a regex that does not compile, a reply or max_words on a
  // topical intent, a priority list that is not a permutation of the intents.
  static Result<IntentClassifier> Load(const std::string& path);
  // The same from JSON text; `origin` names it in error messages.
  static Result<IntentClassifier> Parse(std::string_view json_text, std::string_view origin);

  IntentClassifier(IntentClassifier&&) noexcept;
  IntentClassifier& operator=(IntentClassifier&&) noexcept;
  ~IntentClassifier();

  // The intent of `message` (any bytes; invalid UTF-8 is harmless). Topical
  // intents beat greeting and thanks, which need a short message made mostly
  // of their own words: "hi" is kGreeting, "hi, what's her email?" kContact.
  // The rules are in the "_comment" of config/intents.json.
  Intent Classify(std::string_view message) const;

  // The configured reply to answer without retrieval or an LLM; nullopt for
  // intents that have none (every topical intent and kOther).
  std::optional<std::string> CannedReply(Intent intent) const;

 private:
  struct Rules;  // defined in intent.cc
  explicit IntentClassifier(std::unique_ptr<Rules> rules);
  std::unique_ptr<Rules> rules_;  // never null except in a moved-from object
};

}  // namespace folio
