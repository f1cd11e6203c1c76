// sse_fuzz.cc: the upstream event-stream parser (shared/sse_parser.h).
// The input is a response body. Checks, on every input:
//   - split invariance: fed whole, byte by byte, or in irregular pieces, the
//     parser yields the same events, the same status and the same
//     HasPartialEvent();
//   - a differential oracle: without overflow, the events equal those of a
//     reference written from the WHATWG "interpret an event stream" steps;
//   - bounds: with small limits (64-byte lines, 256-byte events) it fails
//     with the documented tokens and stays failed, holding no more.
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "sse_parser.h"

namespace {

using folio::SseEvent;
using folio::SseParser;
using folio::Status;

struct Outcome {
  std::vector<SseEvent> events;
  Status status;
  bool partial = false;
};

Outcome Parse(const std::vector<std::string_view>& pieces, size_t max_line, size_t max_event) {
  SseParser parser(max_line, max_event);
  Outcome out;
  for (std::string_view piece : pieces) {
    Status s = parser.Feed(piece, &out.events);
    if (!s.ok()) {
      out.status = s;
      // Failed for good: later bytes yield nothing and the same error.
      size_t before = out.events.size();
      Status again = parser.Feed("data: x\n\n", &out.events);
      FUZZ_CHECK(again.error() == s.error() && out.events.size() == before, "a failed parser recovered");
      break;
    }
  }
  out.partial = parser.HasPartialEvent();
  return out;
}

bool Same(const std::vector<SseEvent>& a, const std::vector<SseEvent>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].event != b[i].event || a[i].data != b[i].data || a[i].id != b[i].id) return false;
  return true;
}

// WHATWG HTML "9.2.6 Interpreting an event stream", over the whole body.
std::vector<SseEvent> Reference(std::string_view body) {
  if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);
  std::vector<SseEvent> events;
  std::string data, type, last_id;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find_first_of("\r\n", pos);
    if (end == body.npos) break;  // an unterminated last line is never processed
    std::string_view line = body.substr(pos, end - pos);
    pos = end + 1;
    if (body[end] == '\r' && pos < body.size() && body[pos] == '\n') ++pos;
    if (line.empty()) {
      if (!data.empty()) {
        data.pop_back();
        events.push_back({type.empty() ? "message" : type, data, last_id});
      }
      data.clear();
      type.clear();
      continue;
    }
    if (line[0] == ':') continue;
    std::string_view field = line, value;
    if (size_t colon = line.find(':'); colon != line.npos) {
      field = line.substr(0, colon);
      value = line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    }
    if (field == "event") type = value;
    else if (field == "data") data.append(value).push_back('\n');
    else if (field == "id" && value.find('\0') == value.npos) last_id = value;
  }
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const uint32_t seed = folio::fuzz::Seed(body);

  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < body.size(); ++i) bytes.push_back(body.substr(i, 1));
  const std::vector<std::vector<std::string_view>> splits = {
      {body}, bytes, folio::fuzz::Pieces(body, 17, seed), folio::fuzz::Pieces(body, 300, seed >> 8)};

  // Default limits: never reached by inputs this size.
  const Outcome whole = Parse(splits[0], SseParser::kDefaultMaxLineBytes, SseParser::kDefaultMaxEventBytes);
  FUZZ_CHECK(whole.status.ok(), whole.status.ToString());
  FUZZ_CHECK(Same(whole.events, Reference(body)), "events differ from the WHATWG reference");
  for (const auto& split : splits) {
    Outcome o = Parse(split, SseParser::kDefaultMaxLineBytes, SseParser::kDefaultMaxEventBytes);
    FUZZ_CHECK(Same(o.events, whole.events) && o.status.ok() && o.partial == whole.partial,
               "the events depend on how the body was split");
  }

  // Small limits: overflow paths, still independent of the split.
  const Outcome small = Parse(splits[0], 64, 256);
  if (!small.status.ok())
    FUZZ_CHECK(small.status.error() == "sse_line_too_long" || small.status.error() == "sse_event_too_large",
               small.status.ToString());
  for (const SseEvent& e : small.events) FUZZ_CHECK(e.data.size() <= 256, "an event over its bound");
  for (const auto& split : splits) {
    Outcome o = Parse(split, 64, 256);
    FUZZ_CHECK(Same(o.events, small.events) && o.status.error() == small.status.error(),
               "the overflow depends on how the body was split");
  }
  return 0;
}
