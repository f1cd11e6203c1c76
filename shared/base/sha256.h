// sha256.h: SHA-256 and a constant-time comparison, from OpenSSL's libcrypto
// (and SHA-1, only because Redis names Lua scripts by it).
// sha256.cc is the only file of folio that includes an OpenSSL header.
// Pure functions; safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace folio {

using Sha256Digest = std::array<uint8_t, 32>;

// The SHA-256 of `data`. Never fails (a libcrypto failure aborts: it would
// mean the library itself is broken, and silently wrong digests are worse).
Sha256Digest Sha256(std::string_view data);

// Lowercase hex of `bytes`: 64 characters for a digest.
std::string HexOf(const Sha256Digest& bytes);

// Lowercase hex of the SHA-1 of `data` (40 characters): the name EVALSHA
// knows a Lua script by. Not for anything that needs collision resistance.
std::string Sha1Hex(std::string_view data);

// Parses 64 hex digits (either case) into *out. False on anything else.
bool ParseSha256Hex(std::string_view hex, Sha256Digest* out);

// True iff a == b. The time taken does not depend on where they differ
// (CRYPTO_memcmp), so a caller comparing secrets leaks nothing through timing.
bool ConstantTimeEqual(const Sha256Digest& a, const Sha256Digest& b);

}  // namespace folio
