// config_test.cc: validation of the environment, one problem line per bad variable.
#include "config.h"

#include <gtest/gtest.h>

#include <map>

namespace folio {
namespace {

Config::EnvFn FakeEnv(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

TEST(ConfigTest, DefaultsAreValid) {
  std::vector<std::string> problems;
  Result<Config> config = Config::Load(&problems, FakeEnv({}));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(config->Int("PORT"), 8080);
  EXPECT_EQ(config->Int("WORKERS"), 2);
  EXPECT_EQ(config->Str("LOG_LEVEL"), "info");
}

TEST(ConfigTest, EveryDefaultInTheTableValidates) {
  for (const auto& var : ConfigVars()) {
    std::vector<std::string> problems;
    EXPECT_TRUE(Config::Load(&problems, FakeEnv({{var.name, var.default_value}})).ok()) << var.name;
  }
}

struct BadValueCase {
  const char* name;
  const char* value;
  const char* expected_fragment;
};

class ConfigBadValueTest : public ::testing::TestWithParam<BadValueCase> {};

TEST_P(ConfigBadValueTest, ProblemNamesVariableValueAndAllowedRange) {
  const BadValueCase& c = GetParam();
  std::vector<std::string> problems;
  Result<Config> config = Config::Load(&problems, FakeEnv({{c.name, c.value}}));
  EXPECT_FALSE(config.ok());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].rfind(std::string(c.name) + ":", 0), 0u) << problems[0];
  EXPECT_NE(problems[0].find(c.expected_fragment), std::string::npos) << problems[0];
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConfigBadValueTest,
    ::testing::Values(BadValueCase{"PORT", "abc", "integer in 1..65535"},
                      BadValueCase{"PORT", "70000", "got \"70000\""},
                      BadValueCase{"PORT", "80x", "integer"},
                      BadValueCase{"WORKERS", "0", "1..64"},
                      BadValueCase{"WORKERS", "-3", "1..64"},
                      BadValueCase{"WORKER_THREADS", "99999999999999999999", "integer"},
                      BadValueCase{"LOG_LEVEL", "loud", "trace|debug|info|warn|error"},
                      BadValueCase{"MEMORY_WARN_PERCENT", "5", "10..100"},
                      BadValueCase{"DATA_DIR", "a\nb", "newline"}));

TEST(ConfigTest, SeveralBadValuesGiveOneLineEach) {
  std::vector<std::string> problems;
  Result<Config> config = Config::Load(&problems, FakeEnv({{"PORT", "x"}, {"WORKERS", "y"}, {"LOG_LEVEL", "z"}}));
  EXPECT_FALSE(config.ok());
  EXPECT_EQ(problems.size(), 3u);
}

TEST(ConfigTest, LongBadValueIsShownBoundedAndPrintable) {
  std::vector<std::string> problems;
  std::string value(500, 'x');
  value[3] = '\x01';
  (void)Config::Load(&problems, FakeEnv({{"PORT", value}}));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_LT(problems[0].size(), 120u);
  EXPECT_EQ(problems[0].find('\x01'), std::string::npos);
}

TEST(ConfigTest, SecretIsMaskedInEffectiveConfig) {
  std::vector<std::string> problems;
  Result<Config> config = Config::Load(&problems, FakeEnv({{"OPENAI_API_KEY", "sk-live-supersecret"}}));
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->Str("OPENAI_API_KEY"), "sk-live-supersecret");
  auto masked = config->Masked();
  EXPECT_EQ(masked["OPENAI_API_KEY"].find("supersecret"), std::string::npos);
  EXPECT_EQ(masked["OPENAI_API_KEY"], "<set, 19 chars>");
  EXPECT_EQ(masked["PORT"], "8080");
}

TEST(ConfigTest, EmptyValueMeansDefault) {
  std::vector<std::string> problems;
  Result<Config> config = Config::Load(&problems, FakeEnv({{"PORT", ""}}));
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->Int("PORT"), 8080);
}

}  // namespace
}  // namespace folio
