// routes.h: every endpoint folio serves, one row each, and the lookup that
// matches a request to its row. The row is the one statement of a route's
// facts: the lifecycle (worker/lifecycle.cc), the access check, the
// per-client limits, the metrics and the request log all read it, and
// tests/unit/routes_test.cc holds nginx's locations to it. Immutable after
// start: safe from any thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app.h"
#include "metrics.h"
#include "request.h"

namespace folio {

// Who may call a route (access.h applies it).
enum class AccessClass {
  kOpen,             // anyone (an unknown path outside the API: the answer is 404)
  kProbe,            // anyone, never a key
  kProbeWithReason,  // anyone; why it is not ready, to operators only
  kOperator,         // OPERATOR_ACCESS (health shows its status to others)
  kApi,              // a key from API_KEYS_FILE when it is set
};

// A fast route answers on the accept thread in micro- to milliseconds. A
// slow one may wait on the network (the LLM, a remote embedder) and runs
// its waiting part on a chat thread, so the accept threads never wait.
using Handler = std::function<Response(const Request&, App&)>;
// A slow route's handler: the answer at once when it needs no wait (a bad
// request, a cache hit, a local embedder), or the rest of its work, which
// runs on a chat thread and owns what it needs (the parsed request, the
// cache key): nothing is done twice.
struct Step {
  std::optional<Response> now;
  std::function<Response()> later;
};
using SlowHandler = std::function<Step(const Request&, App&)>;

struct RouteSpec {
  std::string method;
  std::string pattern;  // exact, or a prefix when it ends in "/*"
  Handler fast;         // exactly one of fast and slow
  SlowHandler slow;
  AccessClass access = AccessClass::kApi;
  bool limited = true;       // counts against the client's CLIENT_RPM and CLIENT_MAX_CONCURRENT
  Route metrics = Route::kOther;  // the metrics label (a streamed chat: kChatStream)
  bool in_window = true;     // counts in /api/health/scaling's 5-minute window
  bool probe = false;        // logged at debug when it succeeds
  bool secret_path = false;  // the path ends in a bearer secret (a session id): logs cut it
};

// Every route, in the order they are matched.
const std::vector<RouteSpec>& Routes();

// What a request matched: its route, or the answer to send instead (400 for
// a bad path or a body that could not be read, 404, 405 with Allow).
struct RouteMatch {
  const RouteSpec* route = nullptr;
  std::optional<Response> error;
};
// `routes` is Routes() in service; tests pass a table of their own.
RouteMatch MatchRoute(const Request& request, const std::vector<RouteSpec>& routes = Routes());

// The facts of a path whatever its method, for requests no route took too:
// who may call it (an unknown /api/ or /v1/ path needs a key like the API:
// nothing tells a caller without one which endpoints exist), how it is
// logged and counted. nullptr when no route has the path.
const RouteSpec* RouteForPath(const std::string& path);
AccessClass AccessClassOf(const std::string& path);

// Runs the matching route on this thread, its slow part included (tests,
// fuzzing): what the lifecycle does, without threads, limits or logs.
Response Dispatch(const Request& request, App& app);

}  // namespace folio
