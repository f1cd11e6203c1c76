// store_format.cc: the "format" record of an environment's "meta" database.
#include "store_format.h"

namespace folio {
namespace {

constexpr uint8_t kRecordVersion = 1;
constexpr char kFormatKey[] = "format";
constexpr size_t kFixedBytes = 1 + 4 + 4 + 2;

void PutLe(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
uint64_t GetLe(std::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<uint8_t>(in[at + i])} << (8 * i);
  return v;
}

Status Corrupt(const char* why) { return Internal("corrupt_record", std::string("store format marker: ") + why); }

}  // namespace

std::string EncodeStoreFormat(const StoreFormat& f) {
  const std::string_view by = std::string_view(f.written_by).substr(0, 0xFFFF);
  std::string out;
  out.push_back(static_cast<char>(kRecordVersion));
  PutLe(&out, f.format, 4);
  PutLe(&out, f.min_reader, 4);
  PutLe(&out, by.size(), 2);
  out.append(by);
  return out;
}

Result<StoreFormat> DecodeStoreFormat(std::string_view bytes) {
  if (bytes.empty()) return Corrupt("empty");
  if (static_cast<uint8_t>(bytes[0]) != kRecordVersion) return Corrupt("unknown version");
  if (bytes.size() < kFixedBytes) return Corrupt("truncated");
  StoreFormat f;
  f.format = static_cast<uint32_t>(GetLe(bytes, 1, 4));
  f.min_reader = static_cast<uint32_t>(GetLe(bytes, 5, 4));
  const size_t length = GetLe(bytes, 9, 2);
  if (bytes.size() != kFixedBytes + length) return Corrupt("length does not match");
  if (f.format == 0 || f.min_reader == 0 || f.min_reader > f.format) return Corrupt("impossible formats");
  f.written_by.assign(bytes.substr(kFixedBytes));
  return f;
}

Result<std::optional<StoreFormat>> ReadStoreFormat(const ReadTxn& txn, Db meta) {
  Result<std::optional<std::string_view>> bytes = txn.Get(meta, kFormatKey);
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::optional<StoreFormat>();
  Result<StoreFormat> f = DecodeStoreFormat(**bytes);
  if (!f.ok()) return f.status();
  return std::optional<StoreFormat>(std::move(f.value()));
}

Status CheckStoreFormat(const StoreFormat& found, uint32_t ours, const std::string& what) {
  if (found.min_reader <= ours) return Status::Ok();
  return Unavailable("store_too_new",
                     what + " was written by a newer folio (" + found.written_by + ", store format " +
                         std::to_string(found.format) + ", which folio " + FOLIO_VERSION + " with store format " +
                         std::to_string(ours) +
                         " cannot use): run that folio or a later one, or restore a backup made by this version");
}

Result<StoreFormat> CheckAndStampStoreFormat(Store& store, Db meta, uint32_t ours, uint32_t min_reader,
                                             const std::string& what) {
  StoreFormat in_force;
  bool no_room = false;
  Status s = store.Write(
      [&](WriteTxn& txn) -> Status {
        Result<std::optional<StoreFormat>> found = ReadStoreFormat(txn, meta);
        if (!found.ok()) return found.status();
        if (found->has_value()) {
          in_force = **found;
          if (Status refused = CheckStoreFormat(in_force, ours, what); !refused.ok()) return refused;
          // A newer folio's store that this one may use keeps its marker:
          // the newer folio must still recognise it after a rollback.
          if (in_force.format >= ours) return Status::Ok();
        }
        // Here a store of an older format would be upgraded, in this
        // transaction, before it is stamped. Format 1 is the first.
        in_force = StoreFormat{ours, min_reader, FOLIO_VERSION};
        Status put = txn.Put(meta, kFormatKey, EncodeStoreFormat(in_force));
        no_room = put.code() == Code::kResourceExhausted;
        return put;
      },
      Durability::kSynced);
  // A full store is stamped at a later open: unstamped, it reads as format
  // 1, which is what it is, and refusing to start would stop every chat.
  if (!s.ok() && !no_room) return s;
  return in_force;
}

}  // namespace folio
