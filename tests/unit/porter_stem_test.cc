// porter_stem_test.cc: Porter's stemmer on the examples of his paper and on
// the inflections a question and a page use for the same thing.
#include "porter_stem.h"

#include <gtest/gtest.h>

namespace folio {
namespace {

TEST(PorterStemTest, MatchesThePapersExamples) {
  const std::pair<const char*, const char*> cases[] = {
      {"caresses", "caress"}, {"ponies", "poni"},         {"cats", "cat"},          {"feed", "feed"},
      {"agreed", "agre"},     {"plastered", "plaster"},   {"motoring", "motor"},    {"sing", "sing"},
      {"conflated", "conflat"}, {"hopping", "hop"},       {"falling", "fall"},      {"filing", "file"},
      {"happy", "happi"},     {"relational", "relat"},    {"conditional", "condit"}, {"digitizer", "digit"},
      {"generalization", "gener"}, {"hopeful", "hope"},   {"goodness", "good"},     {"revival", "reviv"},
      {"adjustment", "adjust"}, {"dependent", "depend"},  {"adoption", "adopt"},    {"probate", "probat"},
      {"rate", "rate"},       {"controll", "control"},    {"roll", "roll"},
  };
  for (const auto& [word, stem] : cases) EXPECT_EQ(PorterStem(word), stem) << word;
}

TEST(PorterStemTest, InflectionsMeet) {
  EXPECT_EQ(PorterStem("remotely"), PorterStem("remote"));
  EXPECT_EQ(PorterStem("configuration"), PorterStem("configure"));
  EXPECT_EQ(PorterStem("configured"), PorterStem("configuring"));
  EXPECT_EQ(PorterStem("deletion"), PorterStem("deleting"));
}

TEST(PorterStemTest, LeavesShortNonAsciiAndDigitWordsAlone) {
  EXPECT_EQ(PorterStem("is"), "is");
  EXPECT_EQ(PorterStem("caf\xC3\xA9s"), "caf\xC3\xA9s");
  EXPECT_EQ(PorterStem("utf8s"), "utf8s");
}

}  // namespace
}  // namespace folio
