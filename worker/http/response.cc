// response.cc: building responses — JSON bodies, the error shape, the
// CGI-style head FastCGI responders send — writing them, and the request's
// log line.
#include "request.h"

#include "log.h"
#include "routes.h"

namespace folio {

std::string LoggedPath(const std::string& path) {
  const RouteSpec* route = RouteForPath(path);
  if (route && route->secret_path) {  // the pattern's prefix, then 6 characters of the secret
    const size_t keep = route->pattern.size() - 1 + 6;
    if (path.size() > keep) return path.substr(0, keep) + "\xE2\x80\xA6";
  }
  return Excerpt(path, 120);
}

void LogRequest(const Request& req, const Response& resp, bool written) {
  // Probes are logged at debug: a keep-alive cron every few minutes and a
  // platform health check every few seconds would drown the request log.
  const RouteSpec* route = RouteForPath(req.path);
  LogLevel level = resp.status >= 500 ? LogLevel::kError
                   : route && route->probe && resp.status < 400 ? LogLevel::kDebug
                                                                : LogLevel::kInfo;
  if (!LogEnabled(level)) return;
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - req.received_at).count();
  // One line per request: rendered by hand rather than through a json
  // object (a third of a cache hit's logging cost), with Log()'s output: its
  // fields in nlohmann::json's (sorted) key order, numbers as it prints them.
  std::string line;
  line.reserve(160 + req.path.size());
  line.append("\"event\":");
  AppendJsonString(&line, "request");
  if (!written) line.append(",\"client_gone\":true");
  line.append(",\"duration_ms\":").append(nlohmann::json(ms).dump());
  if (!req.key_tag.empty()) {  // which key, never the key
    line.append(",\"key\":");
    AppendJsonString(&line, req.key_tag);
  }
  line.append(",\"method\":");
  AppendJsonString(&line, Excerpt(req.method, 16));
  line.append(",\"path\":");
  AppendJsonString(&line, LoggedPath(req.path));
  line.append(",\"request_id\":");
  AppendJsonString(&line, req.request_id);
  line.append(",\"status\":").append(std::to_string(resp.status));
  LogMembers(level, line);
}

Response JsonResponse(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response ErrorResponse(const Status& status, const std::string& request_id) {
  nlohmann::json body = {{"error", {{"code", status.error()}, {"message", status.message()}}},
                         {"request_id", request_id}};
  return JsonResponse(HttpStatusFor(status.code()), body);
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

bool WriteResponse(StreamWriter& out, const Response& response) {
  if (!out.Write(ResponseHead(response))) return false;
  if (!response.stream) return out.Write(response.body);
  if (!out.Flush()) return false;
  response.stream(out);
  return out.Flush();
}

std::string ResponseHead(const Response& response) {
  std::string head;
  head.reserve(128);
  head += "Status: " + std::to_string(response.status) + " " + ReasonPhrase(response.status) + "\r\n";
  std::string type = response.content_type;
  if (type == "application/json") type += "; charset=utf-8";
  head += "Content-Type: " + type + "\r\n";
  // A known length lets nginx skip chunked encoding towards the client.
  if (!response.stream) head += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  for (const auto& [name, value] : response.headers) head += name + ": " + value + "\r\n";
  head += "\r\n";
  return head;
}

}  // namespace folio
