// access.h: who may call what, decided for each request before it is routed.
//
//   /ping, /ready                       always open (probes); /ready's reason
//                                       for not being ready goes to operators only
//   /api/*, /v1/*                       a key from API_KEYS_FILE when it is set
//   /metrics, /api/cache/stats,         OPERATOR_ACCESS: open; loopback (the
//   /api/health/scaling, /api/health    address nginx saw is 127.0.0.0/8 or ::1);
//                                       operator (a key marked operator); auto
//                                       (the default): operator when API_KEYS_FILE
//                                       is set, else loopback.
//                                       /api/health answers others with its
//                                       status only, the rest 401/403.
//   anything else                       open (the router answers 404)
//
// A key is read from "X-API-Key: <key>", else "Authorization: Bearer <key>".
// A missing key and a wrong one get the same 401 (code "unauthorized",
// WWW-Authenticate: Bearer): nothing tells a caller which it was. Keys are
// hashed at once (SHA-256) and never stored, compared or logged as keys.
//
// CORS (CORS_ORIGINS): a preflight (OPTIONS with an Origin) on the API or an
// operator path is answered here, before any key is asked for (browsers send
// no credentials in a preflight): 204 with the Allow-* headers for a listed
// origin, 403 without any Access-Control-* header for another. Every answer
// then gets AddCorsHeaders.
//
// The policy is built once per process; ApiKeys reloads its file by itself.
// CheckAccess is safe from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "api_keys.h"
#include "config.h"
#include "cors.h"
#include "request.h"

namespace folio {

enum class OperatorAccess { kOpen, kLoopback, kOperator };

struct AccessPolicy {
  std::unique_ptr<ApiKeys> keys;  // null: API_KEYS_FILE unset, the API is open
  OperatorAccess operator_access = OperatorAccess::kOpen;
  CorsPolicy cors;  // disabled: no CORS header at all
  // The configuration is invalid: the worker is not ready and must not
  // serve on defaults that may be more open than what was configured. The
  // API answers 503, operator endpoints only to loopback, no CORS.
  bool locked = false;

  // From API_KEYS_FILE, OPERATOR_ACCESS and CORS_ORIGINS. REQUIRES: a Config
  // that Load() accepted (an API_KEYS_FILE that fails to load anyway — it
  // changed since — matches no key until it is fixed).
  static AccessPolicy FromConfig(const Config& config);
  static AccessPolicy Locked();
};

// OPERATOR_ACCESS with "auto" resolved against API_KEYS_FILE.
OperatorAccess OperatorAccessOf(const Config& config);

// The key a request presents: X-API-Key, else the token of
// "Authorization: Bearer <token>" (scheme in any case); "" when neither.
// A view into `request`.
std::string_view PresentedKey(const Request& request);

// True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104: the REMOTE_ADDR nginx
// passes, never a client-supplied header.
bool IsLoopback(std::string_view remote_addr);

// nullopt: the request may be routed (request->client_id, key_tag and
// operator_view are filled in). Otherwise the answer to send instead: a
// preflight's 204 or 403, 401, 403 or 503.
std::optional<Response> CheckAccess(Request* request, AccessPolicy& policy);

// The CORS headers for `request`'s Origin (see CorsPolicy::ResponseHeaders).
void AddCorsHeaders(const Request& request, const AccessPolicy& policy, Response* response);

}  // namespace folio
