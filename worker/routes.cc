// routes.cc: the table of every endpoint. Read this to know what folio serves.
#include "handlers/handlers.h"
#include "router.h"

namespace folio {

Router MakeRouter() {
  Router r;
  r.Add("GET", "/ping", HandlePing);
  r.Add("GET", "/ready", HandleReady);
  r.Add("GET", "/api/health", HandleHealth);
  return r;
}

}  // namespace folio
