// log.h: one JSON object per line on stdout (supervisord captures and
// rotates it). Every line has ts (UTC, ms), level, pid and event; callers add
// fields. Safe from any thread. Values are escaped by nlohmann::json with
// invalid UTF-8 replaced, so hostile input can never break a line.
// Callers must not pass secrets or unbounded user input: use Excerpt().
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace folio {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };

// REQUIRES: called once, before threads start. level: trace|debug|info|warn|error.
void InitLogging(const std::string& level);

bool LogEnabled(LogLevel level);

// Writes {"ts":...,"level":...,"pid":...,"event":event, ...fields}.
void Log(LogLevel level, std::string_view event, const nlohmann::json& fields = nlohmann::json::object());

// The hot path's form of Log(): `members` is the rest of the object, already
// rendered ("\"event\":\"request\",\"status\":200"), written as given.
// REQUIRES: `members` is valid JSON members text (build strings with
// AppendJsonString).
void LogMembers(LogLevel level, std::string_view members);

// Appends `s` to `out` as a JSON string, quotes included: what Log() would
// write for it (control characters escaped, invalid UTF-8 replaced by U+FFFD).
void AppendJsonString(std::string* out, std::string_view s);

inline void LogInfo(std::string_view e, const nlohmann::json& f = nlohmann::json::object()) { Log(LogLevel::kInfo, e, f); }
inline void LogWarn(std::string_view e, const nlohmann::json& f = nlohmann::json::object()) { Log(LogLevel::kWarn, e, f); }
inline void LogError(std::string_view e, const nlohmann::json& f = nlohmann::json::object()) { Log(LogLevel::kError, e, f); }

// At most `max_bytes` of `s` (cut on a UTF-8 boundary), with "…" when cut:
// the only form in which user input may reach a log line.
std::string Excerpt(std::string_view s, size_t max_bytes = 80);

}  // namespace folio
