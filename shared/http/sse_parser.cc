// sse_parser.cc: a byte-at-a-time state machine over line terminators with
// the line buffered, so a chunk boundary may fall anywhere (inside a field
// name, between CR and LF, inside a UTF-8 sequence). Field handling follows
// the WHATWG "interpret an event stream" algorithm.
#include "sse_parser.h"

namespace folio {

SseParser::SseParser(size_t max_line_bytes, size_t max_event_bytes)
    : max_line_bytes_(max_line_bytes), max_event_bytes_(max_event_bytes) {}

Status SseParser::Feed(std::string_view bytes, std::vector<SseEvent>* events) {
  if (!failed_.ok()) return failed_;
  for (size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (after_cr_) {
      after_cr_ = false;
      if (c == '\n') continue;  // the LF of a CRLF pair whose CR ended the line
    }
    if (c == '\r' || c == '\n') {
      after_cr_ = (c == '\r');
      ProcessLine(events);
      if (!failed_.ok()) return failed_;
      continue;
    }
    if (line_.size() >= max_line_bytes_) {
      failed_ = InvalidArgument("sse_line_too_long",
                                "event stream line longer than " + std::to_string(max_line_bytes_) + " bytes");
      line_.clear();
      data_.clear();
      return failed_;
    }
    line_.push_back(c);
  }
  return Status::Ok();
}

void SseParser::ProcessLine(std::vector<SseEvent>* events) {
  std::string_view line(line_);
  if (at_stream_start_) {
    at_stream_start_ = false;
    if (line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
  }
  if (line.empty()) {  // blank line: dispatch
    if (!data_.empty()) {
      data_.pop_back();  // the '\n' after the last data line
      SseEvent e;
      if (!event_.empty()) e.event = event_;
      e.data = std::move(data_);
      e.id = last_id_;
      events->push_back(std::move(e));
    }
    data_.clear();
    event_.clear();
    line_.clear();
    return;
  }
  if (line.front() == ':') {  // comment (OpenRouter-style ": keep-alive")
    line_.clear();
    return;
  }
  std::string_view field = line, value;
  if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (data_.size() + value.size() + 1 > max_event_bytes_) {
      failed_ = InvalidArgument("sse_event_too_large",
                                "event stream event larger than " + std::to_string(max_event_bytes_) + " bytes");
      data_.clear();
    } else {
      data_.append(value);
      data_.push_back('\n');
    }
  } else if (field == "event") {
    event_ = std::string(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_ = std::string(value);
  }
  // "retry" and unknown fields are ignored.
  line_.clear();
}

}  // namespace folio
