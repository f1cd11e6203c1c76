// utf8.h: making untrusted bytes valid UTF-8 (a knowledge base's files, and
// what an index holds of them). Pure functions: safe from any thread.
#pragma once

#include <string>

namespace folio {

// Replaces each maximal invalid UTF-8 subsequence of `*text` with U+FFFD
// (the WHATWG/Unicode "best practice"); returns true if anything was replaced.
// Overlong forms, surrogates and code points above U+10FFFF count as invalid.
bool RepairUtf8(std::string* text);

}  // namespace folio
