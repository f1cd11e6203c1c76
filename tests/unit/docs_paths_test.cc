// docs_paths_test.cc: the documentation names files that exist. Every
// repository path quoted in README.md and docs/*.md (`worker/lifecycle.cc`,
// `shared/state/`) must be in the tree, so a move or a rename cannot leave a
// newcomer following a map to nowhere; and the docs stand alone, pointing at
// nothing outside the repository.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace folio {
namespace {

namespace fs = std::filesystem;

const fs::path kRoot = FOLIO_SOURCE_DIR;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> Docs() {
  std::vector<fs::path> docs = {kRoot / "README.md"};
  for (const auto& entry : fs::directory_iterator(kRoot / "docs"))
    if (entry.path().extension() == ".md") docs.push_back(entry.path());
  return docs;
}

// Code spans that are a path in one of the repository's top-level folders,
// without wildcards or placeholders (`bench/eval/*.json`, `worker-N.log`).
std::vector<std::string> QuotedPaths(const std::string& text) {
  static const std::regex kSpan(
      "`((?:worker|shared|tools|nginx|web|tests|bench|fuzz|scripts|docs|kb|config)/[A-Za-z0-9_./-]*)`");
  std::vector<std::string> paths;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kSpan); it != std::sregex_iterator(); ++it)
    paths.push_back((*it)[1].str());
  return paths;
}

TEST(DocsPathsTest, EveryQuotedPathExists) {
  size_t checked = 0;
  for (const fs::path& doc : Docs()) {
    for (const std::string& path : QuotedPaths(ReadFile(doc))) {
      EXPECT_TRUE(fs::exists(kRoot / path)) << doc.filename() << " names " << path << ", which is not in the tree";
      ++checked;
    }
  }
  EXPECT_GT(checked, 50u) << "the docs quote the files they describe";
}

TEST(DocsPathsTest, ArchitectureFollowsAChatThroughAtMostSevenFiles) {
  const std::string text = ReadFile(kRoot / "docs/ARCHITECTURE.md");
  const size_t start = text.find("## One request, file by file");
  ASSERT_NE(start, std::string::npos);
  const size_t end = text.find("### ", start);
  // Each step of the walk opens with the file it happens in, in bold.
  static const std::regex kStep("\n[0-9]+\\. \\*\\*`([^`]+)`\\*\\*");
  const std::string walk = text.substr(start, end - start);
  size_t steps = 0;
  for (auto it = std::sregex_iterator(walk.begin(), walk.end(), kStep); it != std::sregex_iterator(); ++it) {
    EXPECT_TRUE(fs::exists(kRoot / (*it)[1].str())) << (*it)[1];
    ++steps;
  }
  EXPECT_GE(steps, 5u);
  EXPECT_LE(steps, 7u);
}

TEST(DocsPathsTest, DocsPointAtNothingOutsideTheRepository) {
  for (const fs::path& doc : Docs()) {
    const std::string text = ReadFile(doc);
    EXPECT_EQ(text.find("../shared"), std::string::npos) << doc;
    // A relative link that climbs above the repository's root.
    const std::string out_of_tree = doc.parent_path() == kRoot ? "](../" : "](../../";
    EXPECT_EQ(text.find(out_of_tree), std::string::npos) << doc;
  }
}

}  // namespace
}  // namespace folio
