// store_check.cc: a cursor walk over each database of an environment, in
// one read transaction (every leaf page of every B-tree is visited), with a
// point lookup per record for the index that must name it: no set of keys is
// held in memory, so checking 100k sessions costs no more heap than one.
#include "store_check.h"

#include "response_cache.h"
#include "sessions.h"

namespace folio {
namespace {

void Problem(StoreCheck* check, std::string what) {
  if (check->problems.size() < kMaxListedProblems) check->problems.push_back(std::move(what));
  ++check->problem_count;
}

// A key as messages show it: 6 characters (of a session, its id's random
// ones), never a whole id, which is its user's secret.
std::string Shown(std::string_view key) { return std::string(key.substr(0, 6)) + "\xE2\x80\xA6"; }
std::string ShownSession(std::string_view record_key) { return Shown(IdOfSessionKey(record_key)); }

Result<std::unique_ptr<Store>> OpenReadOnly(const std::string& dir, std::vector<std::string> databases) {
  StoreOptions options;
  options.path = dir;
  options.read_only = true;
  options.databases = std::move(databases);
  return Store::Open(options);
}

// The marker, or format 1 when the store predates markers; a problem when
// it is unreadable or names a format this folio cannot use.
void CheckMarker(const Store& store, const ReadTxn& txn, uint32_t ours, const std::string& what, StoreCheck* check) {
  check->format = StoreFormat{1, 1, ""};
  Result<Db> meta = store.Database(kMetaDb);
  if (!meta.ok()) return;
  Result<std::optional<StoreFormat>> found = ReadStoreFormat(txn, *meta);
  if (!found.ok()) return Problem(check, what + ": " + found.status().message());
  if (!found->has_value()) return;
  check->format = **found;
  if (Status s = CheckStoreFormat(check->format, ours, what); !s.ok()) Problem(check, s.message());
}

}  // namespace

Result<StoreCheck> CheckSessionEnvironment(const std::string& dir) {
  Result<std::unique_ptr<Store>> store = OpenReadOnly(dir, SessionDatabases());
  if (!store.ok()) return store.status();
  Result<Db> records = (*store)->Database(kSessionsDb);
  Result<Db> index = (*store)->Database(kSessionsLruDb);
  if (!records.ok() || !index.ok()) return NotFound("not_a_session_store", dir + " holds no session store");
  Result<ReadTxn> txn = (*store)->BeginRead();
  if (!txn.ok()) return txn.status();
  StoreCheck check;
  CheckMarker(**store, *txn, kSessionStoreFormat, "the session store in " + dir, &check);

  Status walked = txn->ForEach(*records, "", [&](std::string_view key, std::string_view value) {
    ++check.records;
    Result<Session> session = DecodeSession(value);
    if (!session.ok()) {
      Problem(&check, "session " + ShownSession(key) + ": " + session.status().message());
      return true;
    }
    Result<std::optional<std::string_view>> entry = txn->Get(*index, SessionIndexKey(session->updated_ms, key));
    if (!entry.ok() || !entry->has_value()) Problem(&check, "session " + ShownSession(key) + " is missing from the recency index");
    return true;
  });
  if (!walked.ok()) return walked;
  walked = txn->ForEach(*index, "", [&](std::string_view index_key, std::string_view) {
    ++check.index_entries;
    std::string key;
    int64_t updated_ms = 0;
    if (!SplitSessionIndexKey(index_key, &key, &updated_ms)) {
      Problem(&check, "a recency index entry is malformed");
      return true;
    }
    Result<std::optional<std::string_view>> record = txn->Get(*records, key);
    const std::optional<RecordTimes> times =
        record.ok() && record->has_value() ? PeekTimes(**record) : std::nullopt;
    if (!times || times->updated_ms != updated_ms) {
      Problem(&check, "the recency index names session " + ShownSession(key) + " at a time its record does not have");
    }
    return true;
  });
  if (!walked.ok()) return walked;
  return check;
}

Result<StoreCheck> CheckCacheEnvironment(const std::string& dir) {
  Result<std::unique_ptr<Store>> store = OpenReadOnly(dir, {kCacheEntriesDb, kCacheLruDb, kCacheStatsDb, kMetaDb});
  if (!store.ok()) return store.status();
  Result<Db> entries = (*store)->Database(kCacheEntriesDb);
  Result<Db> index = (*store)->Database(kCacheLruDb);
  Result<Db> stats = (*store)->Database(kCacheStatsDb);
  if (!entries.ok() || !index.ok() || !stats.ok()) return NotFound("not_a_cache", dir + " holds no response cache");
  Result<ReadTxn> txn = (*store)->BeginRead();
  if (!txn.ok()) return txn.status();
  StoreCheck check;
  CheckMarker(**store, *txn, kCacheStoreFormat, "the response cache in " + dir, &check);

  Status walked = txn->ForEach(*entries, "", [&](std::string_view key, std::string_view value) {
    ++check.records;
    Result<CachedAnswer> answer = DecodeCacheRecord(value);
    if (!answer.ok()) {
      Problem(&check, "cache entry " + Shown(key) + ": " + answer.status().message());
      return true;
    }
    Result<std::optional<std::string_view>> entry = txn->Get(*index, CacheIndexKey(answer->last_access_ms, key));
    if (!entry.ok() || !entry->has_value()) Problem(&check, "cache entry " + Shown(key) + " is missing from the LRU index");
    return true;
  });
  if (!walked.ok()) return walked;
  walked = txn->ForEach(*index, "", [&](std::string_view index_key, std::string_view) {
    ++check.index_entries;
    if (index_key.size() <= 8) Problem(&check, "an LRU index entry is malformed");
    return true;
  });
  if (!walked.ok()) return walked;
  walked = txn->ForEach(*stats, "", [&](std::string_view key, std::string_view value) {
    if (value.size() % 8 != 0) Problem(&check, "cache counters record " + std::string(key) + " is not whole");
    return true;
  });
  if (!walked.ok()) return walked;
  return check;
}

}  // namespace folio
