// web_page_test.cc: the chat page (/) in Debian's chromium, driven by
// tests/browser/page_check.mjs against four real stacks and the mock
// upstream: streaming paints, safe Markdown, sources, a conversation that
// survives a reload, New conversation, Stop cancelling the upstream call,
// both kinds of degraded answer, the owner's settings, 429 / 503 / timeout /
// offline, keyboard-only use, the live region, axe-core. The browser runs
// once for the suite (SetUpTestSuite); each TEST reads its scenario.
#include <gtest/gtest.h>

#include <fstream>
#include <optional>

#include "browser_check.h"
#include "mock_llm.h"
#include "proc_util.h"
#include "stack.h"
#include "temp_dir.h"

namespace folio::test {
namespace {

void WriteText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// The owner's second version of the settings: every field changed.
constexpr char kChangedSite[] = R"({
  "name": "Folio Test Desk",
  "greeting": "Welcome to the **test** desk.",
  "suggestions": ["First suggested question?", "Second one?"],
  "accent": "#7a1fa2",
  "privacy_note": "Test stacks keep nothing for long."
})";

class WebPageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setup_problem_ = BrowserSetupProblem();
    if (!setup_problem_.empty()) return;
    mock_ = new MockLlm();
    ASSERT_TRUE(mock_->Start().ok());
    site_dir_.emplace("folio-site");
    const std::string site = site_dir_->path("site.json");
    // The shipped settings first; the same file changed before the next stack starts.
    WriteText(site, ReadFile(FOLIO_SOURCE_DIR "/config/site.json"));
    const std::map<std::string, std::string> llm = {{"OPENAI_API_KEY", "sk-test"}, {"LLM_BASE_URL", mock_->base_url()},
                                                    {"LLM_RETRIES", "0"}, {"BREAKER_THRESHOLD", "1000"}};
    auto with = [&](std::map<std::string, std::string> env) {
      env.insert(llm.begin(), llm.end());
      return env;
    };
    std::string error;
    // With the default transcript (SESSION_MAX_MESSAGES) and prompt window
    // (MAX_HISTORY_MESSAGES, 5): the reload check restores all 12 messages.
    main_ = TestStack::Start(with({{"SITE_FILE", site}}), &error).release();
    ASSERT_NE(main_, nullptr) << error;
    WriteText(site, kChangedSite);
    nokey_ = TestStack::Start({{"SITE_FILE", site}}, &error).release();
    ASSERT_NE(nokey_, nullptr) << error;
    limited_ = TestStack::Start(with({{"WORKERS", "1"}, {"CLIENT_MAX_CONCURRENT", "1"}}), &error).release();
    ASSERT_NE(limited_, nullptr) << error;
    busy_ = TestStack::Start(with({{"WORKERS", "1"}, {"CHAT_THREADS", "1"}, {"CHAT_QUEUE", "1"},
                                   {"REQUEST_TIMEOUT_S", "3"}}),
                             &error)
                .release();
    ASSERT_NE(busy_, nullptr) << error;
    auto url = [](const TestStack* s) { return "http://127.0.0.1:" + std::to_string(s->port()); };
    run_ = new BrowserRun(RunBrowserCheck("page_check.mjs", {{"MAIN", url(main_)},
                                                             {"NOKEY", url(nokey_)},
                                                             {"LIMITED", url(limited_)},
                                                             {"BUSY", url(busy_)},
                                                             {"MOCK", "http://127.0.0.1:" + std::to_string(mock_->port())},
                                                             {"SITE_MAIN", main_->run_dir() + "/web/site.json"},
                                                             {"SITE_NOKEY", nokey_->run_dir() + "/web/site.json"}}));
    std::cout << run_->output;
  }

  static void TearDownTestSuite() {
    for (TestStack* s : {main_, nokey_, limited_, busy_}) delete s;
    delete mock_;
    delete run_;
    site_dir_.reset();
  }

  void SetUp() override { ASSERT_NO_FATAL_FAILURE(CheckBrowserReport(setup_problem_, run_)); }

  static inline std::string setup_problem_;
  static inline std::optional<TempDir> site_dir_;
  static inline MockLlm* mock_ = nullptr;
  static inline TestStack *main_ = nullptr, *nokey_ = nullptr, *limited_ = nullptr, *busy_ = nullptr;
  static inline BrowserRun* run_ = nullptr;
};

TEST_F(WebPageTest, EveryScenarioPassedAndNodeExitedCleanly) {
  EXPECT_EQ(run_->exit_code, 0) << run_->output;
  EXPECT_EQ(run_->results.size(), 10u);
}

TEST_F(WebPageTest, TokensArriveInSeveralPaintsMarkdownIsSafeAndSourcesOpen) {
  nlohmann::json s = ExpectScenarioPassed(*run_, "tokens arrive in several paints");
  EXPECT_GE(s.value("paints_before_done", 0), 3);
  EXPECT_GE(s.value("sources", 0), 1);
  EXPECT_GT(s.value("passage_chars", 0), 40);
}

TEST_F(WebPageTest, SixTurnsSurviveAReloadExpiredSessionStartsAnewNewConversationForgets) {
  nlohmann::json s = ExpectScenarioPassed(*run_, "a 6-turn conversation survives a reload");
  EXPECT_EQ(s.value("restored_messages", 0), 12);
}

TEST_F(WebPageTest, StopCancelsTheUpstreamCall) {
  nlohmann::json s = ExpectScenarioPassed(*run_, "Stop aborts the stream");
  EXPECT_GE(s.value("upstream_disconnects", 0), 1);
}

TEST_F(WebPageTest, FailingServiceAndNoModelAreToldApart) { ExpectScenarioPassed(*run_, "a failing AI service"); }

TEST_F(WebPageTest, OwnersSiteFileChangesThePage) {
  nlohmann::json s = ExpectScenarioPassed(*run_, "the owner's site file");
  EXPECT_EQ(s.value("changed", ""), "Folio Test Desk");
}

TEST_F(WebPageTest, RateLimitShowsTheWaitAndRecovers) {
  nlohmann::json s = ExpectScenarioPassed(*run_, "a 429 shows the wait");
  EXPECT_NE(s.value("wait_text", "").find("again in 1 s"), std::string::npos) << s.dump();
}

TEST_F(WebPageTest, BusyTimeoutAndOfflineKeepTheQuestion) { ExpectScenarioPassed(*run_, "busy (503), timeout and offline"); }

TEST_F(WebPageTest, KeyboardOnlyFlowWithVisibleFocus) { ExpectScenarioPassed(*run_, "keyboard only"); }

TEST_F(WebPageTest, LiveRegionAnnouncesOnlyTheFinishedAnswer) {
  nlohmann::json s = ExpectScenarioPassed(*run_, "the live region announces");
  EXPECT_EQ(s.value("announcements", 0), 1);
}

TEST_F(WebPageTest, AxeFindsNoSeriousViolationAtDesktopPhoneAndDark) {
  ExpectScenarioPassed(*run_, "axe: no serious or critical violation");
}

}  // namespace
}  // namespace folio::test
