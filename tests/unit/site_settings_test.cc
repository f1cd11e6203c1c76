// site_settings_test.cc: the owner's settings file (table-driven: what is
// accepted, what each refusal names), the shipped config/site.json, and the
// text colour chosen for any accent.
#include "site_settings.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace folio {
namespace {

struct SiteCase {
  const char* text;
  bool ok;
  const char* problem;  // part of the message when !ok
};

class SiteSettingsParseTest : public ::testing::TestWithParam<SiteCase> {};

TEST_P(SiteSettingsParseTest, AcceptsOrNamesTheProblem) {
  const SiteCase& c = GetParam();
  Result<SiteSettings> s = ParseSiteSettings(c.text);
  ASSERT_EQ(s.ok(), c.ok) << c.text << ": " << (s.ok() ? "ok" : s.status().message());
  if (!c.ok) {
    EXPECT_EQ(s.status().error(), "invalid_site");
    EXPECT_NE(s.status().message().find(c.problem), std::string::npos) << s.status().message();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, SiteSettingsParseTest,
    ::testing::Values(SiteCase{"{}", true, ""}, SiteCase{R"({"_comment": ["anything"]})", true, ""},
                      SiteCase{R"({"name": "Ada", "accent": "#ABC", "suggestions": ["Why?"]})", true, ""},
                      SiteCase{"", false, "not valid JSON"}, SiteCase{"[]", false, "one JSON object"},
                      SiteCase{R"({"name": ""})", false, "\"name\" must have 1-60"},
                      SiteCase{R"({"name": "   "})", false, "\"name\" must have 1-60"},
                      SiteCase{R"({"name": 3})", false, "\"name\" must be a string"},
                      SiteCase{R"({"name": "a\u0007b"})", false, "control character"},
                      SiteCase{R"({"accent": "blue"})", false, "#rrggbb"},
                      SiteCase{R"({"accent": "#12345g"})", false, "#rrggbb"},
                      SiteCase{R"({"accent": "#1234567"})", false, "#rrggbb"},
                      SiteCase{R"({"suggestions": "Why?"})", false, "list of at most 6"},
                      SiteCase{R"({"suggestions": ["1","2","3","4","5","6","7"]})", false, "list of at most 6"},
                      SiteCase{R"({"suggestions": ["ok", ""]})", false, "\"suggestions\" must have 1-120"},
                      SiteCase{R"({"greting": "typo"})", false, "unknown key \"greting\""}));

TEST(SiteSettingsTest, LongTextIsCountedInCharactersNotBytes) {
  std::string sixty_e_acute;
  for (int i = 0; i < 60; ++i) sixty_e_acute += "\xC3\xA9";  // é: two bytes, one character
  EXPECT_TRUE(ParseSiteSettings(R"({"name": ")" + sixty_e_acute + "\"}").ok());
  EXPECT_FALSE(ParseSiteSettings(R"({"name": ")" + sixty_e_acute + "e\"}").ok());
}

TEST(SiteSettingsTest, TextIsTrimmedAndColoursNormalised) {
  Result<SiteSettings> s = ParseSiteSettings(R"({"name": "  Ada  ", "accent": "#AbC"})");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->name, "Ada");
  EXPECT_EQ(s->accent, "#aabbcc");
}

TEST(SiteSettingsTest, ShippedFileLoadsAndSaysSomething) {
  Result<SiteSettings> s = LoadSiteSettings(std::string(FOLIO_SOURCE_DIR) + "/config/site.json");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_NE(s->name, "Assistant");
  EXPECT_FALSE(s->greeting.empty());
  EXPECT_FALSE(s->suggestions.empty());
  EXPECT_FALSE(s->privacy_note.empty());
}

TEST(SiteSettingsTest, MissingFileNamesThePath) {
  Result<SiteSettings> s = LoadSiteSettings("/nonexistent/site.json");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("/nonexistent/site.json"), std::string::npos);
}

TEST(SiteSettingsTest, AccentTextContrastsAtLeastAaForEveryAccent) {
  // Every grey level and the primaries: the chosen text colour always meets
  // WCAG AA for normal text (4.5:1).
  std::vector<std::string> accents = {"#ff0000", "#00ff00", "#0000ff", "#ffff00", "#00ffff", "#ff00ff"};
  for (int v = 0; v < 256; v += 5) {
    char grey[8];
    std::snprintf(grey, sizeof grey, "#%02x%02x%02x", v, v, v);
    accents.push_back(grey);
  }
  for (const std::string& accent : accents) {
    SiteSettings s;
    s.accent = accent;
    auto j = nlohmann::json::parse(SiteSettingsJson(s));
    const std::string text = j["accent_text"].get<std::string>();
    EXPECT_GE(ContrastRatio(accent, text), 4.5) << accent << " with " << text;
  }
  EXPECT_NEAR(ContrastRatio("#000000", "#ffffff"), 21.0, 1e-9);
}

}  // namespace
}  // namespace folio
