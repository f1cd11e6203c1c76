// state_layout_test.cc: the paths and LMDB options every process of an
// instance derives from its Config (the worker and folio-admin must open each
// environment alike), and that deriving them touches nothing on disk.
#include "state_layout.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "inflight.h"

namespace folio {
namespace {

StateLayout LayoutFor(std::map<std::string, std::string> vars) {
  auto env = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  std::vector<std::string> problems;
  Result<Config> config = Config::Load(&problems, [env](const char* name) -> const char* {
    auto it = env->find(name);
    return it == env->end() ? nullptr : it->second.c_str();
  });
  EXPECT_TRUE(config.ok()) << (problems.empty() ? "" : problems.front());
  return StateLayoutOf(*config);
}

TEST(StateLayoutTest, PathsHangOffDataAndRunDirs) {
  StateLayout l = LayoutFor({{"DATA_DIR", "/srv/folio/data"}, {"RUN_DIR", "/run/folio"}});
  EXPECT_EQ(l.data_dir, "/srv/folio/data");
  EXPECT_EQ(l.run_dir, "/run/folio");
  EXPECT_EQ(l.index_dir, "/srv/folio/data/index");
  EXPECT_EQ(l.sessions_store.path, "/srv/folio/data/lmdb");
  EXPECT_EQ(l.cache.path, "/srv/folio/data/cache");
  EXPECT_EQ(l.inflight_store.path, "/srv/folio/data/inflight");
  EXPECT_EQ(l.metrics_path, "/run/folio/metrics.shm");
  EXPECT_EQ(l.breaker_path, "/run/folio/breaker.shm");
  EXPECT_EQ(l.limits_path, "/run/folio/limits.shm");
}

TEST(StateLayoutTest, IndexDirOverridesTheDefault) {
  EXPECT_EQ(LayoutFor({{"DATA_DIR", "/d"}, {"INDEX_DIR", "/elsewhere/idx"}}).index_dir, "/elsewhere/idx");
}

TEST(StateLayoutTest, SessionsAreDurableAndSizedByLmdbMapMb) {
  StateLayout l = LayoutFor({{"LMDB_MAP_MB", "512"}, {"SESSION_TTL_S", "600"}, {"SESSION_MAX_MESSAGES", "8"},
                             {"SESSION_MAX_KB", "32"}});
  EXPECT_EQ(l.sessions_store.map_size_mb, 512u);
  EXPECT_EQ(l.sessions_store.commit_sync, CommitSync::kEveryCommit);
  EXPECT_EQ(l.sessions_store.databases, (std::vector<std::string>{kSessionsDb, kSessionsLruDb, kMetaDb}));
  EXPECT_EQ(l.sessions.ttl_s, 600);
  EXPECT_EQ(l.sessions.max_messages, 8u);
  EXPECT_EQ(l.sessions.max_record_bytes, 32u << 10);
}

TEST(StateLayoutTest, CacheMapIsThreeTimesItsBoundButAtLeast64Mb) {
  StateLayout small = LayoutFor({{"CACHE_MAX_MB", "4"}});
  EXPECT_EQ(small.cache.map_size_mb, 64u);
  EXPECT_EQ(small.cache.max_bytes, 4u << 20);
  StateLayout big = LayoutFor({{"CACHE_MAX_MB", "100"}, {"CACHE_TTL_S", "60"}, {"CACHE_MAX_ENTRIES", "7"}});
  EXPECT_EQ(big.cache.map_size_mb, 300u);
  EXPECT_EQ(big.cache.ttl_s, 60);
  EXPECT_EQ(big.cache.max_entries, 7u);
  EXPECT_TRUE(big.cache_enabled);
}

TEST(StateLayoutTest, ZeroCacheTtlDisablesTheCache) { EXPECT_FALSE(LayoutFor({{"CACHE_TTL_S", "0"}}).cache_enabled); }

TEST(StateLayoutTest, InflightTableIsSmallAndUnsynced) {
  StateLayout l = LayoutFor({});
  EXPECT_EQ(l.inflight_store.map_size_mb, 64u);
  EXPECT_EQ(l.inflight_store.commit_sync, CommitSync::kOnRequest);
  EXPECT_EQ(l.inflight_store.databases, std::vector<std::string>{kInflightDb});
}

TEST(StateLayoutTest, BreakerTakesItsSettingsAndTheRequestTimeoutAsTrialLease) {
  StateLayout l = LayoutFor({{"BREAKER_THRESHOLD", "9"}, {"BREAKER_COOLDOWN_S", "12"}, {"REQUEST_TIMEOUT_S", "45"}});
  EXPECT_EQ(l.breaker.failure_threshold, 9);
  EXPECT_EQ(l.breaker.cooldown, std::chrono::seconds(12));
  EXPECT_EQ(l.breaker.trial_lease, std::chrono::seconds(45));
}

TEST(StateLayoutTest, DerivingTheLayoutCreatesNothing) {
  const std::string data_dir = std::filesystem::temp_directory_path() / "folio_state_layout_absent";
  std::filesystem::remove_all(data_dir);
  (void)LayoutFor({{"DATA_DIR", data_dir}});
  EXPECT_FALSE(std::filesystem::exists(data_dir));
}

}  // namespace
}  // namespace folio
