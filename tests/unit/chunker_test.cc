// chunker_test.cc: heading paths, windows and overlap, and the awkward inputs
// (CRLF, 100 KB lines, empty files, code fences, runs without spaces).
#include "chunker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kb_reader.h"
#include "token_estimate.h"
#include "utf8.h"

namespace folio {
namespace {

std::vector<std::string> Headings(const std::vector<Chunk>& chunks) {
  std::vector<std::string> out;
  for (const Chunk& c : chunks) out.push_back(c.heading);
  return out;
}

std::vector<std::string> SplitWords(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// "w0 w1 w2 ..." with a newline every `per_line` words (0: never).
std::string NumberedWords(int n, int per_line) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    s += "w" + std::to_string(i);
    s += (per_line > 0 && (i + 1) % per_line == 0) ? "\n" : " ";
  }
  return s;
}

TEST(ChunkerTest, HeadingPathFollowsLevelsOneToThree) {
  std::string md = "# Projects\n\nintro\n\n## Lantern\n\nsearch engine\n\n### Outcomes\n\nfast\n\n"
                   "## Tollgate\n\nrate limiter\n";
  std::vector<Chunk> chunks = ChunkDocument("projects.md", md, ChunkerOptions{});
  EXPECT_EQ(Headings(chunks), (std::vector<std::string>{"Projects", "Projects > Lantern",
                                                        "Projects > Lantern > Outcomes", "Projects > Tollgate"}));
  EXPECT_EQ(chunks[1].text, "search engine");
  EXPECT_EQ(chunks[1].source, "projects.md");
}

TEST(ChunkerTest, TextBeforeTheFirstHeadingGetsTheFileTitle) {
  std::vector<Chunk> chunks = ChunkDocument("notes/team-notes.md", "preface\n\n# Real\n\nbody\n", ChunkerOptions{});
  EXPECT_EQ(Headings(chunks), (std::vector<std::string>{"team notes", "Real"}));
}

TEST(ChunkerTest, PlainTextUsesTheFileTitleAndIgnoresHashes) {
  std::vector<Chunk> chunks = ChunkDocument("dir/my_file.txt", "# not a heading\nplain text\n", ChunkerOptions{});
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].heading, "my file");
  EXPECT_EQ(chunks[0].text, "# not a heading\nplain text");
}

TEST(ChunkerTest, HashInsideCodeFenceIsNotAHeading) {
  std::string md = "# Setup\n\n```bash\n# install it\nmake\n```\n\n~~~~\n## still code\n~~~\n~~~~\n\nafter\n";
  std::vector<Chunk> chunks = ChunkDocument("a.md", md, ChunkerOptions{});
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].heading, "Setup");
  EXPECT_NE(chunks[0].text.find("# install it"), std::string::npos);
  EXPECT_NE(chunks[0].text.find("## still code"), std::string::npos);
}

TEST(ChunkerTest, HeadingRulesFollowCommonMark) {
  // "#tag" needs a space; 4 spaces of indent is code; closing #s are dropped.
  std::string md = "#tag line\n    # indented code\n## Title ##\nbody\n";
  std::vector<Chunk> chunks = ChunkDocument("a.md", md, ChunkerOptions{});
  EXPECT_EQ(Headings(chunks), (std::vector<std::string>{"a", "Title"}));
}

TEST(ChunkerTest, CrlfAndLoneCrBecomeLf) {
  std::vector<Chunk> chunks = ChunkDocument("a.md", "# One\r\n\r\nfirst\r\nline\r## Two\r\nsecond\r\n", ChunkerOptions{});
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].heading, "One");
  EXPECT_EQ(chunks[0].text, "first\nline");
  EXPECT_EQ(chunks[1].heading, "One > Two");
  for (const Chunk& c : chunks) EXPECT_EQ(c.text.find('\r'), std::string::npos);
}

TEST(ChunkerTest, EmptyOrBlankDocumentHasNoChunks) {
  EXPECT_TRUE(ChunkDocument("a.md", "", ChunkerOptions{}).empty());
  EXPECT_TRUE(ChunkDocument("a.txt", " \n\t\r\n", ChunkerOptions{}).empty());
  EXPECT_TRUE(ChunkDocument("a.md", "# Only a heading\n## And another\n", ChunkerOptions{}).empty());
}

TEST(ChunkerTest, LongSectionIsWindowedWithOverlapAndNoWordSplit) {
  ChunkerOptions opt{100, 20};
  std::string text = NumberedWords(2000, 12);
  std::vector<Chunk> chunks = ChunkDocument("a.txt", text, opt);
  ASSERT_GT(chunks.size(), 10u);
  std::set<std::string> vocabulary;
  for (const std::string& w : SplitWords(text)) vocabulary.insert(w);
  std::set<std::string> covered;
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_LE(chunks[i].tokens, opt.target_tokens + opt.target_tokens / 4) << i;
    EXPECT_EQ(chunks[i].tokens, EstimateTokens(chunks[i].text));
    std::vector<std::string> words = SplitWords(chunks[i].text);
    for (const std::string& w : words) {
      EXPECT_TRUE(vocabulary.count(w)) << "split word '" << w << "' in chunk " << i;
      covered.insert(w);
    }
    if (i + 1 < chunks.size()) {
      // The next chunk starts with this one's last words: ~overlap tokens of them.
      std::vector<std::string> next = SplitWords(chunks[i + 1].text);
      size_t j = words.size();
      while (j > 0 && words[j - 1] != next[0]) --j;
      ASSERT_GT(j, 1u) << "no overlap between chunks " << i << " and " << i + 1;
      std::vector<std::string> tail(words.begin() + (j - 1), words.end());
      ASSERT_LE(tail.size(), next.size());
      EXPECT_TRUE(std::equal(tail.begin(), tail.end(), next.begin()));
      EXPECT_LE(tail.size() * 4 / 3, opt.overlap_tokens + 2);
    }
  }
  EXPECT_EQ(covered.size(), vocabulary.size());  // nothing lost
}

TEST(ChunkerTest, CutsPreferParagraphEnds) {
  std::string para = NumberedWords(40, 0);  // ~54 tokens each
  para.pop_back();                           // the trailing space
  std::string text = para + "\n\n" + para + "\n\n" + para + "\n\n" + para;
  std::vector<Chunk> chunks = ChunkDocument("a.txt", text, ChunkerOptions{130, 0});
  ASSERT_GE(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, para + "\n\n" + para);
}

TEST(ChunkerTest, HundredKilobyteLineWithoutNewline) {
  std::string line;
  while (line.size() < 100 * 1024) line += "lorem ipsum dolor sit amet ";
  std::vector<Chunk> chunks = ChunkDocument("big.md", "# Big\n" + line, ChunkerOptions{});
  ASSERT_GT(chunks.size(), 50u);
  for (const Chunk& c : chunks) {
    EXPECT_LE(c.tokens, 250u);
    EXPECT_NE(c.text.front(), ' ');
    EXPECT_NE(c.text.back(), ' ');
    for (const std::string& w : SplitWords(c.text)) {
      EXPECT_TRUE(w == "lorem" || w == "ipsum" || w == "dolor" || w == "sit" || w == "amet") << w;
    }
  }
}

TEST(ChunkerTest, RunWithoutSpacesIsCutOnUtf8Boundaries) {
  std::string blob;
  for (int i = 0; i < 20000; ++i) blob += "\xC3\xA9";  // é, 40 KB without a space
  std::vector<Chunk> chunks = ChunkDocument("blob.txt", blob, ChunkerOptions{});
  ASSERT_GT(chunks.size(), 1u);
  std::string joined;
  for (Chunk c : chunks) {
    EXPECT_FALSE(RepairUtf8(&c.text)) << "chunk cut inside a character";
    EXPECT_LE(c.tokens, 250u);
  }
}

TEST(ChunkerTest, OptionsAreValidated) {
  EXPECT_TRUE((ChunkerOptions{200, 40}).Validate().ok());
  EXPECT_FALSE((ChunkerOptions{8, 0}).Validate().ok());
  EXPECT_FALSE((ChunkerOptions{100, 60}).Validate().ok());
  EXPECT_FALSE((ChunkerOptions{100000, 0}).Validate().ok());
}

TEST(TokenEstimateTest, TableOfExamples) {
  struct Case {
    const char* text;
    size_t tokens;
  } cases[] = {
      {"", 0},
      {"   \n", 1},              // 4 ASCII bytes
      {"hello world", 3},       // 2 words -> 3; 11 bytes -> 3
      {"a b c d e f", 8},       // 6 words -> 8
      {"0123456789abcdef0123", 5},  // one "word" of 20 bytes -> 5
      {"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", 3},  // 3 CJK characters
  };
  for (const Case& c : cases) EXPECT_EQ(EstimateTokens(c.text), c.tokens) << c.text;
}

TEST(FileTitleTest, DropsDirectoryAndExtension) {
  EXPECT_EQ(FileTitle("projects/lantern-notes.txt"), "lantern notes");
  EXPECT_EQ(FileTitle("README"), "README");
  EXPECT_EQ(FileTitle(".hidden"), ".hidden");
}

}  // namespace
}  // namespace folio
