// serving_index_test.cc: the worker refuses an index whose embedder it would not
// reproduce for queries (another model or dimension), and serves it once the
// configuration matches again; an index file changed under its mapping is
// taken out of service (a truncated one reads zeros meanwhile), one replaced
// beside it is not.
#include "serving_index.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include "index_writer.h"
#include "mapped_file.h"
#include "mock_llm.h"
#include "poll_until.h"
#include "temp_dir.h"

namespace folio {
namespace {

TEST(KnowledgeTest, EmbedderMismatchIsNotReadyWithTheReason) {
  test::MockLlm mock;
  ASSERT_TRUE(mock.Start().ok());
  const OpenAiEndpoint model_a{mock.base_url(), "sk-test", "model-a"};
  const test::TempDir root("folio-serving-index");
  IndexBuildOptions options;
  options.embedder_kind = "openai";
  options.openai = model_a;
  options.dimension = test::MockLlm::kDefaultEmbeddingDimension;
  Result<BuildReport> built = BuildIndex(FOLIO_SOURCE_DIR "/kb", root.path("index"), options);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  EXPECT_TRUE(built->manifest.vectors);  // a learned model's ranking is fused: its graph is built

  ServingIndex same(root.path("index"), model_a);
  EXPECT_TRUE(same.Load().ok()) << same.status().ToString();
  ASSERT_NE(same.Get().embedder, nullptr);
  EXPECT_TRUE(same.Get().index->has_vectors());

  ServingIndex other(root.path("index"), {mock.base_url(), "sk-test", "model-b"});
  Status s = other.Load();
  EXPECT_EQ(s.error(), "embedder_mismatch") << s.ToString();
  EXPECT_NE(s.message().find("openai:model-a"), std::string::npos) << s.message();
  EXPECT_EQ(other.Get().index, nullptr);

  mock.Stop();
}


TEST(MappedFileGuardTest, ReadPastATruncatedEndReadsZerosAndIsCounted) {
  InstallMappedFileGuard();
  const test::TempDir root("folio-guard");
  const std::string path = root.path("file");
  std::ofstream(path) << std::string(3 * 4096, 'a');
  Result<MappedFile> f = MappedFile::Open(path);
  ASSERT_TRUE(f.ok());
  std::filesystem::resize_file(path, 100);
  const uint64_t before = MappedFileFaults();
  EXPECT_EQ(f->data()[5], 'a');
  EXPECT_EQ(f->data()[2 * 4096 + 5], 0);  // a SIGBUS without the guard
  EXPECT_EQ(MappedFileFaults(), before + 1);
}

void WriteGarbage(const std::string& path, bool in_place) {
  std::string bytes(std::filesystem::file_size(path), '\x5a');
  if (in_place) {
    std::fstream(path, std::ios::in | std::ios::out | std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return;
  }
  std::ofstream(path + ".tmp", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  std::filesystem::rename(path + ".tmp", path);
}

TEST(KnowledgeTest, FileChangedUnderItsMappingIsTakenOutOfServiceOneReplacedIsNot) {
  InstallMappedFileGuard();
  const test::TempDir root("folio-serving-index");
  const std::string dir = root.path("index");
  ASSERT_TRUE(BuildIndex(FOLIO_SOURCE_DIR "/kb", dir, IndexBuildOptions{}).ok());
  ServingIndex k(dir);
  ASSERT_TRUE(k.Load().ok());
  EXPECT_EQ(k.Get().embedder, nullptr);  // an index without vectors: queries are not embedded
  k.StartWatching(std::chrono::milliseconds(50));

  // Replaced beside the mapping: the mapped (old) file still serves.
  WriteGarbage(dir + "/chunks.bin", /*in_place=*/false);
  ASSERT_TRUE(test::PollUntil([&] { return !k.status().ok(); }));
  EXPECT_NE(k.status().message().find("checksum"), std::string::npos) << k.status().ToString();
  EXPECT_TRUE(k.in_service());

  ASSERT_TRUE(BuildIndex(FOLIO_SOURCE_DIR "/kb", dir, IndexBuildOptions{}).ok());  // sees the damage, rebuilds
  ASSERT_TRUE(test::PollUntil([&] { return k.status().ok(); })) << k.status().ToString();
  // Changed in place: the mapping shows the new bytes, so it goes.
  WriteGarbage(dir + "/bm25.bin", /*in_place=*/true);
  ASSERT_TRUE(test::PollUntil([&] { return !k.in_service(); }));
  EXPECT_EQ(k.Get().index, nullptr);
  EXPECT_NE(k.status().message().find("bm25.bin checksum"), std::string::npos) << k.status().ToString();

  ASSERT_TRUE(BuildIndex(FOLIO_SOURCE_DIR "/kb", dir, IndexBuildOptions{}).ok());
  ASSERT_TRUE(test::PollUntil([&] { return k.in_service() && k.status().ok(); })) << k.status().ToString();
  k.StopWatching();
}

}  // namespace
}  // namespace folio
