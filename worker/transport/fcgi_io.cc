// request.cc: FCGX ⇄ Request/Response. The only includer of <fcgiapp.h>
// besides server.cc's accept loop, which hands FCGX_Request objects here.
#include "request.h"

#include <sys/socket.h>

#include <random>

#include "fcgi_io.h"

namespace folio {

namespace {

std::string Param(FCGX_Request* r, const char* name) {
  const char* v = FCGX_GetParam(name, r->envp);
  return v ? v : "";
}

// 16 random hex chars, for requests that did not come through nginx.
std::string MakeRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

class FcgiStreamWriter : public StreamWriter {
 public:
  explicit FcgiStreamWriter(FCGX_Request* r) : r_(r) {}
  bool Write(std::string_view data) override {
    if (failed_) return false;
    if (FCGX_PutStr(data.data(), static_cast<int>(data.size()), r_->out) != static_cast<int>(data.size()))
      failed_ = true;
    return !failed_;
  }
  bool Flush() override {
    if (!failed_ && FCGX_FFlush(r_->out) != 0) failed_ = true;
    return !failed_;
  }

 private:
  FCGX_Request* r_;
  bool failed_ = false;
};

bool IsUnixSocket(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  return getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0 && addr.ss_family == AF_UNIX;
}

}  // namespace

Request ReadRequest(FCGX_Request* r) {
  Request req;
  req.method = Param(r, "REQUEST_METHOD");
  req.path = Param(r, "DOCUMENT_URI");
  if (req.path.empty()) {  // not nginx: take REQUEST_URI up to '?'
    req.path = Param(r, "REQUEST_URI");
    req.path = req.path.substr(0, req.path.find('?'));
  }
  req.query = Param(r, "QUERY_STRING");
  req.content_type = Param(r, "CONTENT_TYPE");
  req.accept = Param(r, "HTTP_ACCEPT");
  req.authorization = Param(r, "HTTP_AUTHORIZATION");
  req.api_key = Param(r, "HTTP_X_API_KEY");
  req.origin = Param(r, "HTTP_ORIGIN");
  req.remote_addr = Param(r, "REMOTE_ADDR");
  req.request_id = Param(r, "REQUEST_ID");
  if (req.request_id.empty()) req.request_id = MakeRequestId();

  std::string length_param = Param(r, "CONTENT_LENGTH");
  if (length_param.empty()) return req;
  char* end = nullptr;
  unsigned long long length = std::strtoull(length_param.c_str(), &end, 10);
  if (*end != '\0' || length_param[0] == '-') {
    req.read_status = InvalidArgument("bad_content_length", "Content-Length is not a number.");
    return req;
  }
  if (length > kMaxBodyBytes) {
    req.read_status = Status(Code::kPayloadTooLarge, "payload_too_large",
                             "The request body is larger than " + std::to_string(kMaxBodyBytes) + " bytes.");
    return req;
  }
  req.body.resize(length);
  int got = length ? FCGX_GetStr(req.body.data(), static_cast<int>(length), r->in) : 0;
  if (got < 0 || static_cast<unsigned long long>(got) != length) {
    req.body.clear();
    req.read_status = InvalidArgument("incomplete_body", "The request body ended before Content-Length bytes.");
  }
  return req;
}

bool WriteResponse(FCGX_Request* r, const Response& response) {
  std::string head = ResponseHead(response);
  FcgiStreamWriter writer(r);
  if (!writer.Write(head)) return false;
  if (response.stream) {
    if (!writer.Flush()) return false;
    response.stream(writer);
    return writer.Flush();
  }
  return writer.Write(response.body);
}

void FinishRequest(FCGX_Request* r, const Request& request) {
  // A worker process listens on one socket all its life (supervisord's).
  static const bool unix_socket = IsUnixSocket(r->listen_sock);
  if (unix_socket && request.read_status.ok()) FCGX_Detach(r);  // Detach: close without the lingering wait
  FCGX_Finish_r(r);
}

}  // namespace folio
