// sse_parser.h: incremental parser for text/event-stream (Server-Sent
// Events, WHATWG HTML §9.2), as the OpenAI streaming API sends it.
// Feed it the bytes of a response body in whatever pieces they arrive; it
// yields complete events. Lines end in LF, CRLF or CR, split anywhere.
// Memory is bounded: an overlong line or event fails the parser instead of
// growing. One parser per stream; not thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace folio {

struct SseEvent {
  std::string event = "message";  // the "event:" field, "message" when absent
  std::string data;               // "data:" lines joined with '\n'
  std::string id;                 // the last "id:" seen on this stream (may be empty)
};

class SseParser {
 public:
  // 1 MiB per line: an OpenAI chunk is a few hundred bytes; a line this long
  // means a broken or hostile upstream. 4 MiB per event bounds many data lines.
  static constexpr size_t kDefaultMaxLineBytes = 1u << 20;
  static constexpr size_t kDefaultMaxEventBytes = 4u << 20;

  explicit SseParser(size_t max_line_bytes = kDefaultMaxLineBytes, size_t max_event_bytes = kDefaultMaxEventBytes);

  // Parses `bytes` and appends each event completed by them to *events.
  // Comments (":..."), unknown fields and "retry:" are ignored; a line
  // without ':' is a field with an empty value, as the spec says.
  // Returns InvalidArgument ("sse_line_too_long" / "sse_event_too_large")
  // once a bound is exceeded; from then on every Feed returns that error and
  // yields nothing. Events completed before the overflow are still appended.
  Status Feed(std::string_view bytes, std::vector<SseEvent>* events);

  // True while an event has data but no blank line has ended it yet. At
  // end of stream such an event is discarded (per spec); callers use this
  // to tell a truncated stream from a finished one.
  bool HasPartialEvent() const { return !line_.empty() || !data_.empty(); }

 private:
  void ProcessLine(std::vector<SseEvent>* events);

  size_t max_line_bytes_;
  size_t max_event_bytes_;
  std::string line_;            // the current, unterminated line
  std::string data_;            // data lines of the current event, each + '\n'
  std::string event_;           // event type of the current event
  std::string last_id_;
  bool after_cr_ = false;       // last byte was CR: a following LF belongs to it
  bool at_stream_start_ = true;  // a leading UTF-8 BOM is skipped
  Status failed_;
};

}  // namespace folio
