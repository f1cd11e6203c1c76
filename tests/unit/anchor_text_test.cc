// anchor_text_test.cc: what counts as a mention of a document's name, and
// which words around it become the document's anchor text. Table-driven
// for the names; small knowledge bases for the mentions.
#include "anchor_text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace folio {
namespace {

TEST(DocumentNameTest, FileNameWithoutTextExtensionsLowercased) {
  const std::pair<std::string, std::string> cases[] = {
      {"git/git-shell.txt", "git-shell"},
      {"python/library/shutil.rst.txt", "shutil"},
      {"library/concurrent.futures.rst", "concurrent.futures"},
      {"projects/Tollgate.md", "tollgate"},
      {"notes.markdown", "notes"},
      {"guide.adoc", "guide"},
      {"page.html", "page"},
      {"archive.tar.gz", "archive.tar.gz"},  // not a text extension: kept
      {"README", "readme"},
  };
  for (const auto& [source, name] : cases) EXPECT_EQ(DocumentName(source), name) << source;
}

// Twenty filler documents make one word in one document rare (1 in 20 or
// fewer) and a word in three of them common.
std::vector<KbDocument> WithFiller(std::vector<KbDocument> docs, const std::string& common_word = "") {
  for (int i = 0; i < 20; ++i) {
    std::string text = "Filler page " + std::to_string(i) + " about the weather.";
    if (!common_word.empty() && i < 3) text += " Some " + common_word + " words.";
    docs.push_back({"filler/f" + std::to_string(i) + ".md", text});
  }
  return docs;
}

TEST(AnchorTextsTest, MultiWordNamesMatchWithTheirSeparatorsOrASpaceForAHyphen) {
  std::vector<KbDocument> docs = {
      {"git-shell.txt", "git-shell - Restricted login shell for Git-only SSH access"},
      {"guide.txt", "Give users a restricted shell that only allows pushes; see git-shell(1).\n\n"
                    "Later: the git shell command, again.\n\nNot a mention: git.shell or gitshell."},
      {"futures.txt", "Run calls in a pool with concurrent.futures today."},
      {"concurrent.futures.rst", "Launching parallel tasks."},
  };
  std::vector<std::string> anchors = AnchorTexts(docs, {4, 3});
  ASSERT_EQ(anchors.size(), 4u);
  // 4 words each side, the name left out; "git.shell" has another separator.
  EXPECT_EQ(anchors[0],
            "only allows pushes see 1 later the git\n"
            "shell 1 later the command again not a\n");
  EXPECT_EQ(anchors[3], "in a pool with today\n");
  EXPECT_TRUE(anchors[1].empty());
  EXPECT_TRUE(anchors[2].empty());
}

TEST(AnchorTextsTest, AOneWordNameNeedsTheMarksOfAReferenceUnlessTheWordIsRare) {
  std::vector<KbDocument> docs = WithFiller({
      {"random.rst", "Generate pseudo-random numbers."},
      {"mirrorctl.md", "Synchronises directory trees."},
      {"howto.md", "Pick a random colour. Use :mod:`random` for dice. "
                   "Copy a folder with mirrorctl to a laptop."},
  }, "random");
  std::vector<std::string> anchors = AnchorTexts(docs, {2, 3});
  // "random" is in 5 of 23 documents: only the marked mention counts.
  EXPECT_EQ(anchors[0], "use mod for dice\n");
  // "mirrorctl" is in 1 of 23: prose counts.
  EXPECT_EQ(anchors[1], "folder with to a\n");
}

TEST(AnchorTextsTest, MarksOfAReference) {
  const std::string marked[] = {"see `tool` here", "see 'tool' here", "see \"tool\" here", "see [tool] here",
                                "see <tool> here", "see docs/tool.md here", "see *tool* here", "see tool(1) here",
                                "call tool.run() here", "see :mod:`tool` here"};
  for (const std::string& text : marked) {
    // "tool" in 3 of 23 documents: common, so only a marked mention counts.
    std::vector<KbDocument> docs = WithFiller({{"tool.md", "A tool."}, {"other.md", text}}, "tool");
    EXPECT_FALSE(AnchorTexts(docs)[0].empty()) << text;
  }
  std::vector<KbDocument> docs = WithFiller({{"tool.md", "A tool."}, {"other.md", "see the tool here, tool."}}, "tool");
  EXPECT_TRUE(AnchorTexts(docs)[0].empty());
}

TEST(AnchorTextsTest, SelfMentionsAreIgnoredAndEachPageCountsAFewTimes) {
  std::vector<KbDocument> docs = {
      {"zeta-tool.md", "zeta-tool describes zeta-tool."},
      {"a.md", "one zeta-tool two zeta-tool three zeta-tool four zeta-tool five"},
      {"b.md", "six zeta-tool seven"},
  };
  std::vector<std::string> anchors = AnchorTexts(docs, {1, 2});
  EXPECT_EQ(anchors[0], "one two\ntwo three\nsix seven\n");
}

TEST(AnchorTextsTest, ShortNamesAndDocumentsWithoutMentionsGiveNothing) {
  std::vector<KbDocument> docs = {{"a.md", "a b c a.md `a`"}, {"b.md", "Nothing here."}};
  std::vector<std::string> anchors = AnchorTexts(docs);
  ASSERT_EQ(anchors.size(), 2u);
  EXPECT_TRUE(anchors[0].empty());
  EXPECT_TRUE(anchors[1].empty());
  EXPECT_TRUE(AnchorTexts({}).empty());
}

}  // namespace
}  // namespace folio
