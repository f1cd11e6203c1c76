// request_fuzz.cc: FastCGI parameters and body → Request (transport/fcgi_io.cc
// ReadFastCgiRequest, through an in-memory FCGX_Request) → MatchRoute over
// every route folio serves → the error answer's head and log line.
//
// Input framing (what nginx's fastcgi_params would send):
//   NAME=VALUE\n ...   one FastCGI parameter per line (REQUEST_METHOD,
//                      DOCUMENT_URI, CONTENT_LENGTH, HTTP_ACCEPT, ...)
//   \n                 a blank line
//   body bytes         the request body, delivered in several stream pieces
// Checks: a read problem or a bad path is never routed; Content-Length and
// the body read agree; every error is the one JSON error shape with its
// HTTP status; a 405 names the allowed methods.
#include <cstring>
#include <string>
#include <vector>

#include <fcgiapp.h>
#include <nlohmann/json.hpp>

#include "coalesced_answer.h"
#include "fcgi_io.h"
#include "fuzz_util.h"
#include "routes.h"
#include "sse.h"

namespace {

using folio::fuzz::Pieces;
using folio::fuzz::Seed;

// An FCGX_Stream over a buffer, refilled `piece` bytes at a time as libfcgi
// refills from its socket; end of data reads as a closed stream.
struct MemoryStream {
  FCGX_Stream stream{};
  std::vector<std::string_view> pieces;
  size_t next = 0;

  explicit MemoryStream(std::vector<std::string_view> p) : pieces(std::move(p)) {
    stream.isReader = 1;
    stream.data = this;
    stream.fillBuffProc = [](FCGX_Stream* s) {
      auto* self = static_cast<MemoryStream*>(s->data);
      if (self->next == self->pieces.size()) {
        s->isClosed = 1;
        return;
      }
      std::string_view piece = self->pieces[self->next++];
      s->rdNext = reinterpret_cast<unsigned char*>(const_cast<char*>(piece.data()));
      s->stop = s->rdNext + piece.size();
    };
  }
};

bool IsSafePath(const std::string& path) {
  if (path.empty() || path[0] != '/' || path.size() > 2048) return false;
  for (unsigned char c : path)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

void CheckErrorShape(const folio::Response& r) {
  FUZZ_CHECK(r.status >= 400 && r.status < 600, std::to_string(r.status));
  nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
  FUZZ_CHECK(body.is_object() && body.contains("error") && body["error"].is_object(), r.body);
  FUZZ_CHECK(body["error"].contains("code") && body["error"]["code"].is_string(), r.body);
  FUZZ_CHECK(body["error"].contains("message") && body["error"]["message"].is_string(), r.body);
  FUZZ_CHECK(body.contains("request_id") && body["request_id"].is_string(), r.body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // Parameters up to the first blank line, as NUL-terminated "NAME=VALUE".
  std::vector<std::string> params;
  size_t pos = 0;
  std::string_view body;
  for (;;) {
    size_t nl = input.find('\n', pos);
    if (nl == pos) {  // blank line: the body follows
      body = input.substr(nl + 1);
      break;
    }
    std::string_view line = input.substr(pos, nl == input.npos ? input.npos : nl - pos);
    if (line.find('=') != line.npos) params.emplace_back(line);  // C strings: a NUL ends the value
    if (nl == input.npos) break;
    pos = nl + 1;
  }
  std::vector<char*> envp;
  for (std::string& p : params) envp.push_back(p.data());
  envp.push_back(nullptr);

  MemoryStream in(Pieces(body, 8192, Seed(body)));
  FCGX_Request fcgx{};
  fcgx.envp = envp.data();
  fcgx.in = &in.stream;
  fcgx.ipcFd = -1;

  folio::Request request = folio::ReadFastCgiRequest(&fcgx);
  FUZZ_CHECK(!request.request_id.empty(), "a request always has an id");
  FUZZ_CHECK(request.body.size() <= folio::kMaxBodyBytes, "body over the limit was read");
  if (request.read_status.ok()) {
    const char* length = FCGX_GetParam("CONTENT_LENGTH", envp.data());
    if (length != nullptr && *length != '\0')
      FUZZ_CHECK(request.body.size() == std::strtoull(length, nullptr, 10), "body and Content-Length disagree");
    else
      FUZZ_CHECK(request.body.empty(), "a body read without Content-Length");
  } else {
    FUZZ_CHECK(request.body.empty(), "a failed read kept body bytes");
  }

  folio::RouteMatch match = folio::MatchRoute(request);
  if (match.route != nullptr) {
    FUZZ_CHECK(request.read_status.ok(), "a request that failed to read was routed");
    FUZZ_CHECK(IsSafePath(request.path), "an unsafe path was routed: " + request.path);
    FUZZ_CHECK(request.path.rfind("/api/", 0) == 0 || request.path.rfind("/v1/", 0) == 0 ||
                   request.path == "/ping" || request.path == "/ready" || request.path == "/metrics",
               "routed outside the API: " + request.path);
    FUZZ_CHECK(match.route->fast || request.method == "POST", "a slow route that is not a POST");
    FUZZ_CHECK(!match.error, "a routed request with an error");
  } else {
    FUZZ_CHECK(match.error.has_value(), "neither a route nor an error");
    const folio::Response& error = *match.error;
    CheckErrorShape(error);
    const int s = error.status;
    FUZZ_CHECK(s == 400 || s == 404 || s == 405 || s == 413, std::to_string(s));
    bool has_allow = false;
    for (const auto& [name, value] : error.headers) {
      FUZZ_CHECK(name.find_first_of("\r\n:") == name.npos && value.find_first_of("\r\n") == value.npos,
                 "header injection: " + name + ": " + value);
      has_allow = has_allow || name == "Allow";
    }
    FUZZ_CHECK(has_allow == (s == 405), "Allow goes with 405 only");
    std::string head = folio::ResponseHead(error);
    FUZZ_CHECK(head.rfind("Status: " + std::to_string(s), 0) == 0, head);
    folio::LogRequest(request, error, /*written=*/true);
  }
  (void)folio::ClientIdOf(request);
  (void)folio::AcceptsEventStream(request);
  return 0;
}
