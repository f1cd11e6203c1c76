// records_fuzz.cc: the binary records other processes (or an older folio,
// or a backup) left in LMDB — sessions (shared/session_record.h
// DecodeSession), cached answers (shared/response_cache.h
// DecodeCacheRecord) and environments' format markers
// (shared/store_format.h DecodeStoreFormat). Input: the first byte picks
//   'S' a session record;  'C' a cache record as is;
//   'K' a cache record whose last 8 bytes are replaced by its true checksum
//       (so mutations get past the checksum into the fields);
//   'E' the other way round: records encoded from the bytes' fields, decoded;
//   'F' a format marker.
// Checks: any bytes decode or fail with corrupt_record, never crash; a
// record of today's format that decodes re-encodes to exactly its bytes,
// and one of an older format re-encodes (in today's) to the same session;
// what is encoded decodes to itself; IsValidSessionId agrees with its
// definition.
#include <cstring>
#include <string>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "fuzz_util.h"
#include "response_cache.h"
#include "sessions.h"
#include "store_format.h"

namespace {

using folio::CachedAnswer;
using folio::Session;

uint64_t U64(std::string_view s, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && at + i < s.size(); ++i) v |= uint64_t{static_cast<uint8_t>(s[at + i])} << (8 * i);
  return v;
}

void DecodeSessionBytes(std::string_view bytes) {
  folio::Result<Session> s = folio::DecodeSession(bytes);
  if (!s.ok()) {
    FUZZ_CHECK(s.status().error() == "corrupt_record", s.status().ToString());
    return;
  }
  FUZZ_CHECK(s->id.empty(), "decode set an id");
  const std::string again = folio::EncodeSession(*s);
  if (static_cast<uint8_t>(bytes[0]) == folio::kSessionRecordFormat) {
    FUZZ_CHECK(again == bytes, "a session record does not re-encode to its bytes");
    return;
  }
  // An older format: upgraded on its next write, to the same session.
  FUZZ_CHECK(s->updated_ms == s->updated * 1000, "a format-1 record's updated_ms is not updated x 1000");
  folio::Result<Session> upgraded = folio::DecodeSession(again);
  FUZZ_CHECK(upgraded.ok() && upgraded->created == s->created && upgraded->updated_ms == s->updated_ms &&
                 upgraded->messages.size() == s->messages.size(),
             "an older session record does not survive its upgrade");
}

void DecodeFormatBytes(std::string_view bytes) {
  folio::Result<folio::StoreFormat> f = folio::DecodeStoreFormat(bytes);
  if (!f.ok()) {
    FUZZ_CHECK(f.status().error() == "corrupt_record", f.status().ToString());
    return;
  }
  FUZZ_CHECK(f->min_reader >= 1 && f->min_reader <= f->format, "a marker with impossible formats decoded");
  FUZZ_CHECK(folio::EncodeStoreFormat(*f) == bytes, "a format marker does not re-encode to its bytes");
}

void DecodeCacheBytes(std::string_view bytes) {
  folio::Result<CachedAnswer> a = folio::DecodeCacheRecord(bytes);
  if (!a.ok()) {
    FUZZ_CHECK(a.status().error() == "corrupt_record", a.status().ToString());
    return;
  }
  FUZZ_CHECK(folio::EncodeCacheRecord(*a) == bytes, "a cache record does not re-encode to its bytes");
}

// Session ids: 22 base64url characters, the last one's low 4 bits zero.
bool ReferenceValidId(std::string_view id) {
  static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  if (id.size() != 22) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    size_t v = kAlphabet.find(id[i]);
    if (v == std::string::npos || (i == 21 && (v & 0x0F) != 0)) return false;
  }
  return true;
}

void EncodeThenDecode(std::string_view bytes) {
  Session s;
  s.created = static_cast<int64_t>(U64(bytes, 0));
  s.updated = static_cast<int64_t>(U64(bytes, 8));
  std::string_view rest = bytes.size() > 16 ? bytes.substr(16) : std::string_view();
  while (!rest.empty()) {  // one message per '\n'-ended piece; its first byte picks the role
    size_t nl = rest.find('\n');
    std::string_view piece = rest.substr(0, nl);
    folio::Message m;
    m.role = !piece.empty() && (piece[0] & 1) ? folio::Role::kAssistant : folio::Role::kUser;
    m.content = std::string(piece);
    m.ts = static_cast<int64_t>(U64(piece, 0));
    s.messages.push_back(std::move(m));
    rest = nl == rest.npos ? std::string_view() : rest.substr(nl + 1);
  }
  folio::Result<Session> back = folio::DecodeSession(folio::EncodeSession(s));
  auto dated = [](int64_t t) { return t >= 0 && t <= folio::kLatestSessionTime; };
  if (!dated(s.created) || !dated(s.updated)) {  // no clock makes such a session: its record is corrupt
    FUZZ_CHECK(!back.ok(), "a session dated outside years 0-9999 decoded");
  } else {
    FUZZ_CHECK(back.ok(), back.status().ToString());
    FUZZ_CHECK(back->created == s.created && back->updated == s.updated && back->messages.size() == s.messages.size(),
               "a session did not survive encoding");
    for (size_t i = 0; i < s.messages.size(); ++i)
      FUZZ_CHECK(back->messages[i].role == s.messages[i].role && back->messages[i].content == s.messages[i].content &&
                     back->messages[i].ts == s.messages[i].ts,
                 "a message did not survive encoding");
  }

  CachedAnswer a{std::string(rest.empty() && bytes.size() > 24 ? bytes.substr(24) : bytes),
                 static_cast<int64_t>(U64(bytes, 0)), static_cast<int64_t>(U64(bytes, 8)),
                 static_cast<int64_t>(U64(bytes, 16))};
  folio::Result<CachedAnswer> got = folio::DecodeCacheRecord(folio::EncodeCacheRecord(a));
  FUZZ_CHECK(got.ok(), got.status().ToString());
  FUZZ_CHECK(got->payload == a.payload && got->created_ms == a.created_ms && got->expires_ms == a.expires_ms &&
                 got->last_access_ms == a.last_access_ms,
             "a cache record did not survive encoding");

  FUZZ_CHECK(folio::IsValidSessionId(bytes) == ReferenceValidId(bytes), "IsValidSessionId disagrees");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const char* kForms = "SCKEF";
  const char* named = std::strchr(kForms, static_cast<char>(data[0]));
  const char form = data[0] != 0 && named != nullptr ? *named : kForms[data[0] % 5];
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (form) {
    case 'S':
      DecodeSessionBytes(bytes);
      break;
    case 'C':
      DecodeCacheBytes(bytes);
      break;
    case 'K':
      if (bytes.size() >= 8) {
        uint64_t sum = XXH3_64bits(bytes.data(), bytes.size() - 8);
        for (int i = 0; i < 8; ++i) bytes[bytes.size() - 8 + i] = static_cast<char>(sum >> (8 * i));
      }
      DecodeCacheBytes(bytes);
      break;
    case 'F':
      DecodeFormatBytes(bytes);
      break;
    default:
      EncodeThenDecode(bytes);
  }
  return 0;
}
