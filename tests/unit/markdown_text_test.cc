// markdown_text_test.cc: inline markup is stripped without eating words,
// blocks come out whole (list items with their continuation lines, table
// rows with their header, code left out), table rows read as sentences,
// and sentences are cut where a reader would cut them.
#include "markdown_text.h"

#include <gtest/gtest.h>

namespace folio {
namespace {

struct StripCase {
  const char* in;
  const char* out;
};

TEST(StripInlineMarkupTest, RemovesMarkupAndKeepsText) {
  const StripCase cases[] = {
      {"**Two months**, as per her contract", "Two months, as per her contract"},
      {"Email `maya@example.com` any day", "Email maya@example.com any day"},
      {"See [Lantern](projects/lantern.md) for more", "See Lantern for more"},
      {"![the logo](img/logo.png) here", "the logo here"},
      {"a [reference link][1] too", "a reference link too"},
      {"invoiced as *trabalhador independente*.", "invoiced as trabalhador independente."},
      {"_emphasis_ and __strong__ words", "emphasis and strong words"},
      {"snake_case_name and file_2 stay", "snake_case_name and file_2 stay"},
      {"~~old~~ new", "old new"},
      {"2 * 3 = 6", "2 * 3 = 6"},
      {"``__init__`` runs first", "__init__ runs first"},
      {"Use :func:`json.dumps` here", "Use json.dumps here"},
      {":meth:`~re.Pattern.findall` returns a list", "re.Pattern.findall returns a list"},
      {"see :ref:`the tutorial <tut-intro>` first", "see the tutorial first"},
      {"the `Python site <https://python.org>`_ has it", "the Python site has it"},
      {"see linkgit:git-log[1] and HEAD{caret}2 or HEAD{tilde}3", "see git-log(1) and HEAD^2 or HEAD~3"},
      {"line<br>break and <b>bold</b>", "linebreak and bold"},
      {"git checkout <commit> -- <path>", "git checkout <commit> -- <path>"},
      {"at <https://example.com> now", "at https://example.com now"},
      {"a \\*literal\\* star", "a *literal* star"},
      {"  spaced    out\twords  ", "spaced out words"},
  };
  for (const StripCase& c : cases) EXPECT_EQ(StripInlineMarkup(c.in), c.out) << c.in;
}

TEST(RenderTableRowTest, NamesEachColumn) {
  EXPECT_EQ(RenderTableRow({"Language", "Level", "Years"}, {"Go", "Expert", "7"}),
            "Language: Go; Level: Expert; Years: 7");
}

TEST(RenderTableRowTest, SkipsEmptyAndDashCellsAndListsCellsWithoutHeader) {
  EXPECT_EQ(RenderTableRow({"Language", "Level", "Years"}, {"C", "Familiar", "\xE2\x80\x94"}), "Language: C; Level: Familiar");
  EXPECT_EQ(RenderTableRow({"A"}, {"x", "", "y"}), "A: x; y");
  EXPECT_EQ(RenderTableRow({}, {"x", "y"}), "x; y");
}

TEST(SplitBlocksTest, ReadsMarkdownBlocksInOrder) {
  const char* md =
      "# Skills\n"
      "\n"
      "A summary of **what** she uses.\n"
      "It spans two lines.\n"
      "\n"
      "- **Kubernetes** — Expert. Runs clusters\n"
      "  on EKS and GKE.\n"
      "- **Terraform** — Expert.\n"
      "\n"
      "| Language | Level |\n"
      "|---|---|\n"
      "| Go | Expert |\n"
      "| Rust | Advanced |\n"
      "\n"
      "```sh\n"
      "go install example.com/tool@latest\n"
      "```\n"
      "\n"
      "> A quoted line.\n";
  std::vector<TextBlock> b = SplitBlocks(md);
  ASSERT_EQ(b.size(), 7u);
  EXPECT_EQ(b[0].kind, BlockKind::kHeading);
  EXPECT_EQ(b[0].text, "Skills");
  EXPECT_EQ(b[1].kind, BlockKind::kParagraph);
  EXPECT_EQ(b[1].text, "A summary of what she uses. It spans two lines.");
  EXPECT_EQ(b[2].kind, BlockKind::kListItem);
  EXPECT_EQ(b[2].text, "Kubernetes — Expert. Runs clusters on EKS and GKE.");
  EXPECT_EQ(b[3].text, "Terraform — Expert.");
  EXPECT_EQ(b[4].kind, BlockKind::kTableRow);
  EXPECT_EQ(b[4].text, "Language: Go; Level: Expert");
  EXPECT_EQ(b[4].header, (std::vector<std::string>{"Language", "Level"}));
  EXPECT_EQ(b[4].cells, (std::vector<std::string>{"Go", "Expert"}));
  EXPECT_EQ(b[5].text, "Language: Rust; Level: Advanced");
  EXPECT_EQ(b[6].kind, BlockKind::kParagraph);
  EXPECT_EQ(b[6].text, "A quoted line.");
}

TEST(SplitBlocksTest, TableWithoutSeparatorHasNoHeader) {
  std::vector<TextBlock> b = SplitBlocks("| a | b |\n| c | d |\n");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_TRUE(b[0].header.empty());
  EXPECT_EQ(b[0].text, "a; b");
  EXPECT_EQ(b[1].text, "c; d");
}

TEST(SplitBlocksTest, PipesInsideCodeSpansStayInTheCell) {
  std::vector<TextBlock> b = SplitBlocks("| op | meaning |\n|--|--|\n| `x | y` | union |\n");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].cells, (std::vector<std::string>{"x | y", "union"}));
}

TEST(SplitBlocksTest, ReadsUnderlinedHeadingsAndLeavesLiteralBlocksOut) {
  const char* rst =
      "json --- JSON encoder\n"
      "=====================\n"
      "\n"
      "An example::\n"
      "\n"
      "    >>> import json\n"
      "    >>> json.dumps([1, 2])\n"
      "\n"
      ".. function:: dumps(obj, indent=None)\n"
      "\n"
      "   Serialize *obj* to a JSON formatted :class:`str`.\n"
      "\n"
      ".. code-block:: python\n"
      "\n"
      "   print('hidden')\n"
      "\n"
      "After the code.\n";
  std::vector<TextBlock> b = SplitBlocks(rst);
  ASSERT_EQ(b.size(), 5u);
  EXPECT_EQ(b[0].kind, BlockKind::kHeading);
  EXPECT_EQ(b[0].text, "json --- JSON encoder");
  EXPECT_EQ(b[1].text, "An example:");
  EXPECT_EQ(b[2].kind, BlockKind::kHeading);
  EXPECT_EQ(b[2].text, "dumps(obj, indent=None)");
  EXPECT_EQ(b[3].text, "Serialize obj to a JSON formatted str.");
  EXPECT_EQ(b[4].text, "After the code.");
}

TEST(SplitBlocksTest, LeavesAsciiDocListingsOut) {
  const char* adoc =
      "EXAMPLES\n"
      "--------\n"
      "Show the log:\n"
      "\n"
      "------------\n"
      "$ git log --oneline\n"
      "------------\n"
      "\n"
      "Then push.\n";
  std::vector<TextBlock> b = SplitBlocks(adoc);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].text, "EXAMPLES");
  EXPECT_EQ(b[1].text, "Show the log:");
  EXPECT_EQ(b[2].text, "Then push.");
}

TEST(SplitBlocksTest, ReadsAsciiDocLabeledListsAndTitles) {
  const char* adoc =
      "=== Options ===\n"
      "--force::\n"
      "\tOverwrite the target.\n"
      "'%d':: ref names, like\n"
      "\t\tthe decorate option.\n"
      "\n"
      "See :mimetype:`image/\\*` types.\n";
  std::vector<TextBlock> b = SplitBlocks(adoc);
  ASSERT_EQ(b.size(), 6u);
  EXPECT_EQ(b[0].kind, BlockKind::kHeading);
  EXPECT_EQ(b[0].text, "Options");
  EXPECT_EQ(b[1].kind, BlockKind::kHeading);
  EXPECT_EQ(b[1].text, "--force");
  EXPECT_EQ(b[2].text, "Overwrite the target.");
  EXPECT_EQ(b[3].kind, BlockKind::kHeading);
  EXPECT_EQ(b[3].text, "'%d'");
  EXPECT_EQ(b[4].text, "ref names, like the decorate option.");
  EXPECT_EQ(b[5].text, "See image/* types.");
}

TEST(SplitBlocksTest, IndentedCodeAfterABlankLineIsLeftOut) {
  std::vector<TextBlock> b = SplitBlocks("Run this:\n\n    make install\n\nDone.\n");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].text, "Run this:");
  EXPECT_EQ(b[1].text, "Done.");
}

TEST(SplitSentencesTest, CutsAtSentenceEndsOnly) {
  std::vector<std::string> s = SplitSentences(
      "She uses Go, e.g. for APIs. It is fast! Version 1.5 shipped in May. Call json.dumps first. Is it done? "
      "Dr. Lindqvist agreed.");
  EXPECT_EQ(s, (std::vector<std::string>{"She uses Go, e.g. for APIs.", "It is fast!", "Version 1.5 shipped in May.",
                                         "Call json.dumps first.", "Is it done?", "Dr. Lindqvist agreed."}));
}

TEST(SplitSentencesTest, KeepsClosingQuotesAndBracketsWithTheirSentence) {
  std::vector<std::string> s = SplitSentences("He said \"stop.\" Then (quietly.) it ended");
  EXPECT_EQ(s, (std::vector<std::string>{"He said \"stop.\"", "Then (quietly.) it ended"}));
}

}  // namespace
}  // namespace folio
