// router.cc: a linear table scan. Fewer than 20 routes: a scan over a
// contiguous vector beats any tree, and keeps 404/405 logic obvious.
#include "router.h"

#include <algorithm>

namespace folio {

namespace {

// nginx has normalised the path ($uri: decoded, "." and ".." resolved).
// Anything with a control byte, or that is not absolute, is refused here so
// no handler sees it.
bool SafePath(const std::string& path) {
  if (path.empty() || path[0] != '/' || path.size() > 2048) return false;
  for (unsigned char c : path)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace

void Router::Add(std::string method, std::string pattern, Handler handler, RouteKind kind, FastTry fast_try) {
  bool prefix = pattern.size() >= 2 && pattern.compare(pattern.size() - 2, 2, "/*") == 0;
  if (prefix) pattern.pop_back();  // keep the trailing '/'
  routes_.push_back({std::move(method), std::move(pattern), prefix, std::move(handler), kind, std::move(fast_try)});
}

bool Router::Matches(const Route& route, const std::string& path) const {
  if (!route.prefix) return path == route.pattern;
  return path.size() > route.pattern.size() && path.compare(0, route.pattern.size(), route.pattern) == 0;
}

Response Router::Dispatch(const Request& request, App& app) const {
  RouteMatch match = Match(request);
  return match.handler ? (*match.handler)(request, app) : std::move(match.error);
}

RouteMatch Router::Match(const Request& request) const {
  RouteMatch match;
  if (!request.read_status.ok()) {
    match.error = ErrorResponse(request.read_status, request.request_id);
    return match;
  }
  if (!SafePath(request.path)) {
    match.error = ErrorResponse(InvalidArgument("bad_path", "The request path is not valid."), request.request_id);
    return match;
  }
  std::vector<std::string> allowed;
  for (const auto& route : routes_) {
    if (!Matches(route, request.path)) continue;
    // HEAD is GET without the body (RFC 9110 9.3.2); nginx drops the body.
    // nginx lets HEAD through to the probes only (uptime monitors use it),
    // so Allow lists the routes' own methods.
    const bool head_as_get = request.method == "HEAD" && route.method == "GET";
    if (route.method == request.method || head_as_get) {
      match.handler = &route.handler;
      match.kind = route.kind;
      if (route.fast_try) match.fast_try = &route.fast_try;
      return match;
    }
    if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end()) allowed.push_back(route.method);
  }
  if (allowed.empty()) {
    match.error = ErrorResponse(NotFound("not_found", "No such endpoint."), request.request_id);
    return match;
  }

  std::string allow;
  for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
  Response r = ErrorResponse(Status(Code::kMethodNotAllowed, "method_not_allowed",
                                    "This endpoint accepts " + allow + "."),
                             request.request_id);
  r.AddHeader("Allow", allow);
  match.error = std::move(r);
  return match;
}

}  // namespace folio
