// chunker_fuzz.cc: a knowledge-base file as folio-ingest handles it —
// RepairUtf8 (shared/kb_reader.h), then ChunkDocument (shared/chunker.h).
// Input: 3 option bytes, then the file's bytes:
//   byte 0: target_tokens = 16 + 8 * (b % 64)       ('W' = 200, the default)
//   byte 1: overlap_tokens = min(target / 2, 2 * (b % 64))   ('T' = 40)
//   byte 2: 't' chunks as notes.txt, anything else as notes.md
// Checks: RepairUtf8 equals an independent WHATWG decoder, is idempotent and
// reports whether it changed anything; every chunk is non-empty, trimmed,
// without CR, a piece of the (newline-normalised) document, counted with
// EstimateTokens, of valid UTF-8 with a valid heading when the document is;
// the raw, unrepaired bytes are chunked too (no validity expected).
#include <string>

#include "chunker.h"
#include "fuzz_util.h"
#include "kb_reader.h"
#include "token_estimate.h"
#include "utf8.h"

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\f' || c == '\v'; }

std::string Normalized(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

void CheckChunks(const std::string& source, std::string_view text, const folio::ChunkerOptions& options,
                 bool valid_utf8) {
  const std::string normalized = Normalized(text);
  for (const folio::Chunk& c : folio::ChunkDocument(source, text, options)) {
    FUZZ_CHECK(c.source == source, c.source);
    FUZZ_CHECK(!c.text.empty() && !IsSpace(c.text.front()) && !IsSpace(c.text.back()), "an untrimmed chunk");
    FUZZ_CHECK(c.text.find('\r') == std::string::npos, "a CR in a chunk");
    FUZZ_CHECK(c.tokens == folio::EstimateTokens(c.text), "tokens is not EstimateTokens(text)");
    FUZZ_CHECK(normalized.find(c.text) != std::string::npos, "a chunk that is not in the document");
    if (valid_utf8) {
      FUZZ_CHECK(folio::fuzz::IsValidUtf8(c.text), "a chunk cut inside a UTF-8 character");
      FUZZ_CHECK(folio::fuzz::IsValidUtf8(c.heading), "a heading cut inside a UTF-8 character");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  folio::ChunkerOptions options;
  options.target_tokens = 16 + 8 * (data[0] % 64);
  options.overlap_tokens = std::min<size_t>(options.target_tokens / 2, 2 * (data[1] % 64));
  FUZZ_CHECK(options.Validate().ok(), "the harness made bad options");
  const std::string source = data[2] == 't' ? "notes/lantern-notes.txt" : "projects/lantern.md";
  const std::string raw(reinterpret_cast<const char*>(data) + 3, size - 3);

  std::string repaired = raw;
  const bool changed = folio::RepairUtf8(&repaired);
  FUZZ_CHECK(repaired == folio::fuzz::WhatwgRepairUtf8(raw), "RepairUtf8 differs from the WHATWG decoder");
  FUZZ_CHECK(changed == (repaired != raw), "RepairUtf8 misreported whether it changed the text");
  std::string again = repaired;
  FUZZ_CHECK(!folio::RepairUtf8(&again) && again == repaired, "RepairUtf8 is not idempotent");

  CheckChunks(source, repaired, options, /*valid_utf8=*/true);
  if (changed) CheckChunks(source, raw, options, /*valid_utf8=*/false);
  return 0;
}
