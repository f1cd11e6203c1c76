// json_body.h: reading a JSON request body safely — content type, size,
// nesting depth, syntax, object-ness — into errors of the one shape.
// Stateless; safe from any thread.
#pragma once

#include <nlohmann/json.hpp>

#include "request.h"
#include "status.h"

namespace folio {

// Nesting deeper than this is refused before parsing (no request folio
// understands nests more than 4 levels).
inline constexpr int kMaxJsonDepth = 32;

// The body as a JSON object. 415 for another content type, 400 for invalid
// JSON (including invalid UTF-8) or too deep, 422 when it is not an object.
Result<nlohmann::json> ParseJsonObject(const Request& request);

// Number of Unicode code points in valid UTF-8 `s` (limits are in characters).
size_t Utf8Length(std::string_view s);

// True when every character is whitespace.
bool IsBlank(std::string_view s);

}  // namespace folio
