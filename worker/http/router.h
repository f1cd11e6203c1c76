// router.h: method + path → handler. Paths are exact, or a prefix when the
// pattern ends in "/*" (e.g. "/api/sessions/*"). Unknown path → 404,
// known path with another method → 405 with Allow. Immutable after set-up:
// Dispatch() is safe from any thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "app.h"
#include "request.h"

namespace folio {

using Handler = std::function<Response(const Request&, App&)>;
// The first half of a slow route, run on the accept thread: the answer when
// it needs no wait (a bad request, a cache hit), nullopt to hand the request
// to a chat thread, which then runs the route's Handler from the start.
using FastTry = std::function<std::optional<Response>(const Request&, App&)>;

// kFast handlers answer from memory, the index or LMDB (micro- to
// milliseconds) on the accept thread. kSlow handlers may wait on the LLM
// (seconds) and run on the process's chat threads (see slow_pool.h).
enum class RouteKind { kFast, kSlow };

// What Match() found: a handler to run, or the error answer (400/404/405).
struct RouteMatch {
  const Handler* handler = nullptr;  // valid as long as the Router
  RouteKind kind = RouteKind::kFast;
  const FastTry* fast_try = nullptr;  // kSlow routes that have one
  Response error;
};

class Router {
 public:
  void Add(std::string method, std::string pattern, Handler handler, RouteKind kind = RouteKind::kFast,
           FastTry fast_try = nullptr);

  // Read problems and bad paths become errors; otherwise the matching route.
  RouteMatch Match(const Request& request) const;

  // Match() and run the handler on this thread (tests, fast routes).
  Response Dispatch(const Request& request, App& app) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    bool prefix;
    Handler handler;
    RouteKind kind;
    FastTry fast_try;
  };
  bool Matches(const Route& route, const std::string& path) const;
  std::vector<Route> routes_;
};

// Every route folio serves (worker/routes.cc).
Router MakeRouter();

}  // namespace folio
