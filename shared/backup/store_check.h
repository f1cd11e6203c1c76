// store_check.h: reads every record of a session store or a response cache
// environment and checks it — every record decodes, every index entry and
// its record agree, the format marker is one this folio may use. Backups
// check each copy before they checksum it, and verification and restore
// check a backup before trusting it. The environment is opened read-only
// without a lock (store.h): nothing in it is written, not even lock.mdb.
// Stateless; one read transaction per call; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "status.h"
#include "store_format.h"

namespace folio {

struct StoreCheck {
  uint64_t records = 0;        // sessions, or cache entries
  uint64_t index_entries = 0;  // in the recency / LRU index
  StoreFormat format;          // the marker; {1, 1, ""} for a store made before markers
  // What is wrong, at most kMaxListedProblems of them; `problem_count`
  // counts them all. Empty: the environment is sound.
  std::vector<std::string> problems;
  uint64_t problem_count = 0;
  bool ok() const { return problem_count == 0; }
};

inline constexpr size_t kMaxListedProblems = 20;

// The session store copied to `dir` (a data.mdb): every record of
// "sessions" decodes (DecodeSession), has exactly its entry in
// "session_lru" and no entry lacks its record; "meta", when present, holds
// a marker this folio may use. Session ids appear cut to 6 characters.
// A Status only when the environment cannot be opened at all (a file that
// is not LMDB's, truncated below its last page...).
Result<StoreCheck> CheckSessionEnvironment(const std::string& dir);

// The response cache copied to `dir`: every entry decodes
// (DecodeCacheRecord, checksum included) and has its LRU index key; index
// keys are well formed (one whose entry is gone is legal: the cache skips
// and removes such orphans); the counters record is whole; the marker as
// above.
Result<StoreCheck> CheckCacheEnvironment(const std::string& dir);

}  // namespace folio
