// knowledge_test.cc: the worker refuses an index whose embedder it would not
// reproduce for queries (another model or dimension), and serves it once the
// configuration matches again.
#include "knowledge.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "index_writer.h"
#include "mock_llm.h"

namespace folio {
namespace {

TEST(KnowledgeTest, EmbedderMismatchIsNotReadyWithTheReason) {
  test::MockLlm mock;
  ASSERT_TRUE(mock.Start().ok());
  setenv("EMBEDDING_BASE_URL", mock.base_url().c_str(), 1);
  setenv("OPENAI_API_KEY", "sk-test", 1);
  setenv("EMBEDDING_MODEL", "model-a", 1);
  char tmpl[] = "/tmp/folio-knowledge-XXXXXX";
  std::string root = mkdtemp(tmpl);
  IndexBuildOptions options;
  options.embedder_kind = "openai";
  options.dimension = test::MockLlm::kDefaultEmbeddingDimension;
  Result<BuildReport> built = BuildIndex(FOLIO_SOURCE_DIR "/kb", root + "/index", options);
  ASSERT_TRUE(built.ok()) << built.status().ToString();

  Knowledge same(root + "/index");
  EXPECT_TRUE(same.Load().ok()) << same.status().ToString();

  setenv("EMBEDDING_MODEL", "model-b", 1);
  Knowledge other(root + "/index");
  Status s = other.Load();
  EXPECT_EQ(s.error(), "embedder_mismatch") << s.ToString();
  EXPECT_NE(s.message().find("openai:model-a"), std::string::npos) << s.message();
  EXPECT_EQ(other.Get().index, nullptr);

  setenv("EMBEDDING_MODEL", "model-a", 1);
  EXPECT_TRUE(other.Load().ok());
  EXPECT_NE(other.Get().index, nullptr);
  unsetenv("EMBEDDING_BASE_URL");
  unsetenv("EMBEDDING_MODEL");
  unsetenv("OPENAI_API_KEY");
  mock.Stop();
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace folio
