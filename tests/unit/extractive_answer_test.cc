// extractive_answer_test.cc: the offline answer picks the sentence that
// answers (not a table's header or a bullet cut mid-markup), renders a
// matching table row with its column names, keeps list items whole, drops
// near-duplicates and sentences that restate the question or would read as
// leftover markup, answers "how many" with the number, quotes each
// retrieved page that is about the question, stays within its budget, cites
// the passages it quotes by their position, and says why it has no model
// answer once, in the words of its reason.
#include "extractive_answer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace folio {
namespace {

const Passage kFaqLanguage = {
    "faq.md", "Frequently Asked Questions > Personal > What is her favourite programming language?",
    "Go for day-to-day production work, Rust for side projects and anything performance-critical — she wrote "
    "the Lantern search service and the Hivemind firmware in Rust.",
    1.0, {}};

const Passage kSkillsLanguages = {
    "skills.md", "Skills > Programming languages",
    "| Language | Level | Years | Where she used it |\n"
    "|---|---|---|---|\n"
    "| Go | Expert | 7 | Tollgate, Spoke, Driftwood |\n"
    "| Rust | Advanced | 4 | Lantern search service, Hivemind firmware |\n"
    "| C | Familiar | — | Embedded experiments, university |\n",
    0.8, {}};

const Passage kAboutProjects = {
    "about.md", "About Maya Okafor > Short bio",
    "Over eight years she has:\n\n"
    "- built a distributed rate limiter that handles **48,000 requests per second** at peak (see *Tollgate*),\n"
    "- led the rebuild of a document search engine indexing **340 million blocks** (see *Lantern*),\n"
    "- written and maintained an open-source Terraform drift detector with over **2,300 GitHub stars** "
    "(see *Driftwood*),\n",
    0.9, {}};

bool HasMarkup(const std::string& s) {
  return s.find("**") != std::string::npos || s.find('|') != std::string::npos || s.find('`') != std::string::npos;
}

TEST(ExtractiveAnswerTest, AnswersFromTheSectionWhoseHeadingIsTheQuestion) {
  ExtractiveAnswer a = ComposeExtractiveAnswer("What is her favourite programming language?", {kFaqLanguage, kSkillsLanguages},
                                               FallbackReason::kNotConfigured);
  EXPECT_EQ(a.text.rfind("From the knowledge base: Go for day-to-day production work", 0), 0u) << a.text;
  EXPECT_NE(a.text.find("Hivemind firmware in Rust. [1]"), std::string::npos) << a.text;
  EXPECT_EQ(a.text.find("Language | Level"), std::string::npos) << a.text;
  EXPECT_FALSE(HasMarkup(a.text)) << a.text;
}

TEST(ExtractiveAnswerTest, RendersTheMatchingTableRowWithItsColumnNames) {
  ExtractiveAnswer a = ComposeExtractiveAnswer("How good is she at Rust?", {kSkillsLanguages}, FallbackReason::kNotConfigured);
  ASSERT_FALSE(a.parts.empty());
  EXPECT_EQ(a.parts[0].text, "Language: Rust; Level: Advanced; Years: 4; Where she used it: Lantern search service, Hivemind firmware.");
  EXPECT_EQ(a.text.find("Go; Level: Expert"), std::string::npos) << "only rows that match: " << a.text;
}

TEST(ExtractiveAnswerTest, KeepsListItemsWholeAndStripsTheirMarkup) {
  ExtractiveAnswer a = ComposeExtractiveAnswer("What has she built?", {kAboutProjects}, FallbackReason::kNotConfigured);
  ASSERT_FALSE(a.parts.empty());
  EXPECT_EQ(a.parts[0].text, "Built a distributed rate limiter that handles 48,000 requests per second at peak (see Tollgate).");
  EXPECT_FALSE(HasMarkup(a.text)) << a.text;
}

TEST(ExtractiveAnswerTest, CitesEachPassageByItsPositionAndListsTheCitedSources) {
  Passage unrelated = {"contact.md", "Contact", "The best way to reach Maya is email.", 1.0, {}};
  ExtractiveAnswer a = ComposeExtractiveAnswer("What is her favourite programming language?", {unrelated, kFaqLanguage},
                                               FallbackReason::kNotConfigured);
  EXPECT_NE(a.text.find("in Rust. [2]"), std::string::npos) << a.text;
  EXPECT_NE(a.text.find("\n\nSources: [2] faq.md"), std::string::npos) << a.text;
  EXPECT_EQ(a.text.find("contact.md"), std::string::npos) << "an uncited passage is not listed: " << a.text;
  ASSERT_EQ(a.parts.size(), 1u);
  EXPECT_EQ(a.parts[0].passage, 1u);
}

// The first passage's sentences match more of the question, but the
// second retrieved page says something about it too: it is quoted, before
// more of the first; a third page about something else is not.
TEST(ExtractiveAnswerTest, EachRetrievedPageAboutTheQuestionIsQuoted) {
  Passage guide = {"guide.md", "Guide > Mail",
                   "Our maintainer reads every commit mailed to the list, with its author, subject line and diff "
                   "stat, from files kept by the archive. Maintainers answer mailed commits within the week, in the "
                   "order the files arrive, unless a release is near. The maintainer keeps the mailed files of each "
                   "commit for a year, then removes them from the archive.",
                   0.9, {}};
  Passage command = {"format-patch.md", "format-patch", "Prepare one patch file per commit, ready to send.", 0.8, {}};
  Passage other = {"weather.md", "Weather", "Rain is expected on the coast tomorrow.", 0.5, {}};
  ExtractiveAnswer a = ComposeExtractiveAnswer("How do I turn commits into files to mail to the maintainer?",
                                               {guide, command, other}, FallbackReason::kNotConfigured);
  std::vector<size_t> passages;
  for (const AnswerPart& p : a.parts) passages.push_back(p.passage);
  EXPECT_NE(std::find(passages.begin(), passages.end(), 1u), passages.end()) << a.text;
  EXPECT_EQ(std::find(passages.begin(), passages.end(), 2u), passages.end()) << a.text;
  EXPECT_NE(a.text.find("Sources: [1] guide.md; [2] format-patch.md"), std::string::npos) << a.text;
}

TEST(ExtractiveAnswerTest, LeavesOutNearDuplicates) {
  Passage first = {"a.md", "Notice period", "Her notice period is two months under her current contract.", 1, {}};
  Passage second = {"b.md", "Notice", "Her notice period is two months under her current contract, she says.", 1, {}};
  ExtractiveAnswer a = ComposeExtractiveAnswer("What is her notice period?", {first, second}, FallbackReason::kNotConfigured);
  ASSERT_EQ(a.parts.size(), 1u) << a.text;
  EXPECT_EQ(a.parts[0].passage, 0u);
}

TEST(ExtractiveAnswerTest, StaysWithinItsBudget) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += "The notice period sentence number " + std::to_string(i) + " talks about notice. ";
  ExtractiveOptions options;
  options.max_chars = 200;
  ExtractiveAnswer a = ComposeExtractiveAnswer("notice period", {{"a.md", "Notice", text, 1, {}}}, FallbackReason::kNotConfigured, options);
  size_t quoted = 0;
  for (const AnswerPart& p : a.parts) quoted += p.text.size();
  EXPECT_LE(a.parts.size(), options.max_sentences);
  EXPECT_LE(quoted, options.max_chars + a.parts.size());  // + the '.' each part may gain
}

TEST(ExtractiveAnswerTest, CutsALongUnitAtAWordBoundaryOnValidUtf8) {
  std::string text = "Word word word";
  for (int i = 0; i < 300; ++i) text += " é";
  ExtractiveAnswer a = ComposeExtractiveAnswer("word", {{"x.md", "", text, 1, {}}}, FallbackReason::kNotConfigured);
  ASSERT_EQ(a.parts.size(), 1u);
  const std::string& s = a.parts[0].text;
  EXPECT_LE(s.size(), ExtractiveOptions{}.max_chars + 3);
  EXPECT_EQ(s.substr(s.size() - 3), "\xE2\x80\xA6");
  for (size_t i = 0; i < s.size();) {  // every sequence complete
    unsigned char c = s[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    ASSERT_NE(n, 0u) << "a continuation byte starts a character at " << i;
    ASSERT_LE(i + n, s.size());
    i += n;
  }
}

TEST(ExtractiveAnswerTest, EachReasonHasItsOwnWords) {
  std::vector<Passage> p = {kFaqLanguage};
  const std::string q = "favourite language?";
  EXPECT_EQ(ComposeExtractiveAnswer(q, p, FallbackReason::kNotConfigured).text.rfind("From the knowledge base: ", 0), 0u);
  EXPECT_EQ(ComposeExtractiveAnswer(q, p, FallbackReason::kProviderFailing)
                .text.rfind("The AI service is not answering right now; from the knowledge base: ", 0),
            0u);
  EXPECT_EQ(ComposeExtractiveAnswer(q, p, FallbackReason::kBudgetExhausted)
                .text.rfind("The assistant's daily budget is spent; from the knowledge base: ", 0),
            0u);
}

TEST(ExtractiveAnswerTest, SaysSoWhenNothingWasRetrieved) {
  ExtractiveAnswer none = ComposeExtractiveAnswer("anything", {}, FallbackReason::kNotConfigured);
  EXPECT_NE(none.text.find("could not find"), std::string::npos);
  EXPECT_TRUE(none.parts.empty());
  ExtractiveAnswer failing = ComposeExtractiveAnswer("anything", {}, FallbackReason::kProviderFailing);
  EXPECT_EQ(failing.text.rfind("The AI service is not answering right now", 0), 0u);
}

TEST(ExtractiveAnswerTest, WithNoMatchingWordsQuotesTheTopPassageFirst) {
  Passage top = {"contact.md", "Contact", "The best way to reach Maya is email. She replies within two days.", 1, {}};
  Passage next = {"about.md", "About", "Maya keeps three beehives near Mafra.", 0.5, {}};
  ExtractiveAnswer a = ComposeExtractiveAnswer("zzz qqq?", {top, next}, FallbackReason::kNotConfigured);
  ASSERT_FALSE(a.parts.empty());
  EXPECT_EQ(a.parts[0].text, "The best way to reach Maya is email.");
}

TEST(ExtractiveAnswerTest, AQuestionOfHowManyIsAnsweredByTheSentenceWithTheNumber) {
  Passage tollgate = {"projects/tollgate.md", "Tollgate > Overview",
                      "Tollgate limits the requests of every client of the payment API. "
                      "At peak it handles 48,000 requests per second across three regions. "
                      "Each client gets its own request budget.",
                      1, {}};
  ExtractiveOptions best_only;
  best_only.max_sentences = 1;
  ExtractiveAnswer a =
      ComposeExtractiveAnswer("How many requests does Tollgate handle?", {tollgate}, FallbackReason::kNotConfigured, best_only);
  ASSERT_EQ(a.parts.size(), 1u) << a.text;
  EXPECT_NE(a.parts[0].text.find("48,000"), std::string::npos) << a.text;
}

TEST(ExtractiveAnswerTest, ASentenceThatRestatesTheQuestionIsNotTheAnswer) {
  Passage testimonials = {"testimonials.md", "Testimonials",
                          "What colleagues say about working with Maya.\n\n"
                          "She turned a failing migration into a calm, week-by-week plan, and every step shipped on time.",
                          1, {}};
  ExtractiveAnswer a = ComposeExtractiveAnswer("What do colleagues say about working with Maya?", {testimonials},
                                               FallbackReason::kNotConfigured);
  ASSERT_FALSE(a.parts.empty()) << a.text;
  EXPECT_NE(a.parts[0].text.find("failing migration"), std::string::npos) << a.text;
  EXPECT_EQ(a.text.find("What colleagues say"), std::string::npos) << a.text;
}

TEST(ExtractiveAnswerTest, UnitsThatWouldReadAsLeftoverMarkupAreNotQuoted) {
  Passage merge = {"git-merge.txt", "HOW CONFLICTS ARE PRESENTED",
                   "The working tree files contain the result of the merge, with conflict markers `<<<` `===` `>>>`. "
                   "A merge conflict is resolved by editing the files and adding them to the index.",
                   1, {}};
  ExtractiveAnswer a = ComposeExtractiveAnswer("How is a merge conflict resolved?", {merge}, FallbackReason::kNotConfigured);
  ASSERT_FALSE(a.parts.empty()) << a.text;
  EXPECT_EQ(a.text.find("==="), std::string::npos) << a.text;
  EXPECT_EQ(a.text.find("<<<"), std::string::npos) << a.text;
  EXPECT_NE(a.text.find("resolved by editing"), std::string::npos) << a.text;
}

size_t Occurrences(const std::string& text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(ExtractiveAnswerTest, SaysWhyItHasNoModelAnswerOnceAndOnlyTheRightWhy) {
  const std::vector<std::vector<Passage>> retrieved = {{kFaqLanguage, kSkillsLanguages}, {}};
  for (const std::vector<Passage>& p : retrieved) {
    const std::string none = ComposeExtractiveAnswer("favourite language?", p, FallbackReason::kNotConfigured).text;
    const std::string failing = ComposeExtractiveAnswer("favourite language?", p, FallbackReason::kProviderFailing).text;
    const std::string spent = ComposeExtractiveAnswer("favourite language?", p, FallbackReason::kBudgetExhausted).text;
    EXPECT_EQ(Occurrences(none, "AI service"), 0u) << none;  // no model is the normal mode, not a failure
    EXPECT_EQ(Occurrences(none, "budget"), 0u) << none;
    EXPECT_EQ(Occurrences(failing, "The AI service is not answering right now"), 1u) << failing;
    EXPECT_EQ(Occurrences(failing, "budget"), 0u) << failing;
    EXPECT_EQ(Occurrences(spent, "daily budget is spent"), 1u) << spent;
    EXPECT_EQ(Occurrences(spent, "AI service"), 0u) << spent;
    if (!p.empty()) {
      for (const std::string* text : {&none, &failing, &spent})
        EXPECT_EQ(Occurrences(*text, "rom the knowledge base: "), 1u) << *text;
    }
  }
}

TEST(FallbackReasonTest, MapsDegradedReasons) {
  EXPECT_EQ(FallbackReasonFor("llm_not_configured"), FallbackReason::kNotConfigured);
  EXPECT_EQ(FallbackReasonFor("budget_exhausted"), FallbackReason::kBudgetExhausted);
  EXPECT_EQ(FallbackReasonFor("breaker_open"), FallbackReason::kProviderFailing);
  EXPECT_EQ(FallbackReasonFor("upstream_status_500"), FallbackReason::kProviderFailing);
}

}  // namespace
}  // namespace folio
