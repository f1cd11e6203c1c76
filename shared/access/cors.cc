// cors.cc: parsing CORS_ORIGINS and the CORS headers.
//
// Origins are compared as exact strings, never as patterns: a suffix or
// regex match is how "https://example.com.evil.net" gets in. So the list is
// validated strictly at start, in the form browsers serialise an Origin
// (RFC 6454): a list entry that could never match is a configuration error,
// not a silent no-op.
#include "cors.h"

#include <algorithm>
#include <cctype>

namespace folio {

namespace {

bool IsLabelChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

// Checks one origin; returns "" when fine, else why not.
std::string OriginProblem(std::string_view o) {
  if (o == "*") return "\"*\" is not supported: list each origin";
  if (o == "null") return "\"null\" is never allowed (sandboxed and file:// pages send it)";
  std::string_view rest;
  bool https;
  if (o.rfind("https://", 0) == 0) https = true, rest = o.substr(8);
  else if (o.rfind("http://", 0) == 0) https = false, rest = o.substr(7);
  else return "must start with http:// or https://";
  for (char c : rest)
    if (std::isupper(static_cast<unsigned char>(c))) return "must be lowercase (browsers send origins lowercase)";
  if (rest.find('/') != std::string_view::npos) return "must not have a path or a trailing slash";
  std::string_view host = rest, port;
  if (!rest.empty() && rest[0] == '[') {  // an IPv6 literal
    size_t close = rest.find(']');
    if (close == std::string_view::npos || close < 3) return "has an unterminated IPv6 address";
    for (char c : rest.substr(1, close - 1))
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return "has an invalid IPv6 address";
    host = rest.substr(0, close + 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return "has text after the IPv6 address";
      port = rest.substr(close + 2);
      if (port.empty()) return "has an empty port";
    }
  } else {
    size_t colon = rest.find(':');
    if (colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
      if (port.empty()) return "has an empty port";
    }
    if (host.empty() || host.size() > 253) return "has no valid host";
    size_t label = 0;
    for (size_t i = 0; i <= host.size(); ++i) {
      if (i == host.size() || host[i] == '.') {
        if (label == 0 || label > 63 || host[i - 1] == '-' || host[i - label] == '-') return "has an invalid host name";
        label = 0;
      } else if (!IsLabelChar(host[i])) {
        return "has an invalid host name (letters, digits, '-' and '.' only)";
      } else {
        ++label;
      }
    }
  }
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        port[0] == '0' || std::stol(std::string(port)) > 65535)
      return "has an invalid port";
    if ((https && port == "443") || (!https && port == "80"))
      return "must not name the default port (browsers leave it out)";
  }
  return "";
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<CorsPolicy> CorsPolicy::Parse(std::string_view list) {
  CorsPolicy policy;
  for (size_t at = 0; at <= list.size();) {
    size_t comma = list.find(',', at);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view item = Trim(list.substr(at, comma - at));
    at = comma + 1;
    if (item.empty()) continue;
    std::string problem = OriginProblem(item);
    if (!problem.empty()) {
      std::string shown(item.substr(0, 80));
      for (char& c : shown)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
      return InvalidArgument("invalid_cors_origin", "\"" + shown + "\" " + problem);
    }
    if (!policy.Allows(item)) policy.origins_.emplace_back(item);
  }
  return policy;
}

bool CorsPolicy::Allows(std::string_view origin) const {
  return std::find(origins_.begin(), origins_.end(), origin) != origins_.end();
}

HeaderList CorsPolicy::ResponseHeaders(std::string_view origin) const {
  if (!enabled()) return {};
  if (!Allows(origin)) return {{"Vary", "Origin"}};
  return {{"Access-Control-Allow-Origin", std::string(origin)},
          {"Access-Control-Expose-Headers", kExposeHeaders},
          {"Vary", "Origin"}};
}

HeaderList CorsPolicy::PreflightHeaders(std::string_view origin) const {
  if (!Allows(origin)) return {};
  return {{"Access-Control-Allow-Methods", kAllowMethods},
          {"Access-Control-Allow-Headers", kAllowHeaders},
          {"Access-Control-Max-Age", std::to_string(kMaxAgeS)}};
}

}  // namespace folio
