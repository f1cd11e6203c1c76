// routes.cc: the route table, and a linear scan over it. Fewer than 20
// routes: a scan over a contiguous vector beats any tree and keeps the
// 404/405 logic obvious. Read this table to know what folio serves.
#include "routes.h"

#include <algorithm>

#include "handlers.h"

namespace folio {

namespace {

std::vector<RouteSpec> MakeRoutes() {
  // method, pattern, fast, slow, access, limited, metrics, in_window, probe, secret_path
  using A = AccessClass;
  return {
      {"GET", "/ping", HandlePing, nullptr, A::kProbe, false, Route::kPing, false, true},
      {"GET", "/ready", HandleReady, nullptr, A::kProbeWithReason, false, Route::kReady, false, true},
      {"GET", "/api/health", HandleHealth, nullptr, A::kOperator, false, Route::kHealth, false},
      {"GET", "/api/health/scaling", HandleScaling, nullptr, A::kOperator, false, Route::kScaling, false},
      {"POST", "/api/search", nullptr, HandleSearch, A::kApi, true, Route::kSearch},
      {"POST", "/api/chat", nullptr, HandleChat, A::kApi, true, Route::kChat},
      {"GET", "/api/sessions/*", HandleGetSession, nullptr, A::kApi, true, Route::kSessions, true, false, true},
      {"DELETE", "/api/sessions/*", HandleDeleteSession, nullptr, A::kApi, true, Route::kSessions, true, false, true},
      {"POST", "/v1/chat/completions", nullptr, HandleChatCompletions, A::kApi, true, Route::kV1Chat},
      {"GET", "/v1/models", HandleModels, nullptr, A::kApi, true, Route::kV1Models},
      {"GET", "/metrics", HandleMetrics, nullptr, A::kOperator, false, Route::kMetrics, false},
      {"GET", "/api/cache/stats", HandleCacheStats, nullptr, A::kOperator, false, Route::kCacheStats, false},
  };
}

bool HasPrefix(const std::string& s, std::string_view prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

bool PathMatches(const RouteSpec& route, const std::string& path) {
  const std::string& p = route.pattern;
  if (p.size() >= 2 && p.compare(p.size() - 2, 2, "/*") == 0) {
    const std::string_view prefix(p.data(), p.size() - 1);  // keeps the trailing '/'
    return path.size() > prefix.size() && HasPrefix(path, prefix);
  }
  return path == p;
}

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

const std::vector<RouteSpec>& Routes() {
  static const std::vector<RouteSpec> kRoutes = MakeRoutes();
  return kRoutes;
}

const RouteSpec* RouteForPath(const std::string& path) {
  for (const RouteSpec& route : Routes())
    if (PathMatches(route, path)) return &route;
  return nullptr;
}

AccessClass AccessClassOf(const std::string& path) {
  if (const RouteSpec* route = RouteForPath(path)) return route->access;
  return HasPrefix(path, "/api/") || HasPrefix(path, "/v1/") ? AccessClass::kApi : AccessClass::kOpen;
}

RouteMatch MatchRoute(const Request& request, const std::vector<RouteSpec>& routes) {
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
  for (const RouteSpec& route : routes) {
    if (!PathMatches(route, request.path)) continue;
    // HEAD is GET without the body (RFC 9110 9.3.2); nginx drops the body.
    // nginx lets HEAD through to the probes only (uptime monitors use it),
    // so Allow lists the routes' own methods.
    const bool head_as_get = request.method == "HEAD" && route.method == "GET";
    if (route.method == request.method || head_as_get) {
      match.route = &route;
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
  Response r = ErrorResponse(Status(Code::kMethodNotAllowed, "method_not_allowed", "This endpoint accepts " + allow + "."),
                             request.request_id);
  r.AddHeader("Allow", allow);
  match.error = std::move(r);
  return match;
}

Response Dispatch(const Request& request, App& app) {
  RouteMatch match = MatchRoute(request);
  if (!match.route) return std::move(*match.error);
  if (match.route->fast) return match.route->fast(request, app);
  Step step = match.route->slow(request, app);
  return step.now ? std::move(*step.now) : step.later();
}

}  // namespace folio
