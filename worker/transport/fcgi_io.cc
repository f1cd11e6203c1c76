// fcgi_io.cc: FCGX_Request ⇄ Exchange. The only includer of <fcgiapp.h>.
#include "fcgi_io.h"

#include <fcgiapp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <thread>

#include "log.h"

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


bool IsUnixSocket(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  return getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0 && addr.ss_family == AF_UNIX;
}

}  // namespace

Request ReadFastCgiRequest(FCGX_Request* r) {
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

namespace {

// One accepted FCGX_Request, owned; finished (and freed) exactly once.
class FcgiExchange : public Exchange {
 public:
  explicit FcgiExchange(std::unique_ptr<FCGX_Request> r) : r_(std::move(r)) {}
  ~FcgiExchange() override {
    if (!finished_) FCGX_Finish_r(r_.get());  // never left open, whatever happened
  }
  FcgiExchange(const FcgiExchange&) = delete;
  FcgiExchange& operator=(const FcgiExchange&) = delete;

  Request Read() override { return ReadFastCgiRequest(r_.get()); }

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

  // libfcgi's own close half-closes and then waits (up to 2 s) until nginx
  // closes first — a lingering close that keeps a TCP stack from answering
  // unread request bytes with a RST that could destroy the response in
  // flight. On a Unix socket there is no such RST: what was written stays in
  // nginx's receive queue and is read before end-of-file. So there, when the
  // whole request was read, the connection is closed at once; the wait cost a
  // sleep and a wake-up per request, and made the group-commit thread, which
  // sends a batch of answers, wait on nginx once per answer.
  void Finish(const Request& request) override {
    if (finished_) return;
    finished_ = true;
    // A worker process listens on one socket all its life (supervisord's).
    static const bool unix_socket = IsUnixSocket(r_->listen_sock);
    if (unix_socket && request.read_status.ok()) FCGX_Detach(r_.get());
    FCGX_Finish_r(r_.get());
  }

 private:
  std::unique_ptr<FCGX_Request> r_;
  bool failed_ = false;
  bool finished_ = false;
};

}  // namespace

Status InitFastCgi() {
  return FCGX_Init() == 0 ? Status::Ok() : Internal("fcgx_init", "FCGX_Init failed");
}

Result<int> OpenFastCgiSocket(const std::string& path, int backlog) {
  int fd = FCGX_OpenSocket(path.c_str(), backlog);
  if (fd < 0) return Unavailable("listen_failed", "cannot listen on " + path);
  return fd;
}

void StopAcceptingFastCgi() { FCGX_ShutdownPending(); }

std::unique_ptr<Exchange> FcgiListener::Accept() {
  auto r = std::make_unique<FCGX_Request>();
  // FCGI_FAIL_ACCEPT_ON_INTR: a signal ends a blocked accept() (EINTR),
  // which is how a stopping process wakes its accept threads.
  FCGX_InitRequest(r.get(), listen_fd_, FCGI_FAIL_ACCEPT_ON_INTR);
  const int rc = FCGX_Accept_r(r.get());
  if (rc >= 0) return std::make_unique<FcgiExchange>(std::move(r));
  FCGX_Free(r.get(), 1);
  if (rc != -EINTR) {
    LogError("accept_failed", {{"errno", -rc}, {"error", std::strerror(-rc)}});
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // don't spin on a broken socket
  }
  return nullptr;
}

}  // namespace folio
