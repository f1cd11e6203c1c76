// utf8.cc: RepairUtf8, one pass that copies only once an invalid byte is found.
#include "utf8.h"

#include <cstddef>

namespace folio {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid.
size_t ValidSequenceLength(const unsigned char* s, size_t n, size_t i) {
  unsigned char c = s[i];
  if (c < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;          // no overlongs
    if (c == 0xED) hi = 0x9F;          // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;          // no overlongs
    if (c == 0xF4) hi = 0x8F;          // <= U+10FFFF
  } else {
    return 0;
  }
  if (i + len > n) return 0;
  if (s[i + 1] < lo || s[i + 1] > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if ((s[i + k] & 0xC0) != 0x80) return 0;
  }
  return len;
}

// Number of bytes of the maximal invalid subpart at s[i] (at least 1).
size_t InvalidSubpartLength(const unsigned char* s, size_t n, size_t i) {
  unsigned char c = s[i];
  size_t want = (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 1;
  size_t k = 1;
  while (k < want && i + k < n) {
    unsigned char lo = 0x80, hi = 0xBF;
    if (k == 1 && c == 0xE0) lo = 0xA0;
    if (k == 1 && c == 0xED) hi = 0x9F;
    if (k == 1 && c == 0xF0) lo = 0x90;
    if (k == 1 && c == 0xF4) hi = 0x8F;
    if (s[i + k] < lo || s[i + k] > hi) break;
    ++k;
  }
  return k;
}

}  // namespace

bool RepairUtf8(std::string* text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text->data());
  size_t n = text->size();
  size_t i = 0;
  while (i < n) {  // fast path: find the first invalid byte
    size_t len = ValidSequenceLength(s, n, i);
    if (len == 0) break;
    i += len;
  }
  if (i == n) return false;
  std::string out(text->data(), i);
  out.reserve(n + 16);
  while (i < n) {
    size_t len = ValidSequenceLength(s, n, i);
    if (len > 0) {
      out.append(text->data() + i, len);
      i += len;
    } else {
      out.append("\xEF\xBF\xBD");
      i += InvalidSubpartLength(s, n, i);
    }
  }
  text->swap(out);
  return true;
}

}  // namespace folio
