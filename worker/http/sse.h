// sse.h: Server-Sent Events framing and the response headers a stream needs
// to pass nginx unbuffered. Pure functions; safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "request.h"

namespace folio {

// "event: <name>\ndata: <json>\n\n" (JSON has no raw newlines, so one data line).
inline std::string SseEvent(std::string_view name, const nlohmann::json& data) {
  std::string out = "event: ";
  out.append(name);
  out += "\ndata: ";
  out += data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out += "\n\n";
  return out;
}

// text/event-stream, no caching, and X-Accel-Buffering: no so nginx
// forwards each event as it is written.
inline void MakeEventStream(Response& r) {
  r.content_type = "text/event-stream; charset=utf-8";
  r.AddHeader("Cache-Control", "no-cache");
  r.AddHeader("X-Accel-Buffering", "no");
}

// True when the client asked for a stream in its Accept header.
inline bool AcceptsEventStream(const Request& request) {
  return request.accept.find("text/event-stream") != std::string::npos;
}

}  // namespace folio
