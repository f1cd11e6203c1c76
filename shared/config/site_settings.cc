// site_settings.cc: checking the owner's settings file and writing site.json.
#include "site_settings.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace folio {

namespace {

using nlohmann::json;

constexpr size_t kMaxName = 60;
constexpr size_t kMaxText = 600;
constexpr size_t kMaxSuggestions = 6;
constexpr size_t kMaxSuggestion = 120;

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string Trimmed(const std::string& s) {
  const char* blanks = " \t\r\n";
  size_t first = s.find_first_not_of(blanks);
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(blanks) - first + 1);
}

Status Bad(const std::string& what) { return InvalidArgument("invalid_site", what); }

// A string of at most `max` characters (at least `min`), trimmed.
Status ReadText(const json& j, const char* key, size_t min, size_t max, std::string* out) {
  if (!j.is_string()) return Bad(std::string("\"") + key + "\" must be a string");
  std::string text = Trimmed(j.get<std::string>());
  // Control characters other than newlines would only ever be a mistake.
  for (unsigned char c : text)
    if (c < 0x20 && c != '\n') return Bad(std::string("\"") + key + "\" contains a control character");
  size_t n = CodePoints(text);
  if (n < min || n > max)
    return Bad(std::string("\"") + key + "\" must have " + (min ? std::to_string(min) + "-" : "at most ") +
               std::to_string(max) + " characters, got " + std::to_string(n));
  *out = std::move(text);
  return Status::Ok();
}

bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// "#rgb" or "#rrggbb", any case → "#rrggbb" lowercase; "" when invalid.
std::string NormalizeColour(std::string c) {
  for (char& ch : c) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (c.size() == 4 && c[0] == '#') c = std::string("#") + c[1] + c[1] + c[2] + c[2] + c[3] + c[3];
  if (c.size() != 7 || c[0] != '#') return "";
  for (size_t i = 1; i < 7; ++i)
    if (!IsHex(c[i])) return "";
  return c;
}

double Channel(std::string_view hex2) {
  double v = std::stoi(std::string(hex2), nullptr, 16) / 255.0;
  return v <= 0.04045 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4);
}

double Luminance(std::string_view rgb) {
  return 0.2126 * Channel(rgb.substr(1, 2)) + 0.7152 * Channel(rgb.substr(3, 2)) + 0.0722 * Channel(rgb.substr(5, 2));
}

}  // namespace

double ContrastRatio(std::string_view a, std::string_view b) {
  double la = Luminance(a), lb = Luminance(b);
  return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}

Result<SiteSettings> ParseSiteSettings(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Bad("not valid JSON (UTF-8)");
  if (!j.is_object()) return Bad("the file must hold one JSON object");
  SiteSettings s;
  for (const auto& [key, value] : j.items()) {
    Status st = Status::Ok();
    if (key == "_comment") continue;
    if (key == "name") {
      st = ReadText(value, "name", 1, kMaxName, &s.name);
    } else if (key == "greeting") {
      st = ReadText(value, "greeting", 0, kMaxText, &s.greeting);
    } else if (key == "privacy_note") {
      st = ReadText(value, "privacy_note", 0, kMaxText, &s.privacy_note);
    } else if (key == "accent") {
      if (!value.is_string() || (s.accent = NormalizeColour(Trimmed(value.get<std::string>()))).empty())
        st = Bad("\"accent\" must be a colour written #rrggbb or #rgb");
    } else if (key == "suggestions") {
      if (!value.is_array() || value.size() > kMaxSuggestions) {
        st = Bad("\"suggestions\" must be a list of at most " + std::to_string(kMaxSuggestions) + " questions");
      } else {
        s.suggestions.clear();
        for (const json& q : value) {
          std::string question;
          if (st = ReadText(q, "suggestions", 1, kMaxSuggestion, &question); !st.ok()) break;
          s.suggestions.push_back(std::move(question));
        }
      }
    } else {
      st = Bad("unknown key \"" + key + "\" (known: name, greeting, suggestions, accent, privacy_note)");
    }
    if (!st.ok()) return st;
  }
  return s;
}

Result<SiteSettings> LoadSiteSettings(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("site_file_missing", "cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return Internal("site_file_unreadable", "cannot read " + path);
  Result<SiteSettings> s = ParseSiteSettings(text.str());
  if (!s.ok()) return Status(s.status().code(), s.status().error(), path + ": " + s.status().message());
  return s;
}

std::string SiteSettingsJson(const SiteSettings& s) {
  const char* light = "#ffffff";
  const char* dark = "#000000";
  const char* text = ContrastRatio(s.accent, light) >= ContrastRatio(s.accent, dark) ? light : dark;
  return json({{"name", s.name},
               {"greeting", s.greeting},
               {"suggestions", s.suggestions},
               {"accent", s.accent},
               {"accent_text", text},
               {"privacy_note", s.privacy_note}})
      .dump(2);
}

}  // namespace folio
