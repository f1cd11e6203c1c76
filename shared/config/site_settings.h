// site_settings.h: what the site owner says about the chat page and the
// widget — the assistant's name, its greeting, suggested first questions,
// an accent colour and a privacy note — read from one JSON file (SITE_FILE,
// config/site.json by default), checked, and turned into the site.json that
// nginx serves to the page (`folio-worker --site-json`, run by scripts/start).
// Pure functions over values; safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace folio {

struct SiteSettings {
  std::string name = "Assistant";       // 1-60 characters: the page's title and header
  std::string greeting;                 // ≤ 600 characters, shown first in an empty conversation
  std::vector<std::string> suggestions; // ≤ 6 questions of 1-120 characters, offered as buttons
  std::string accent = "#2457c5";       // "#rrggbb" (lowercase): buttons, the visitor's messages
  std::string privacy_note;             // ≤ 600 characters, under the input
};

// Parses and checks a settings file's text. Every key is optional (absent
// ones keep the defaults above) except that unknown keys are refused, so a
// misspelt one is not silently ignored ("_comment" is allowed). Text is
// trimmed; "#abc" is accepted as "#aabbcc". InvalidArgument("invalid_site")
// naming the first problem (key and what is allowed).
Result<SiteSettings> ParseSiteSettings(std::string_view text);
// ParseSiteSettings of the file's content; NotFound / Internal when it
// cannot be read, with the path in the message.
Result<SiteSettings> LoadSiteSettings(const std::string& path);

// The JSON the page reads: the settings plus "accent_text", the colour
// (#ffffff or #000000) that contrasts most with the accent — at least
// 4.58:1 for any accent, so text on it meets WCAG AA.
std::string SiteSettingsJson(const SiteSettings& settings);

// WCAG 2.x contrast ratio of two "#rrggbb" colours (1 to 21).
double ContrastRatio(std::string_view a, std::string_view b);

}  // namespace folio
