// client_address.h: who a client is, by network address. A visitor behind
// one IPv6 /64 is one host (providers hand a /64 to a single subscriber),
// so per-client limits key IPv6 on its first 64 bits, as nginx's zones do
// (nginx/nginx.conf, $folio_client_key); IPv4 keys on the whole address.
// Also parses TRUSTED_PROXIES, the CIDR list whose X-Forwarded-For nginx
// believes. Pure functions: safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace folio {

// The part of `addr` that names a client: "203.0.113.7" → "203.0.113.7";
// "2001:db8:1:2::a" → "2001:db8:1:2::/64"; an IPv4-mapped IPv6 address
// ("::ffff:203.0.113.7") → its IPv4 form. Anything that does not parse is
// returned as given (a unix-socket peer has no address: "").
std::string ClientAddressKey(std::string_view addr);

// One CIDR block ("10.0.0.0/8", "2001:db8::/32", or a bare address meaning
// /32 or /128), normalised ("10.0.0.0/8"). InvalidArgument naming the entry
// when it is not an address, the prefix is out of range, or host bits are
// set below the prefix (a typo such as "10.0.0.1/8" would trust more than
// meant).
Result<std::string> ParseCidr(std::string_view text);

// A comma-separated list of CIDR blocks (spaces allowed, empty entries
// skipped), each normalised. "" → an empty list.
Result<std::vector<std::string>> ParseCidrList(std::string_view text);

}  // namespace folio
