// fcgi_io.h: the FastCGI transport — the only part of folio that knows
// libfcgi (<fcgiapp.h> is included by fcgi_io.cc alone). It turns accepted
// FastCGI requests into Exchanges (http/request.h); everything above it sees
// only those. Each accept thread owns one FcgiListener; an Exchange may then
// move to another thread (one at a time) until it is finished.
#pragma once

#include <memory>
#include <string>

#include "request.h"
#include "status.h"

struct FCGX_Request;  // <fcgiapp.h>

namespace folio {

// Once per process, before any listener. Internal("fcgx_init") on failure.
Status InitFastCgi();

// A listening socket at `path` (for running outside supervisord, which
// otherwise passes its socket as fd 0). Unavailable on failure.
Result<int> OpenFastCgiSocket(const std::string& path, int backlog);

// Makes every blocked and future Accept() return nullptr: the process is
// stopping. The socket itself stays open (other processes share it).
void StopAcceptingFastCgi();

// The Request an accepted FastCGI request's parameters and body make, its
// read problem (a bad or too large Content-Length, a short body) in
// read_status. Exchange::Read's work; public for the request fuzzer.
Request ReadFastCgiRequest(FCGX_Request* r);

class FcgiListener {
 public:
  explicit FcgiListener(int listen_fd) : listen_fd_(listen_fd) {}
  FcgiListener(const FcgiListener&) = delete;
  FcgiListener& operator=(const FcgiListener&) = delete;

  // Blocks until a request arrives. nullptr when interrupted (a signal
  // without SA_RESTART: how Server::Stop wakes accept threads) or after
  // StopAcceptingFastCgi(); an accept error is logged and retried after a
  // pause (a broken socket must not spin).
  std::unique_ptr<Exchange> Accept();

 private:
  const int listen_fd_;
};

}  // namespace folio
