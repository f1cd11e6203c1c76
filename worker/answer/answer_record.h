// answer_record.h: an answer as the response cache and the in-flight table
// keep it, in the form it is sent. A cache hit on POST /api/chat (JSON) is
// answered by pasting the stored JSON members between the request's own
// fields: no JSON is parsed or built for it. A stream, /v1 and coalescing
// followers decode the members (they need the sources as values).
//
// Format 1 (little-endian): u8 format | u32 text bytes | text |
//   u32 member bytes | members: "response":…,"sources":[…],"degraded":…,
//   "degraded_reason":…,"usage":{…}  (a JSON object without its braces)
// Pure functions; any bytes are safe to decode.
#pragma once

#include <string>
#include <string_view>

#include "answer.h"

namespace folio {

std::string EncodeAnswerRecord(const ChatOutput& out);

// The parts of a record, as views into `bytes`; false when the bytes are
// not a record (then nothing is set).
struct AnswerRecordView {
  std::string_view text;     // the answer's text (what a session stores)
  std::string_view members;  // JSON members, as described above
};
bool ViewAnswerRecord(std::string_view bytes, AnswerRecordView* view);

// The whole answer back (text, sources with their passages, degraded and
// why, token counts); false when the bytes are not a record.
bool DecodeAnswerRecord(std::string_view bytes, ChatOutput* out);

// The JSON members of `out`, as EncodeAnswerRecord stores them (the fields
// a chat answer shares with every request that gets it).
std::string AnswerJsonMembers(const ChatOutput& out);

// Pieces of those members, for answers built field by field (SSE events):
// each source with the passage it came from (cut at kMaxPassageChars), so a
// visitor can read it without another request; why the answer is degraded
// ("llm_not_configured": no model is set up, a normal mode;
// "budget_exhausted": the day's budget is spent; anything else: the
// provider is failing), null when it is not.
nlohmann::json SourcesJson(const std::vector<Passage>& sources);
nlohmann::json DegradedReasonJson(const ChatOutput& out);

}  // namespace folio
