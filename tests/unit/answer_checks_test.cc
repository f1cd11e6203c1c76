// answer_checks_test.cc: the evaluation's answer checks judge what they
// claim to: "clean" fails on each kind of markup debris and passes code
// content and plain prose; "correct" needs one expected fact.
#include <gtest/gtest.h>

#include "eval_lib.h"

namespace folio {
namespace {

TEST(AnswerIsCleanTest, FindsEachKindOfDebris) {
  const char* debris[] = {
      "She is **fluent** in Go.",         "It is ~~old~~ new.",          "Run `make` first.",
      "See [the docs](x.md).",            "An ![image](a.png) here.",    "| Go | Expert |",
      "Line<br>break.",                   "Some <b>bold</b> text.",      "## Heading\nText.",
      "> quoted line",                    "an _emphasised phrase_ here", "see {caret} and linkgit:git-log[1]",
      "For example:: code",               "Title\n=====",                "a \\* escaped star",
  };
  for (const char* d : debris) {
    std::string what;
    EXPECT_FALSE(AnswerIsClean(d, &what)) << d;
    EXPECT_FALSE(what.empty()) << d;
  }
}

TEST(AnswerIsCleanTest, PassesProseAndCodeContent) {
  const char* clean[] = {
      "From the knowledge base: Go for day-to-day work, Rust for side projects. [1]\n\nSources: [1] faq.md",
      "Language: Rust; Level: Advanced; Years: 4.",
      "Use Optional[X], which is X | None, and call __init__ with **kwargs or 10**n.",
      "git checkout <commit> -- <path> and ext::git-server-alias.",
      "The _fields_ attribute and a -----BEGIN PGP SIGNATURE----- block.",
  };
  for (const char* c : clean) {
    std::string what;
    EXPECT_TRUE(AnswerIsClean(c, &what)) << c << " flagged " << what;
  }
}

TEST(AnswerIsCorrectTest, NeedsOneExpectedFactCaseInsensitively) {
  EvalQuestion q{"notice period?", "keyword", "test", {"faq.md"}, {"two months", "8 weeks"}};
  EXPECT_TRUE(AnswerIsCorrect("Her notice is Two Months.", q));
  EXPECT_TRUE(AnswerIsCorrect("About 8 weeks.", q));
  EXPECT_FALSE(AnswerIsCorrect("She can start soon.", q));
  q.expect.clear();
  EXPECT_FALSE(AnswerIsCorrect("Her notice is two months.", q));
}

}  // namespace
}  // namespace folio
