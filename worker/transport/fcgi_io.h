// fcgi_io.h: the bridge between libfcgi's FCGX_Request and folio's
// Request/Response. Only request.cc and server.cc include this header.
#pragma once

#include <fcgiapp.h>

#include "request.h"

namespace folio {

// Reads params and body (at most kMaxBodyBytes) of an accepted request.
// Problems reading are put in Request::read_status, never thrown.
Request ReadRequest(FCGX_Request* r);

// Writes head and body (or runs the stream producer). Returns false when the
// peer (nginx) has gone away mid-write.
bool WriteResponse(FCGX_Request* r, const Response& response);

// Ends the request: flushes, frees its streams and closes its connection.
// libfcgi's own close half-closes and then waits (up to 2 s) until nginx
// closes first — a lingering close that keeps a TCP stack from answering
// unread request bytes with a RST that could destroy the response in
// flight. On a Unix socket there is no such RST: what was written stays in
// nginx's receive queue and is read before end-of-file. So there, when the
// whole request was read, the connection is closed at once; the wait cost a
// sleep and a wake-up per request, and made the group-commit thread, which
// sends a batch of answers, wait on nginx once per answer.
void FinishRequest(FCGX_Request* r, const Request& request);

}  // namespace folio
