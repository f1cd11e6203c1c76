// web_widget_test.cc: the widget (widget.js) on host pages of two other
// origins, in Debian's chromium, driven by tests/browser/widget_check.mjs:
// on an origin listed in CORS_ORIGINS it works under the host's strict CSP,
// isolated from the host's styles and scripts, by keyboard, at desktop and
// 360 px, with axe-core finding nothing serious; on an unlisted origin it
// tells the owner which setting to change, and the chat cannot be framed.
#include <gtest/gtest.h>

#include "browser_check.h"
#include "mock_llm.h"
#include "stack_suite.h"

namespace folio::test {
namespace {

class WebWidgetTest : public StackSuite {
 protected:
  static void SetUpTestSuite() {
    setup_problem_ = BrowserSetupProblem();
    if (!setup_problem_.empty()) return;
    const int allowed = FreePort(), other = FreePort();
    ASSERT_NO_FATAL_FAILURE(StartStack(
        {{"OPENAI_API_KEY", "sk-test"}, {"CORS_ORIGINS", "http://127.0.0.1:" + std::to_string(allowed)}}, WithMock()));
    run_ = new BrowserRun(RunBrowserCheck("widget_check.mjs",
                                          {{"FOLIO", "http://127.0.0.1:" + std::to_string(stack_->port())},
                                           {"HOST_ALLOWED", std::to_string(allowed)},
                                           {"HOST_OTHER", std::to_string(other)},
                                           {"MOCK", "http://127.0.0.1:" + std::to_string(mock_->port())}}));
    std::cout << run_->output;
  }

  static void TearDownTestSuite() {
    StackSuite::TearDownTestSuite();
    delete run_;
    run_ = nullptr;
  }

  // No stack when the browser is missing: the report says why.
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(CheckBrowserReport(setup_problem_, run_)); }

  static inline std::string setup_problem_;
  static inline BrowserRun* run_ = nullptr;
};

TEST_F(WebWidgetTest, EveryScenarioPassedAndNodeExitedCleanly) {
  EXPECT_EQ(run_->exit_code, 0) << run_->output;
  EXPECT_EQ(run_->results.size(), 3u);
}

TEST_F(WebWidgetTest, ListedOriginWorksUnderStrictCspIsolatedBothWays) {
  nlohmann::json s = ExpectScenarioPassed(*run_, "on a listed origin");
  EXPECT_EQ(s.value("assistant_name", ""), "Ask about Maya");
}

TEST_F(WebWidgetTest, PhoneWidthFillsTheScreenAndPassesAxe) { ExpectScenarioPassed(*run_, "on a phone (360 px)"); }

TEST_F(WebWidgetTest, UnlistedOriginTellsTheOwnerWhatToChange) {
  nlohmann::json s = ExpectScenarioPassed(*run_, "on an unlisted origin");
  EXPECT_NE(s.value("message", "").find("CORS_ORIGINS"), std::string::npos);
}

}  // namespace
}  // namespace folio::test
