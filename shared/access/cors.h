// cors.h: which browser origins may call folio's API (CORS_ORIGINS), and the
// headers that say so. An exact allowlist: an Origin is allowed only when it
// is one of the listed strings, byte for byte; nothing about an unlisted
// origin is ever echoed back. No credentials (cookies) are involved: API
// keys travel in Authorization or X-API-Key, which preflights allow.
// Immutable after Parse(); safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "status.h"

namespace folio {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class CorsPolicy {
 public:
  // Parses a comma-separated list of origins, each "http(s)://host[:port]"
  // exactly as a browser sends it: lowercase, no path or trailing slash, no
  // default port (:80 for http, :443 for https), no "*" or "null". Blank
  // items are skipped; "" gives a disabled policy. InvalidArgument naming
  // the first bad item and why.
  static Result<CorsPolicy> Parse(std::string_view list);

  bool enabled() const { return !origins_.empty(); }
  bool Allows(std::string_view origin) const;
  const std::vector<std::string>& origins() const { return origins_; }

  // For an answer to a request with this Origin: Allow-Origin, Expose-Headers
  // and Vary when it is allowed; only "Vary: Origin" when it is not (the
  // answer still depends on it); nothing when the policy is disabled.
  HeaderList ResponseHeaders(std::string_view origin) const;

  // What a preflight (OPTIONS) from an allowed origin adds to
  // ResponseHeaders: Allow-Methods, Allow-Headers and Max-Age. Nothing for
  // another origin.
  HeaderList PreflightHeaders(std::string_view origin) const;

  // What preflights allow, and how long a browser may cache the answer.
  static constexpr char kAllowMethods[] = "GET, POST, DELETE, OPTIONS";
  static constexpr char kAllowHeaders[] = "Content-Type, Authorization, X-API-Key, X-Request-ID";
  static constexpr char kExposeHeaders[] = "X-Request-ID, Retry-After";
  static constexpr int kMaxAgeS = 600;

 private:
  std::vector<std::string> origins_;
};

}  // namespace folio
