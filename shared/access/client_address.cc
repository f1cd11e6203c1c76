// client_address.cc: address keys and CIDR parsing with inet_pton/inet_ntop
// (the C library's parsers: no hand-written address grammar to get wrong).
#include "client_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace folio {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsV4Mapped(const in6_addr& a) {
  static const unsigned char kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(a.s6_addr, kPrefix, sizeof kPrefix) == 0;
}

std::string V4String(const unsigned char* bytes) {
  char out[INET_ADDRSTRLEN];
  in_addr v4;
  std::memcpy(&v4, bytes, 4);
  return inet_ntop(AF_INET, &v4, out, sizeof out) ? out : "";
}

std::string V6String(const in6_addr& a) {
  char out[INET6_ADDRSTRLEN];
  return inet_ntop(AF_INET6, &a, out, sizeof out) ? out : "";
}

// Zeroes every bit of `bytes` (size n) after the first `prefix`; returns
// whether any of them was set.
bool ClearHostBits(unsigned char* bytes, size_t n, int prefix) {
  bool had = false;
  for (size_t i = 0; i < n; ++i) {
    const int keep = std::max(0, std::min(8, prefix - static_cast<int>(8 * i)));
    const unsigned char mask = keep == 0 ? 0 : static_cast<unsigned char>(0xFF << (8 - keep));
    had = had || (bytes[i] & ~mask) != 0;
    bytes[i] &= mask;
  }
  return had;
}

}  // namespace

std::string ClientAddressKey(std::string_view addr) {
  const std::string text(addr);
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    if (IsV4Mapped(v6)) return V4String(v6.s6_addr + 12);
    ClearHostBits(v6.s6_addr, 16, 64);
    return V6String(v6) + "/64";
  }
  return text;  // IPv4 as nginx wrote it, or not an address at all
}

Result<std::string> ParseCidr(std::string_view entry) {
  entry = Trim(entry);
  const size_t slash = entry.find('/');
  const std::string address(entry.substr(0, slash));
  auto bad = [&](const std::string& why) {
    return InvalidArgument("bad_cidr", "\"" + std::string(entry.substr(0, 60)) + "\": " + why);
  };
  in_addr v4;
  in6_addr v6;
  const bool is_v4 = inet_pton(AF_INET, address.c_str(), &v4) == 1;
  if (!is_v4 && inet_pton(AF_INET6, address.c_str(), &v6) != 1) return bad("not an IPv4 or IPv6 address");
  const int max_prefix = is_v4 ? 32 : 128;
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    std::string_view digits = entry.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return bad("the prefix length must be a number");
    prefix = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return bad("the prefix length must be a number");
      prefix = prefix * 10 + (c - '0');
    }
    if (prefix > max_prefix) return bad("the prefix length must be at most " + std::to_string(max_prefix));
  }
  unsigned char* bytes = is_v4 ? reinterpret_cast<unsigned char*>(&v4) : v6.s6_addr;
  if (ClearHostBits(bytes, is_v4 ? 4 : 16, prefix)) return bad("address bits are set beyond the prefix length");
  return (is_v4 ? V4String(bytes) : V6String(v6)) + "/" + std::to_string(prefix);
}

Result<std::vector<std::string>> ParseCidrList(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    std::string_view entry = Trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (entry.empty()) continue;
    Result<std::string> cidr = ParseCidr(entry);
    if (!cidr.ok()) return cidr.status();
    out.push_back(std::move(cidr.value()));
  }
  return out;
}

}  // namespace folio
