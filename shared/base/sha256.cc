// sha256.cc: the one includer of OpenSSL headers (libcrypto, which libcurl
// links already, so folio carries no new runtime library).
#include "sha256.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdlib>

namespace folio {

Sha256Digest Sha256(std::string_view data) {
  Sha256Digest out{};
  unsigned int len = 0;
  // EVP_Digest: one-shot, no context to leak; EVP_sha256() is a static method table.
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 || len != out.size())
    std::abort();
  return out;
}

namespace {

std::string HexOfBytes(const uint8_t* bytes, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xf];
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string HexOf(const Sha256Digest& bytes) { return HexOfBytes(bytes.data(), bytes.size()); }

std::string Sha1Hex(std::string_view data) {
  std::array<uint8_t, 20> digest{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &len, EVP_sha1(), nullptr) != 1 || len != digest.size())
    std::abort();
  return HexOfBytes(digest.data(), digest.size());
}

bool ParseSha256Hex(std::string_view hex, Sha256Digest* out) {
  if (hex.size() != out->size() * 2) return false;
  Sha256Digest bytes{};
  for (size_t i = 0; i < bytes.size(); ++i) {
    int hi = HexDigit(hex[2 * i]), lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  *out = bytes;
  return true;
}

bool ConstantTimeEqual(const Sha256Digest& a, const Sha256Digest& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace folio
