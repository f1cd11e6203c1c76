// redis_url.cc: parsing and redacting redis:// URLs.
//
// The user information ends at the URL's last '@', not its first '/': a
// password with an unescaped '/', '?' or '@' then still parses, and the
// parser and the redaction agree on where the password is. No message
// quotes anything from before that '@'; the parts after it (host, port, db)
// are quoted to say which one is wrong.
#include "redis_url.h"

#include <cctype>

namespace folio {

namespace {

constexpr std::string_view kScheme = "redis://";
constexpr std::string_view kTlsScheme = "rediss://";

Status BadUrl(const std::string& why) { return InvalidArgument("bad_redis_url", "Redis URL: " + why); }

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX escapes decoded; false on a malformed one.
bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      *out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    *out += static_cast<char>(hi << 4 | lo);
    i += 2;
  }
  return true;
}

// A decimal number of at most `max_digits` digits, or -1.
int64_t Decimal(std::string_view s, size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return -1;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

bool HostNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'; }
bool Ipv6Char(char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'; }

// "host[:port]" or "[v6][:port]" into options.
Status ParseHostPort(std::string_view hp, RedisOptions* options) {
  std::string_view host, port;
  bool has_port = false;
  if (!hp.empty() && hp.front() == '[') {
    const size_t close = hp.find(']');
    if (close == std::string_view::npos) return BadUrl("an IPv6 address opened with '[' needs its ']'");
    host = hp.substr(1, close - 1);
    std::string_view rest = hp.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return BadUrl("expected ':port' after the IPv6 address");
    if (!rest.empty()) has_port = true, port = rest.substr(1);
    for (char c : host)
      if (!Ipv6Char(c)) return BadUrl("\"" + std::string(host) + "\" is not an IPv6 address");
  } else {
    const size_t colon = hp.find(':');
    host = hp.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true, port = hp.substr(colon + 1);
      if (port.find(':') != std::string_view::npos) return BadUrl("an IPv6 address must be written in [brackets]");
    }
    for (char c : host)
      if (!HostNameChar(c)) return BadUrl("\"" + std::string(host) + "\" is not a host name or address");
  }
  if (host.empty()) return BadUrl("no host (redis://HOST[:PORT][/DB])");
  options->host = std::string(host);
  if (has_port) {
    const int64_t p = Decimal(port, 5);
    if (p < 1 || p > 65535) return BadUrl("port \"" + std::string(port) + "\" is not a number from 1 to 65535");
    options->port = static_cast<int>(p);
  }
  return Status::Ok();
}

}  // namespace

Result<RedisOptions> ParseRedisUrl(std::string_view url) {
  if (StartsWithNoCase(url, kTlsScheme))
    return BadUrl(
        "rediss:// (TLS) is not supported: Debian 12's hiredis is built without TLS. Run a local TLS tunnel "
        "(stunnel) to the server and point folio at it with redis://127.0.0.1:PORT");
  if (!StartsWithNoCase(url, kScheme)) return BadUrl("it must start with redis:// (redis://[[USER]:PASSWORD@]HOST[:PORT][/DB])");
  std::string_view rest = url.substr(kScheme.size());
  RedisOptions options;

  const size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    const size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos)
      return BadUrl("the part before '@' must be USER:PASSWORD or :PASSWORD (a user without a password is not supported)");
    if (!PercentDecode(userinfo.substr(0, colon), &options.user))
      return BadUrl("the user name has a malformed %-escape");
    if (!PercentDecode(userinfo.substr(colon + 1), &options.password))
      return BadUrl("the password has a malformed %-escape");
    if (options.password.empty()) return BadUrl("the password after ':' is empty");
    rest = rest.substr(at + 1);
  }

  const size_t slash = rest.find('/');
  const std::string_view hostport = rest.substr(0, slash);
  if (hostport.find_first_of("?#") != std::string_view::npos) return BadUrl("query parameters are not supported");
  if (Status s = ParseHostPort(hostport, &options); !s.ok()) return s;
  if (slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      const int64_t n = Decimal(db, 9);
      if (n < 0) return BadUrl("database \"" + std::string(db) + "\" is not a number (redis://HOST:PORT/0)");
      options.db = static_cast<int>(n);
    }
  }
  return options;
}

std::string RedactRedisUrl(std::string_view url) {
  const size_t scheme_end = url.find("://");
  const size_t start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  const size_t at = url.rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  const std::string_view userinfo = url.substr(start, at - start);
  const size_t colon = userinfo.find(':');
  // Without a ':' the whole user information may be a password (some
  // clients read redis://SECRET@host so): hide all of it.
  const std::string shown = colon == std::string_view::npos ? "***" : std::string(userinfo.substr(0, colon)) + ":***";
  return std::string(url.substr(0, start)) + shown + std::string(url.substr(at));
}

}  // namespace folio
