// config_test.cc: validation of the environment, one problem line per bad variable.
#include "config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

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
  EXPECT_EQ(config->settings().port, 8080);
  EXPECT_EQ(config->settings().workers, 2);
  EXPECT_EQ(config->settings().log_level, "info");
}

TEST(ConfigTest, EveryDefaultInTheTableValidates) {
  for (const auto& var : ConfigVars()) {
    std::vector<std::string> problems;
    EXPECT_TRUE(Config::Load(&problems, FakeEnv({{var.name, var.default_value}})).ok()) << var.name;
  }
}

// A value of the row's kind that differs from its default and validates on
// its own (a path that must exist, say, may not: those rows are skipped).
std::string OtherValue(const ConfigVar& var) {
  switch (var.kind) {
    case VarKind::kInt: return std::to_string(std::to_string(var.min) == var.default_value ? var.max : var.min);
    case VarKind::kBool: return std::string(var.default_value) == "true" ? "false" : "true";
    case VarKind::kEnum: {
      std::string choices = var.choices;
      std::string first = choices.substr(0, choices.find('|'));
      std::string rest = choices.substr(choices.find('|') + 1);
      return first == var.default_value ? rest.substr(0, rest.find('|')) : first;
    }
    case VarKind::kString:
    case VarKind::kSecret: return std::string("other-") + var.name;
  }
  return "";
}

TEST(ConfigTest, EveryRowFillsAFieldOfItsOwn) {
  const auto& vars = ConfigVars();
  for (size_t i = 0; i < vars.size(); ++i)
    for (size_t j = i + 1; j < vars.size(); ++j)
      EXPECT_FALSE(vars[i].field == vars[j].field) << vars[i].name << " and " << vars[j].name << " share a field";
  size_t checked = 0;
  for (const auto& var : vars) {
    const std::string value = OtherValue(var);
    std::vector<std::string> problems;
    Result<Config> config = Config::Load(&problems, FakeEnv({{var.name, value}}));
    if (!config.ok()) continue;  // e.g. API_KEYS_FILE names no file
    EXPECT_EQ(config->Text(var), value) << var.name;
    ++checked;
  }
  EXPECT_GE(checked, vars.size() - 5) << "most rows take a value of their kind on their own";
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
  EXPECT_EQ(config->settings().openai_api_key, "sk-live-supersecret");
  auto masked = config->Masked();
  EXPECT_EQ(masked["OPENAI_API_KEY"].find("supersecret"), std::string::npos);
  EXPECT_EQ(masked["OPENAI_API_KEY"], "<set, 19 chars>");
  EXPECT_EQ(masked["PORT"], "8080");
}

TEST(ConfigTest, StateBackendIsLmdbOrARedisUrlAndItsPasswordIsNeverShown) {
  std::vector<std::string> problems;
  Result<Config> lmdb = Config::Load(&problems, FakeEnv({}));
  ASSERT_TRUE(lmdb.ok());
  EXPECT_EQ(lmdb->settings().state_backend, "lmdb");
  Result<Config> redis =
      Config::Load(&problems, FakeEnv({{"STATE_BACKEND", "redis://:hunter2@10.0.0.5:6380/2"}, {"STATE_PREFIX", "blog:"}}));
  ASSERT_TRUE(redis.ok()) << (problems.empty() ? "" : problems[0]);
  EXPECT_EQ(redis->settings().state_prefix, "blog:");
  EXPECT_EQ(redis->Masked()["STATE_BACKEND"].find("hunter2"), std::string::npos);
  for (const char* bad : {"redis://:hunter2@host:notaport/0", "rediss://:hunter2@host:6379/0", "postgres://:hunter2@x/1",
                          "redis://:hunter2@host:6379/db"}) {
    problems.clear();
    EXPECT_FALSE(Config::Load(&problems, FakeEnv({{"STATE_BACKEND", bad}})).ok()) << bad;
    ASSERT_EQ(problems.size(), 1u) << bad;
    EXPECT_EQ(problems[0].rfind("STATE_BACKEND: ", 0), 0u) << problems[0];
    EXPECT_EQ(problems[0].find("hunter2"), std::string::npos) << problems[0];
  }
  problems.clear();
  (void)Config::Load(&problems, FakeEnv({{"STATE_BACKEND", "rediss://host:6379/0"}}));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("stunnel"), std::string::npos) << "TLS: the way to a TLS-only Redis, " << problems[0];
  problems.clear();
  EXPECT_FALSE(Config::Load(&problems, FakeEnv({{"STATE_PREFIX", "two words"}})).ok());
}

TEST(ConfigTest, EmptyValueMeansDefault) {
  std::vector<std::string> problems;
  Result<Config> config = Config::Load(&problems, FakeEnv({{"PORT", ""}}));
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->settings().port, 8080);
}

TEST(ConfigDocsTest, MarkdownTableHasOneRowPerVariableInTableOrder) {
  std::stringstream table(ConfigMarkdownTable());
  std::string line;
  std::vector<std::string> rows;
  while (std::getline(table, line)) rows.push_back(line);
  ASSERT_EQ(rows.size(), ConfigVars().size() + 2);  // header and separator first
  EXPECT_EQ(rows[0], "| variable | default | allowed | effect |");
  for (size_t i = 0; i < ConfigVars().size(); ++i)
    EXPECT_EQ(rows[i + 2].rfind(std::string("| `") + ConfigVars()[i].name + "` | ", 0), 0u) << rows[i + 2];
}

TEST(ConfigDocsTest, MarkdownTableShowsRangesChoicesAndNoSecretValue) {
  std::string table = ConfigMarkdownTable();
  EXPECT_NE(table.find("| `PORT` | `8080` | 1..65535 | plain HTTP port nginx listens on |"), std::string::npos);
  EXPECT_NE(table.find("| `LOG_LEVEL` | `info` | trace, debug, info, warn, error | "), std::string::npos);
  EXPECT_NE(table.find("| `LLM_REQUIRED` | `false` | true, false | "), std::string::npos);
  EXPECT_NE(table.find("| `TLS_CERT` | *(empty)* | text | "), std::string::npos);
  EXPECT_NE(table.find("| `OPENAI_API_KEY` | \xE2\x80\x94 | secret: never logged | "), std::string::npos);
}

// docs/OPERATIONS.md holds ConfigMarkdownTable() between its env-table
// markers, with a blank line on each side (a table right before an HTML
// comment would swallow it as a row).
TEST(ConfigDocsTest, OperationsDocEnvTableIsGeneratedFromTheConfigTable) {
  std::ifstream file(FOLIO_SOURCE_DIR "/docs/OPERATIONS.md");
  ASSERT_TRUE(file) << "docs/OPERATIONS.md is missing";
  std::stringstream content;
  content << file.rdbuf();
  const std::string doc = content.str();
  const std::string begin = "\n<!-- env-table:begin -->\n", end = "\n<!-- env-table:end -->\n";
  const size_t b = doc.find(begin);
  ASSERT_NE(b, std::string::npos) << "no begin marker line";
  EXPECT_EQ(doc.find(begin, b + 1), std::string::npos) << "two begin marker lines";
  const size_t e = doc.find(end, b);
  ASSERT_NE(e, std::string::npos) << "no end marker line after the begin marker";
  const size_t from = b + begin.size(), to = e + 1;  // `to`: the end marker's first character
  EXPECT_EQ(doc.substr(from, to - from), "\n" + ConfigMarkdownTable() + "\n")
      << "regenerate with the command above the table in docs/OPERATIONS.md";
}

}  // namespace
}  // namespace folio
