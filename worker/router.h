// router.h: method + path → handler. Paths are exact, or a prefix when the
// pattern ends in "/*" (e.g. "/api/sessions/*"). Unknown path → 404,
// known path with another method → 405 with Allow. Immutable after set-up:
// Dispatch() is safe from any thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "app.h"
#include "request.h"

namespace folio {

using Handler = std::function<Response(const Request&, App&)>;

class Router {
 public:
  void Add(std::string method, std::string pattern, Handler handler);

  // Answers the request: read problems and bad paths as errors, otherwise
  // the matching handler's response.
  Response Dispatch(const Request& request, App& app) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    bool prefix;
    Handler handler;
  };
  bool Matches(const Route& route, const std::string& path) const;
  std::vector<Route> routes_;
};

// Every route folio serves (worker/routes.cc).
Router MakeRouter();

}  // namespace folio
