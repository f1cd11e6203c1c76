// log.cc: spdlog with a JSON pattern. The fixed fields live in the pattern
// (cheap: no allocation), the caller's fields are serialised once by
// nlohmann::json and pasted in as the pattern's %v without their braces.
#include "log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace folio {

namespace {

std::shared_ptr<spdlog::logger>& Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::stdout_logger_mt("folio");
    l->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","pid":%P,%v})", spdlog::pattern_time_type::utc);
    l->flush_on(spdlog::level::trace);  // one write per line: supervisord sees whole lines
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

}  // namespace folio
