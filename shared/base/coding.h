// coding.h: the one home of fixed-width byte coding for what folio stores —
// LMDB records (sessions, the response cache, the in-flight table, answer
// records) and the index files it maps. Integers are little-endian whatever
// the host, so a record written by one build is read by the next.
// Header-only and stateless; safe from any thread of any process.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace folio {

// Appends `v` to *out, least significant byte first.
inline void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
inline void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

// Reads a little-endian value at `p`. REQUIRES: 4 (8) readable bytes at p;
// no alignment needed.
inline uint32_t DecodeU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}
inline uint64_t DecodeU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}

// A trivially copyable T at `p` in the host's own layout, for files folio
// maps and wrote on the same machine (index files: floats, packed structs).
// memcpy, because a mapped field need not be aligned for T.
template <typename T>
T LoadUnaligned(const char* p) {
  static_assert(std::is_trivially_copyable_v<T>);
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Reads fixed-width little-endian fields from untrusted bytes, front to back.
// Every read is bounds-checked: false (and nothing consumed) when too few
// bytes are left. Views `bytes`, which must outlive the reader.
class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}

  bool U8(uint8_t* v) {
    if (bytes_.empty()) return false;
    *v = static_cast<uint8_t>(bytes_[0]);
    bytes_.remove_prefix(1);
    return true;
  }
  bool U32(uint32_t* v) {
    if (bytes_.size() < 4) return false;
    *v = DecodeU32(bytes_.data());
    bytes_.remove_prefix(4);
    return true;
  }
  bool U64(uint64_t* v) {
    if (bytes_.size() < 8) return false;
    *v = DecodeU64(bytes_.data());
    bytes_.remove_prefix(8);
    return true;
  }
  bool I64(int64_t* v) {
    uint64_t u = 0;
    if (!U64(&u)) return false;
    *v = static_cast<int64_t>(u);
    return true;
  }
  // The next n bytes, as a view into the input or a copy.
  bool View(size_t n, std::string_view* out) {
    if (bytes_.size() < n) return false;
    *out = bytes_.substr(0, n);
    bytes_.remove_prefix(n);
    return true;
  }
  bool Bytes(size_t n, std::string* out) {
    std::string_view view;
    if (!View(n, &view)) return false;
    out->assign(view);
    return true;
  }

  size_t remaining() const { return bytes_.size(); }
  std::string_view rest() const { return bytes_; }

 private:
  std::string_view bytes_;
};

}  // namespace folio
