// kb_reader_test.cc: what is read, what is skipped and why, UTF-8 repair,
// the empty-KB error and the stability of kb_version.
#include "kb_reader.h"
#include "utf8.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "temp_dir.h"

namespace folio {
namespace {

namespace fs = std::filesystem;

class KbReaderTest : public ::testing::Test {
 protected:

  void Write(const std::string& rel, const std::string& bytes) {
    fs::path p = fs::path(dir_.path()) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
  }
  std::string Reason(const KbContents& kb, const std::string& path) {
    for (const KbSkipped& s : kb.skipped) {
      if (s.path == path) return s.reason;
    }
    return "";
  }

  const test::TempDir dir_{"folio-kb-test"};
};

TEST_F(KbReaderTest, ReadsTextFilesRecursivelyInSortedOrder) {
  Write("b.md", "# B\n");
  Write("a/z.txt", "z");
  Write("a/c.MARKDOWN", "c");
  Result<KbContents> kb = ReadKb(dir_.path());
  ASSERT_TRUE(kb.ok()) << kb.status().ToString();
  ASSERT_EQ(kb->documents.size(), 3u);
  EXPECT_EQ(kb->documents[0].source, "a/c.MARKDOWN");
  EXPECT_EQ(kb->documents[1].source, "a/z.txt");
  EXPECT_EQ(kb->documents[2].source, "b.md");
  EXPECT_EQ(kb->documents[2].text, "# B\n");
  EXPECT_EQ(kb->kb_version.size(), 32u);
}

TEST_F(KbReaderTest, SkipsOtherExtensionsAndBinariesWithReasons) {
  Write("ok.md", "fine");
  Write("image.png", "\x89PNG");
  Write("notes.pdf", "%PDF");
  Write("bin.txt", std::string("ab\0cd", 5));
  Write("blank.md", " \n\n");
  Result<KbContents> kb = ReadKb(dir_.path());
  ASSERT_TRUE(kb.ok());
  ASSERT_EQ(kb->documents.size(), 1u);
  EXPECT_NE(Reason(*kb, "image.png").find("unsupported extension"), std::string::npos);
  EXPECT_NE(Reason(*kb, "notes.pdf").find("unsupported extension"), std::string::npos);
  EXPECT_NE(Reason(*kb, "bin.txt").find("binary"), std::string::npos);
  EXPECT_EQ(Reason(*kb, "blank.md"), "empty");
}

TEST_F(KbReaderTest, IgnoresHiddenFilesAndDirectories) {
  Write("ok.md", "fine");
  Write(".hidden.md", "secret");
  Write(".git/config.md", "nope");
  Write("sub/.draft.txt", "nope");
  Result<KbContents> kb = ReadKb(dir_.path());
  ASSERT_TRUE(kb.ok());
  ASSERT_EQ(kb->documents.size(), 1u);
  EXPECT_TRUE(kb->skipped.empty());
}

TEST_F(KbReaderTest, SkipsFilesOverTheSizeLimit) {
  Write("big.md", std::string(2000, 'x'));
  Write("ok.md", "fine");
  Result<KbContents> kb = ReadKb(dir_.path(), KbReadOptions{1000});
  ASSERT_TRUE(kb.ok());
  EXPECT_EQ(kb->documents.size(), 1u);
  EXPECT_NE(Reason(*kb, "big.md").find("too large"), std::string::npos);
}

TEST_F(KbReaderTest, RepairsInvalidUtf8AndReportsTheFile) {
  Write("bad.md", "caf\xE9 ok \xC3\xA9 \xF0\x9F\x98");  // Latin-1 é, valid é, truncated emoji
  Write("good.md", "\xEF\xBB\xBFwith BOM");
  Result<KbContents> kb = ReadKb(dir_.path());
  ASSERT_TRUE(kb.ok());
  ASSERT_EQ(kb->repaired, std::vector<std::string>{"bad.md"});
  EXPECT_EQ(kb->documents[0].text, "caf\xEF\xBF\xBD ok \xC3\xA9 \xEF\xBF\xBD");
  EXPECT_EQ(kb->documents[1].text, "with BOM");
}

TEST_F(KbReaderTest, EmptyKbIsAnError) {
  Result<KbContents> kb = ReadKb(dir_.path());
  ASSERT_FALSE(kb.ok());
  EXPECT_EQ(kb.status().code(), Code::kUnprocessable);
  EXPECT_EQ(kb.status().error(), "empty_kb");

  Write("only.pdf", "x");
  kb = ReadKb(dir_.path());
  ASSERT_FALSE(kb.ok());
  EXPECT_NE(kb.status().message().find("only.pdf"), std::string::npos);
}

TEST_F(KbReaderTest, MissingDirectoryIsNotFound) {
  Result<KbContents> kb = ReadKb(dir_.path("nope"));
  ASSERT_FALSE(kb.ok());
  EXPECT_EQ(kb.status().code(), Code::kNotFound);
}

TEST_F(KbReaderTest, KbVersionDependsOnContentOnly) {
  Write("a.md", "one");
  Write("b.md", "two");
  std::string v1 = ReadKb(dir_.path())->kb_version;
  EXPECT_EQ(ReadKb(dir_.path())->kb_version, v1);
  Write("ignored.png", "x");
  EXPECT_EQ(ReadKb(dir_.path())->kb_version, v1);
  Write("b.md", "two!");
  EXPECT_NE(ReadKb(dir_.path())->kb_version, v1);
}

TEST(RepairUtf8Test, TableOfInvalidSequences) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"plain", "plain"},
      {"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},              // overlong '/'
      {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},  // surrogate
      {"\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},  // > U+10FFFF
      {"\xE2\x82", "\xEF\xBF\xBD"},                          // truncated: one replacement
      {"a\xFFz", "a\xEF\xBF\xBDz"},
      {"\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"},              // valid emoji kept
  };
  for (Case& c : cases) {
    std::string s = c.in;
    EXPECT_EQ(RepairUtf8(&s), c.in != c.out);
    EXPECT_EQ(s, c.out);
  }
}

}  // namespace
}  // namespace folio
