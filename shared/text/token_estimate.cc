// token_estimate.cc: one pass over the bytes; see the formula in the header.
#include "token_estimate.h"

namespace folio {

size_t EstimateTokens(std::string_view text) {
  size_t words = 0;
  size_t ascii_bytes = 0;
  size_t non_ascii_chars = 0;
  bool in_word = false;
  for (unsigned char c : text) {
    bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
    if (!space && !in_word) ++words;
    in_word = !space;
    if (c < 0x80) {
      ++ascii_bytes;
    } else if ((c & 0xC0) != 0x80) {
      ++non_ascii_chars;  // a UTF-8 lead byte (continuation bytes are not counted)
    }
  }
  size_t by_words = (4 * words + 2) / 3;
  size_t by_bytes = (ascii_bytes + 3) / 4 + non_ascii_chars;
  return by_words > by_bytes ? by_words : by_bytes;
}

}  // namespace folio
