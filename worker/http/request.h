// request.h: folio's view of one HTTP request, its response, and the
// connection that carries them (Exchange), independent of FastCGI
// (transport/fcgi_io.cc implements Exchange over libfcgi; tests fake it).
// Handlers take a const Request& and return a Response value.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "clock.h"
#include "status.h"

namespace folio {

// Largest body the worker reads. nginx refuses above 16 KiB already
// (client_max_body_size); this is the second line when the worker is
// reached some other way.
inline constexpr size_t kMaxBodyBytes = 64 * 1024;

struct Request {
  std::string method;        // "GET"
  std::string path;          // decoded, normalised by nginx ($uri), no query
  std::string query;         // raw query string, without '?'
  std::string content_type;  // "" when absent
  std::string accept;
  std::string authorization;  // raw header; never log it
  std::string api_key;        // X-API-Key; never log it
  std::string origin;
  std::string remote_addr;
  std::string request_id;  // from nginx, or made here when absent
  std::string body;
  // Filled in by the access check (access.h) before routing; never the key.
  std::string client_id;      // "key:<16 hex of its SHA-256>"; "" → ClientIdOf derives one
  std::string key_tag;        // first 4 hex digits of the presented key's SHA-256, for logs
  bool operator_view = true;  // false: /api/health and /ready answer with their status only
  SteadyTime received_at = std::chrono::steady_clock::now();
  // A problem found while reading (body too large, incomplete): the request
  // is answered with it instead of being routed.
  Status read_status;
};

// Streams a body as it is produced (Server-Sent Events). Write() and Flush()
// return false once the client has gone away; the producer should stop.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  virtual bool Write(std::string_view data) = 0;
  virtual bool Flush() = 0;
};

// One accepted request's connection. Used by one thread at a time (the
// accept thread, then possibly a chat thread or the group-commit thread);
// Finish() exactly once, last. Write() and Flush() return false once the
// peer has gone away.
class Exchange : public StreamWriter {
 public:
  // The request's parameters and body (at most kMaxBodyBytes); problems
  // reading go to Request::read_status, never thrown. Called once, first.
  virtual Request Read() = 0;
  // Ends the request and closes its connection.
  virtual void Finish(const Request& request) = 0;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, the body is produced by this callback after the headers are
  // sent (body is ignored). Runs on the thread that serves the request.
  std::function<void(StreamWriter&)> stream;
  // When set, the answer may only go out once a write it reports is durable
  // (a chat's session turn). The server calls hold_until(send) and moves on;
  // hold_until must make send(tail) run exactly once, on any thread, when
  // the write is done or has failed (it logs why; the answer goes out
  // anyway); `tail` is appended to the body first, so the body can end by
  // saying which it was. Not combined with `stream`: a stream commits
  // before its last event.
  using Send = std::function<void(std::string_view tail)>;
  std::function<void(Send send)> hold_until;

  void AddHeader(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
};

// 200 (or `status`) with a JSON body. Invalid UTF-8 in strings is replaced.
Response JsonResponse(int status, const nlohmann::json& body);

// The one error shape: {"error":{"code","message"},"request_id"} with the
// HTTP status that HttpStatusFor(status.code()) gives.
Response ErrorResponse(const Status& status, const std::string& request_id);

// The reason phrase for the Status: line ("Not Found").
const char* ReasonPhrase(int status);

// Serialises status line and headers the way FastCGI responders send them.
std::string ResponseHead(const Response& response);

// Writes the head and the body, or runs the stream producer after the head.
// Returns false when the peer went away mid-write.
bool WriteResponse(StreamWriter& out, const Response& response);

// The worker's log line for an answered request (method, path, status,
// duration, request id). Probes that succeed are logged at debug.
void LogRequest(const Request& request, const Response& response, bool written);
// `path` as every log line shows it: a session id (a bearer secret for its
// conversation) cut to 6 characters, anything else to 120 bytes.
std::string LoggedPath(const std::string& path);

}  // namespace folio
