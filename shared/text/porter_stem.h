// porter_stem.h: M. F. Porter's suffix-stripping algorithm (1980), the
// stemmer of the keyword index: "remotely", "remote" -> "remot";
// "configuration", "configure", "configured" -> "configur". It conflates
// more than text_terms.h's light Stem() (which the hash embedder keeps:
// its vectors are defined by it). Pure function; safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace folio {

// The Porter stem of `word`. REQUIRES: lowercase. Words of 2 letters or
// fewer and words with non-ASCII bytes or digits are returned unchanged.
std::string PorterStem(std::string_view word);

}  // namespace folio
