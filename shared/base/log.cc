// log.cc: spdlog with a JSON pattern. The fixed fields live in the pattern
// (cheap: no allocation), the caller's fields are serialised once by
// nlohmann::json and pasted in as the pattern's %v without their braces.
#include "log.h"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

namespace folio {

namespace {

// Rotation of a log file this process writes itself: 10 MB and 2 backups,
// as supervisord.conf bounds the logs it captures.
constexpr size_t kLogFileBytes = 10u << 20;
constexpr size_t kLogFileBackups = 2;

// FOLIO_LOG_FILE (set per process by supervisord.conf) names a file this
// process appends its lines to, rotating it by size; otherwise stdout. A
// worker writes its own file because a line through supervisord's pipe costs
// its Python loop more CPU than the request the line describes.
std::shared_ptr<spdlog::logger> MakeLogger() {
  const char* file = std::getenv("FOLIO_LOG_FILE");
  std::string fallback_reason;
  if (file != nullptr && *file != '\0') {
    try {
      return spdlog::rotating_logger_mt("folio", file, kLogFileBytes, kLogFileBackups);
    } catch (const spdlog::spdlog_ex& e) {
      fallback_reason = e.what();
    }
  }
  auto l = spdlog::stdout_logger_mt("folio");
  if (!fallback_reason.empty()) l->warn("log file unusable, logging to stdout: {}", fallback_reason);
  return l;
}

std::shared_ptr<spdlog::logger>& Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = MakeLogger();
    l->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","pid":%P,%v})", spdlog::pattern_time_type::utc);
    l->flush_on(spdlog::level::trace);  // one write per line: readers see whole lines, a crash loses none
    return l;
  }();
  return logger;
}

spdlog::level::level_enum ToSpd(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return spdlog::level::trace;
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

void InitLogging(const std::string& level) {
  Logger()->set_level(spdlog::level::from_str(level == "warn" ? "warning" : level));
}

bool LogEnabled(LogLevel level) { return Logger()->should_log(ToSpd(level)); }

void Log(LogLevel level, std::string_view event, const nlohmann::json& fields) {
  auto& logger = Logger();
  if (!logger->should_log(ToSpd(level))) return;
  nlohmann::ordered_json line;  // "event" first, then the caller's fields
  line["event"] = event;
  if (fields.is_object())
    for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = it.value();
  std::string body = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // Strip the outer braces: the pattern supplies them around ts/level/pid.
  logger->log(ToSpd(level), std::string_view(body).substr(1, body.size() - 2));
}

std::string Excerpt(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 continuation
  return std::string(s.substr(0, cut)) + "\xE2\x80\xA6";
}

void LogMembers(LogLevel level, std::string_view members) {
  auto& logger = Logger();
  if (logger->should_log(ToSpd(level))) logger->log(ToSpd(level), members);
}

void AppendJsonString(std::string* out, std::string_view s) {
  // Plain ASCII without quotes, backslashes or control characters, the usual
  // case (ids, methods, paths), is copied as is; anything else goes through
  // nlohmann::json, which escapes and repairs it exactly as Log() does.
  for (unsigned char c : s) {
    if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) {
      out->append(nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      return;
    }
  }
  out->push_back('"');
  out->append(s);
  out->push_back('"');
}

}  // namespace folio
