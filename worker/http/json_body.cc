// json_body.cc: the checks every JSON endpoint shares.
#include "json_body.h"

namespace folio {

namespace {

bool IsJsonType(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  for (auto& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return type == "application/json";
}

// Deepest [ / { nesting outside strings, stopping early past the limit.
int NestingDepth(std::string_view body) {
  int depth = 0, max_depth = 0;
  bool in_string = false, escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth && (max_depth = depth) > kMaxJsonDepth) return depth;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

}  // namespace

Result<nlohmann::json> ParseJsonObject(const Request& request) {
  if (!IsJsonType(request.content_type))
    return Status(Code::kUnsupportedMedia, "unsupported_media_type", "Send the body as application/json.");
  if (request.body.empty()) return InvalidArgument("invalid_json", "The request body is empty; send a JSON object.");
  if (NestingDepth(request.body) > kMaxJsonDepth)
    return InvalidArgument("invalid_json", "The JSON body is nested too deeply.");
  nlohmann::json body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return InvalidArgument("invalid_json", "The request body is not valid JSON (UTF-8).");
  if (!body.is_object()) return Unprocessable("invalid_request", "The JSON body must be an object.");
  return body;
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool IsBlank(std::string_view s) {
  for (unsigned char c : s)
    if (!std::isspace(c)) return false;
  return true;
}

}  // namespace folio
