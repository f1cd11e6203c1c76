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

}  // namespace folio
