// store_format.h: the format marker of an LMDB environment — which layout of
// databases and records it holds, and the oldest folio that may use it — so
// that a folio never reads or writes a store a newer folio wrote in a form
// it does not know. One record, "format" in the "meta" database, checked and
// stamped when a process opens the environment. Pure functions and one short
// transaction; safe from any thread of any process.
//
// How formats move (docs/OPERATIONS.md, "Upgrades and rollbacks"):
//  - every record of every database carries a version byte, or is covered by
//    this marker (the index entries, whose value is empty; the cache's
//    counters);
//  - a folio reads every format it or an older folio ever wrote; the version
//    it writes is its own;
//  - a release whose stores an older folio cannot use raises `min_reader`:
//    the older folio then refuses the store with a clear reason instead of
//    misreading it. A change older folios read correctly (a new optional
//    database, say) raises `format` only, and a rollback keeps working.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "status.h"
#include "store.h"

namespace folio {

inline constexpr char kMetaDb[] = "meta";

// The layout this folio writes, per environment, and the oldest layout
// reader that can use what it writes. 1: the databases and record formats
// of December 2026 (sessions + session_lru; entries + lru + stats).
inline constexpr uint32_t kSessionStoreFormat = 1;
inline constexpr uint32_t kSessionStoreMinReader = 1;
inline constexpr uint32_t kCacheStoreFormat = 1;
inline constexpr uint32_t kCacheStoreMinReader = 1;

struct StoreFormat {
  uint32_t format = 0;      // the layout of the newest folio that stamped the store
  uint32_t min_reader = 0;  // a folio whose own format is below this must not use the store
  std::string written_by;   // that folio's version, for messages ("0.1.0")
};

// The marker record: u8 version = 1 | u32 format | u32 min_reader |
// u16 length | length bytes of written_by (little-endian, fixed width).
std::string EncodeStoreFormat(const StoreFormat& format);
// Any bytes: Internal("corrupt_record") unless exactly one such record.
Result<StoreFormat> DecodeStoreFormat(std::string_view bytes);

// The marker in `txn`, nullopt when the environment has none (a store made
// before markers existed, which is format 1, or a new one).
Result<std::optional<StoreFormat>> ReadStoreFormat(const ReadTxn& txn, Db meta);

// What an environment's marker says to a folio whose own format is `ours`:
// OK, or Unavailable("store_too_new") naming who wrote the store, for
// `what` ("the session store at /srv/data/lmdb").
Status CheckStoreFormat(const StoreFormat& found, uint32_t ours, const std::string& what);

// At open: checks the marker and, unless it is refused or newer, stamps
// {ours, min_reader, this folio's version} in one write transaction (so
// concurrent openers agree). A store without a marker is stamped. Returns
// the marker in force. `meta` must belong to `store`.
Result<StoreFormat> CheckAndStampStoreFormat(Store& store, Db meta, uint32_t ours, uint32_t min_reader,
                                             const std::string& what);

}  // namespace folio
