// shm_file_test.cc: the shared-file primitive on real files in a fresh temp
// dir: validate-or-initialise with the magic written last, growing and
// cutting back, re-locking the mapped file, private and read-only mappings.
#include "shm_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace folio {
namespace {

struct Layout {
  SharedFileHeader header;
  std::atomic<int64_t> counter;
  int64_t initialised;  // set by Init: tells an initialised file from a kept one
};

constexpr SharedFileFormat kFormat{0x5453455446494c45ull, 3, 4096, FileSize::kAtLeast,
                                   [](void* at) { new (at) Layout{{}, {0}, 1}; }};

class ShmFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/folio-shm-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/test.shm";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Layout* Map(SharedFileFormat format = kFormat) {
    Result<LockedFile> file = LockedFile::Open(path_, "test_file");
    EXPECT_TRUE(file.ok()) << file.status().ToString();
    if (!file.ok()) return nullptr;
    Result<SharedMapping> mapping = file->MapFormatted(format);
    EXPECT_TRUE(mapping.ok()) << mapping.status().ToString();
    if (!mapping.ok()) return nullptr;
    mappings_.push_back(std::move(*mapping));
    return static_cast<Layout*>(mappings_.back().data());
  }

  std::string dir_, path_;
  std::vector<SharedMapping> mappings_;
};

TEST_F(ShmFileTest, ANewFileIsInitialisedAndAValidOneKept) {
  Layout* first = Map();
  ASSERT_NE(first, nullptr);
  EXPECT_TRUE(HasHeader(first, kFormat));
  EXPECT_EQ(first->initialised, 1);
  first->counter = 41;
  first->initialised = 7;  // a kept file keeps this
  Layout* second = Map();
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->initialised, 7);
  ++second->counter;
  EXPECT_EQ(first->counter.load(), 42) << "two mappings of one file are one memory";
  EXPECT_EQ(std::filesystem::status(path_).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST_F(ShmFileTest, AFileWithoutItsMagicIsInitialisedAgain) {
  Layout* first = Map();
  ASSERT_NE(first, nullptr);
  first->counter = 5;
  first->header.magic = 0;  // as a process killed before publishing it leaves it
  Layout* again = Map();
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->counter.load(), 0);
  EXPECT_EQ(again->initialised, 1);
  SharedFileFormat newer = kFormat;
  newer.version = 4;
  Layout* upgraded = Map(newer);
  ASSERT_NE(upgraded, nullptr);
  EXPECT_EQ(upgraded->header.version, 4u) << "another version's layout is initialised, not trusted";
}

TEST_F(ShmFileTest, ALongerFileIsKeptOrCutBackAsTheFormatSays) {
  std::ofstream(path_, std::ios::binary) << std::string(10000, 'x');
  ASSERT_NE(Map(), nullptr);
  EXPECT_EQ(std::filesystem::file_size(path_), 10000u) << "another process may map more of it";
  SharedFileFormat exact = kFormat;
  exact.sizing = FileSize::kExact;
  ASSERT_NE(Map(exact), nullptr);
  EXPECT_EQ(std::filesystem::file_size(path_), 4096u);
  std::ofstream(path_, std::ios::binary | std::ios::trunc) << "short";
  ASSERT_NE(Map(), nullptr);
  EXPECT_EQ(std::filesystem::file_size(path_), 4096u) << "a short file grows to the layout";
}

TEST_F(ShmFileTest, LockFindsTheMappedFileOrSaysItIsGone) {
  ASSERT_NE(Map(), nullptr);
  EXPECT_TRUE(mappings_.back().Lock("test_file").ok());
  std::filesystem::rename(path_, path_ + ".old");
  std::ofstream(path_) << "";  // the path now names another file
  Result<LockedFile> lock = mappings_.back().Lock("test_file");
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.status().code(), Code::kUnavailable);
  EXPECT_EQ(lock.status().error(), "test_file");
}

TEST_F(ShmFileTest, PrivateMemoryIsInitialisedAndHasNoFile) {
  SharedMapping mapping = SharedMapping::Private(kFormat);
  EXPECT_TRUE(HasHeader(mapping.data(), kFormat));
  EXPECT_EQ(static_cast<Layout*>(mapping.data())->initialised, 1);
  EXPECT_EQ(mapping.path(), "");
  EXPECT_FALSE(mapping.Lock("test_file").ok());
}

TEST_F(ShmFileTest, ReadOnlyMappingsAndErrorsNameTheirToken) {
  Result<SharedMapping> missing = SharedMapping::OpenReadOnly(path_, "test_file");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  ASSERT_NE(Map(), nullptr);
  Result<SharedMapping> view = SharedMapping::OpenReadOnly(path_, "test_file");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->size(), 4096u);
  EXPECT_TRUE(HasHeader(view->data(), kFormat));
  Result<SharedMapping> directory = SharedMapping::OpenReadOnly(dir_, "test_file");
  ASSERT_TRUE(directory.ok());
  EXPECT_EQ(directory->size(), 0u) << "not a regular file: nothing mapped";
  Result<LockedFile> not_a_file = LockedFile::Open(dir_, "test_file");
  ASSERT_FALSE(not_a_file.ok());
  EXPECT_EQ(not_a_file.status().error(), "test_file");
}

}  // namespace
}  // namespace folio
