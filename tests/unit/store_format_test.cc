// store_format_test.cc: the format marker of an environment — its record,
// and what opening a store does with it: a store without one is stamped, a
// newer folio's store that this one may use keeps its marker, and one it
// may not use is refused without a byte written, by the session store and
// the response cache alike.
#include "store_format.h"

#include <gtest/gtest.h>

#include "response_cache.h"
#include "child.h"
#include "temp_dir.h"
#include "sessions.h"

namespace folio {
namespace {

using test::TempDir;

TEST(StoreFormatRecordTest, RoundTrips) {
  const StoreFormat f{3, 2, "1.4.0"};
  Result<StoreFormat> back = DecodeStoreFormat(EncodeStoreFormat(f));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->format, 3u);
  EXPECT_EQ(back->min_reader, 2u);
  EXPECT_EQ(back->written_by, "1.4.0");
}

TEST(StoreFormatRecordTest, AnythingElseIsCorrupt) {
  const std::string good = EncodeStoreFormat({1, 1, "0.1.0"});
  std::string other_version = good, longer = good + "x", zero = EncodeStoreFormat({0, 0, "x"});
  other_version[0] = 2;
  const std::string reader_above_format = EncodeStoreFormat({1, 2, "x"});
  for (const std::string& bytes :
       {std::string(), good.substr(0, 5), good.substr(0, good.size() - 1), other_version, longer, zero,
        reader_above_format}) {
    Result<StoreFormat> f = DecodeStoreFormat(bytes);
    EXPECT_EQ(f.ok() ? "accepted" : f.status().error(), "corrupt_record") << bytes.size() << " bytes";
  }
}

class StoreFormatTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    store_.reset();
    StoreOptions o;
    o.path = dir_.path() + "/lmdb";
    o.map_size_mb = 16;
    o.databases = SessionDatabases();
    store_ = std::move(Store::Open(o).value());
    meta_ = *store_->Database(kMetaDb);
  }
  std::optional<StoreFormat> Marker() {
    Result<ReadTxn> txn = store_->BeginRead();
    Result<std::optional<StoreFormat>> f = ReadStoreFormat(*txn, meta_);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? *f : std::nullopt;
  }
  void SetMarker(const StoreFormat& f) {
    ASSERT_TRUE(store_->Put(meta_, "format", EncodeStoreFormat(f), Durability::kSynced).ok());
  }
  uint64_t LastTxn() { return store_->EnvInfo()->last_txn_id; }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  Db meta_;
};

TEST_F(StoreFormatTest, AStoreWithoutAMarkerIsStampedWithThisFolios) {
  EXPECT_FALSE(Marker().has_value());
  Result<StoreFormat> f = CheckAndStampStoreFormat(*store_, meta_, 1, 1, "the store");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE(Marker().has_value());
  EXPECT_EQ(Marker()->format, 1u);
  EXPECT_EQ(Marker()->written_by, FOLIO_VERSION);
}

TEST_F(StoreFormatTest, AnOlderStoreIsStampedWithTheNewFormat) {
  SetMarker({1, 1, "0.0.9"});
  Result<StoreFormat> f = CheckAndStampStoreFormat(*store_, meta_, 2, 1, "the store");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(Marker()->format, 2u);
  EXPECT_EQ(Marker()->written_by, FOLIO_VERSION);
}

TEST_F(StoreFormatTest, ANewerStoreThisFolioMayUseKeepsItsMarker) {
  SetMarker({3, 1, "9.0.0"});  // a newer layout older readers still read
  Result<StoreFormat> f = CheckAndStampStoreFormat(*store_, meta_, 1, 1, "the store");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->format, 3u);
  EXPECT_EQ(Marker()->written_by, "9.0.0");
}

TEST_F(StoreFormatTest, ANewerStoreThisFolioMayNotUseIsRefusedUntouched) {
  SetMarker({2, 2, "9.0.0"});
  const uint64_t before = LastTxn();
  Result<StoreFormat> f = CheckAndStampStoreFormat(*store_, meta_, 1, 1, "the session store at /x");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().error(), "store_too_new");
  EXPECT_NE(f.status().message().find("the session store at /x was written by a newer folio (9.0.0"),
            std::string::npos)
      << f.status().message();
  EXPECT_EQ(LastTxn(), before) << "a refused store was written to";
}

TEST_F(StoreFormatTest, TheSessionStoreRefusesANewerStoreAndWritesNothing) {
  SetMarker({5, 5, "9.0.0"});
  const uint64_t before = LastTxn();
  SessionOptions options;
  Result<SessionStore> sessions = SessionStore::Open(store_.get(), options);
  ASSERT_FALSE(sessions.ok());
  EXPECT_EQ(sessions.status().error(), "store_too_new");
  EXPECT_EQ(LastTxn(), before);
}

TEST(CacheStoreFormatTest, TheResponseCacheRefusesANewerEnvironment) {
  TempDir dir;
  CacheOptions options;
  options.path = dir.path() + "/cache";
  {
    Result<std::unique_ptr<ResponseCache>> first = ResponseCache::Open(options);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
  }
  {
    Result<std::unique_ptr<Store>> raw = Store::Open(CacheStoreOptions(options));
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE((*raw)->Put(*(*raw)->Database(kMetaDb), "format", EncodeStoreFormat({4, 4, "9.0.0"}),
                            Durability::kSynced)
                    .ok());
  }
  Result<std::unique_ptr<ResponseCache>> again = ResponseCache::Open(options);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().error(), "store_too_new");
}

}  // namespace
}  // namespace folio
