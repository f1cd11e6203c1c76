// fuzz_util.h: what every harness in fuzz/ shares — a CHECK that crashes the
// fuzzer with a message (so a broken contract is found like a memory error),
// independent oracles for UTF-8 (strict validity; the WHATWG decoder's
// replacement of maximal invalid subparts), and a deterministic way to cut a
// buffer into the pieces a network would deliver. Header-only; no state.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

// Aborts with `what` when `cond` is false: a broken contract is a finding.
#define FUZZ_CHECK(cond, what)                                                    \
  do {                                                                            \
    if (!(cond)) {                                                                \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s: %s\n", __FILE__,     \
                   __LINE__, #cond, std::string(what).c_str());                   \
      std::abort();                                                               \
    }                                                                             \
  } while (0)

namespace folio::fuzz {

// The WHATWG "UTF-8 decode" with replacement, re-encoded: each maximal
// invalid subpart becomes U+FFFD, valid sequences are copied. Written from
// the Encoding Standard's algorithm, independently of kb_reader.cc.
inline std::string WhatwgRepairUtf8(std::string_view in) {
  std::string out;
  size_t needed = 0, seen = 0, start = 0;
  unsigned lower = 0x80, upper = 0xBF;
  for (size_t i = 0; i < in.size(); ++i) {
    const unsigned b = static_cast<unsigned char>(in[i]);
    if (needed == 0) {
      start = i;
      if (b <= 0x7F) {
        out.push_back(static_cast<char>(b));
      } else if (b >= 0xC2 && b <= 0xDF) {
        needed = 1;
      } else if (b >= 0xE0 && b <= 0xEF) {
        if (b == 0xE0) lower = 0xA0;
        if (b == 0xED) upper = 0x9F;
        needed = 2;
      } else if (b >= 0xF0 && b <= 0xF4) {
        if (b == 0xF0) lower = 0x90;
        if (b == 0xF4) upper = 0x8F;
        needed = 3;
      } else {
        out.append("\xEF\xBF\xBD");
      }
      continue;
    }
    if (b < lower || b > upper) {  // the subpart ends before this byte: read it again
      needed = seen = 0;
      lower = 0x80, upper = 0xBF;
      out.append("\xEF\xBF\xBD");
      --i;
      continue;
    }
    lower = 0x80, upper = 0xBF;
    if (++seen == needed) {
      out.append(in.substr(start, i + 1 - start));
      needed = seen = 0;
    }
  }
  if (needed != 0) out.append("\xEF\xBF\xBD");
  return out;
}

// Strictly valid UTF-8 (no overlongs, surrogates or code points past
// U+10FFFF). A replacement never equals what it replaces (U+FFFD itself is
// valid), so the repair is the identity exactly on valid input.
inline bool IsValidUtf8(std::string_view s) { return WhatwgRepairUtf8(s) == s; }

// `s` cut into pieces whose sizes cycle through 1..`max_piece`, starting at
// an offset taken from `seed`: the same input always splits the same way.
inline std::vector<std::string_view> Pieces(std::string_view s, size_t max_piece, uint32_t seed) {
  std::vector<std::string_view> out;
  size_t size = 1 + seed % max_piece;
  while (!s.empty()) {
    size_t n = std::min(size, s.size());
    out.push_back(s.substr(0, n));
    s.remove_prefix(n);
    size = 1 + (size * 7 + 3) % max_piece;
  }
  return out;
}

// FNV-1a: a cheap, stable seed from the input.
inline uint32_t Seed(std::string_view s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

}  // namespace folio::fuzz
