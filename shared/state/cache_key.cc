// cache_key.cc: normalising a question and hashing the key's parts.
#include "cache_key.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <initializer_list>
#include <utility>

#include "coding.h"

namespace folio {
namespace {

std::string Hex(const unsigned char* bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 15]);
  }
  return out;
}
std::string Hash128Hex(std::string_view bytes) {
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, XXH3_128bits(bytes.data(), bytes.size()));
  return Hex(c.digest, sizeof(c.digest));
}
void AppendPart(std::string* out, std::string_view part) {
  PutU64(out, part.size());
  out->append(part);
}

// Strips one trailing character of `set` (UTF-8 sequences) from *s.
bool StripSuffix(std::string* s, std::initializer_list<std::string_view> set) {
  for (std::string_view x : set) {
    if (s->ends_with(x)) return s->resize(s->size() - x.size()), true;
  }
  return false;
}
void Trim(std::string* s) {
  while (!s->empty() && s->back() == ' ') s->pop_back();
  if (!s->empty() && s->front() == ' ') s->erase(0, 1);  // runs are collapsed: at most one
}

}  // namespace

std::string NormalizeMessage(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  bool space = false;
  for (size_t i = 0; i < message.size(); ++i) {
    const auto c = static_cast<unsigned char>(message[i]);
    if (c == ' ' || (c >= '\t' && c <= '\r')) {
      space = true;
      continue;
    }
    if (c == 0xC2 && i + 1 < message.size() && static_cast<unsigned char>(message[i + 1]) == 0xA0) {
      space = true, ++i;  // no-break space
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c));
  }
  static constexpr std::pair<std::string_view, std::string_view> kQuotes[] = {
      {"\"", "\""}, {"'", "'"}, {"`", "`"}, {"\u201c", "\u201d"}, {"\u2018", "\u2019"}, {"\u00ab", "\u00bb"}};
  for (bool changed = true; changed;) {
    changed = false;
    while (StripSuffix(&out, {"?", "!", ".", "\u2026", "\uff1f", "\uff01"})) changed = true;
    Trim(&out);
    for (const auto& [open, close] : kQuotes) {
      if (out.size() >= open.size() + close.size() && out.starts_with(open) && out.ends_with(close)) {
        out = out.substr(open.size(), out.size() - open.size() - close.size());
        Trim(&out);
        changed = true;
        break;
      }
    }
  }
  return out;
}

std::string HistoryDigest(std::span<const ChatMessage> history) {
  if (history.empty()) return kEmptyHistoryDigest;
  std::string buf = "folio-history";
  for (const ChatMessage& m : history) {
    AppendPart(&buf, m.role);
    AppendPart(&buf, m.content);
  }
  return Hash128Hex(buf);
}

std::string CacheKey(const CacheKeyParts& p) {
  std::string buf = "folio-cache";
  buf.reserve(64 + p.normalized_message.size() + p.history_digest.size() + p.model.size() +
              p.prompt_version.size() + p.kb_version.size());
  for (std::string_view part : {p.normalized_message, p.intent, p.history_digest, p.model, p.prompt_version,
                                p.kb_version}) {
    AppendPart(&buf, part);
  }
  return "c1:" + Hash128Hex(buf);
}

}  // namespace folio
