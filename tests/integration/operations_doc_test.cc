// operations_doc_test.cc: docs/OPERATIONS.md against a real stack. The doc
// marks each shell snippet an operator would type to read logs or endpoints
// with a comment listing what its output must contain:
//   <!-- checked: `needle` `another needle` -->
//   ```sh
//   jq … "$LOG_DIR"/nginx-access.log
//   ```
// Each is run with bash (-e, pipefail) against a stack that has served a
// known set of requests — a chat the upstream made retry (its id is $RID), a
// chat answered degraded, a 404, a 405 from nginx itself, a killed worker —
// with LOG_DIR, FOLIO_URL and RID exported, and must succeed and print every
// needle ("$RID" in a needle stands for the id). Also checked: every snippet
// that reads logs carries such a comment, every metric and log event the doc
// names exists, and the doc's command that regenerates its table of
// variables reproduces the doc.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "mock_llm.h"
#include "poll_until.h"
#include "stack_suite.h"

namespace folio::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& content) { std::ofstream(path) << content; }

const std::string& Doc() {
  static const std::string doc = ReadFile(FOLIO_SOURCE_DIR "/docs/OPERATIONS.md");
  return doc;
}

// One ```sh block of the doc and the marker comment on the line before it.
struct ShellBlock {
  int line = 0;                      // 1-based line of the opening fence
  std::string marker;                // the line before the fence when it is a comment, else ""
  std::vector<std::string> needles;  // from a `checked:` marker
  std::string code;
  bool checked() const { return marker.rfind("<!-- checked:", 0) == 0; }
};

std::vector<std::string> BacktickedWords(const std::string& s) {
  std::vector<std::string> out;
  for (size_t open = s.find('`'); open != std::string::npos; open = s.find('`', open)) {
    size_t close = s.find('`', open + 1);
    if (close == std::string::npos) break;
    out.push_back(s.substr(open + 1, close - open - 1));
    open = close + 1;
  }
  return out;
}

std::vector<ShellBlock> ShellBlocks() {
  std::vector<std::string> lines;
  std::stringstream in(Doc());
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::vector<ShellBlock> blocks;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i] != "```sh") continue;
    ShellBlock block;
    block.line = static_cast<int>(i) + 1;
    if (i > 0 && lines[i - 1].rfind("<!--", 0) == 0) block.marker = lines[i - 1];
    if (block.checked()) block.needles = BacktickedWords(block.marker);
    for (++i; i < lines.size() && lines[i] != "```"; ++i) block.code += lines[i] + "\n";
    blocks.push_back(block);
  }
  return blocks;
}

std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

// Counts `needle` over every worker log.
int CountInWorkerLogs(const TestStack& stack, const std::string& needle) {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(stack.log_dir())) {
    std::string name = entry.path().filename().string();
    if (name.rfind("worker-", 0) != 0) continue;
    std::string log = stack.ReadLog(name);
    for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
  }
  return n;
}

class OperationsDocTest : public StackSuite {
 protected:
  static void SetUpTestSuite() {
    rid_ = "ops-doc-" + std::to_string(getpid()) + "-retry";
    degraded_rid_ = "ops-doc-" + std::to_string(getpid()) + "-degraded";
    MockBehaviour slow_ok;  // every successful answer takes 300 ms: the chats are the slowest requests
    slow_ok.latency_ms = 300;
    ASSERT_NO_FATAL_FAILURE(StartStack({{"OPENAI_API_KEY", "sk-test-ops-doc-key"},
                                        {"LLM_RETRIES", "1"},
                                        {"BREAKER_THRESHOLD", "50"},
                                        {"RATE_LIMIT_RPS", "10000"},
                                        {"RATE_LIMIT_BURST", "10000"}},
                                       WithMock([&](MockLlm& mock) { mock.SetChatDefault(slow_ok); })));
    ServeKnownRequests();
  }

  static HttpResponse Chat(const std::string& message, const std::string& request_id) {
    return stack_->Post("/api/chat", nlohmann::json{{"message", message}}.dump(),
                        {{{"Content-Type", "application/json"}, {"X-Request-ID", request_id}}});
  }

  // What the doc's snippets are run against; each line of the logs they
  // look for is waited for (supervisord writes the files asynchronously).
  static void ServeKnownRequests() {
    MockBehaviour unavailable;
    unavailable.status = 503;
    mock_->PushChat(unavailable);  // one retry, then the slow success
    HttpResponse retried = Chat("What does she work on these days?", rid_);
    ASSERT_EQ(retried.status, 200) << retried.raw.substr(0, 400);
    ASSERT_EQ(retried.Json()["degraded"], false) << retried.body;
    ASSERT_EQ(retried.Header("x-request-id"), rid_);

    MockBehaviour failing;
    failing.status = 500;
    mock_->PushChat(failing);
    mock_->PushChat(failing);  // LLM_RETRIES=1: both attempts fail
    HttpResponse degraded = Chat("Where did she study?", degraded_rid_);
    ASSERT_EQ(degraded.status, 200) << degraded.raw.substr(0, 400);
    ASSERT_EQ(degraded.Json()["degraded"], true) << degraded.body;

    ASSERT_EQ(stack_->Get("/no/such/page").status, 404);
    ASSERT_EQ(Http(stack_->port(), "PUT", "/api/chat", "{}").status, 405);  // nginx's own answer
    ASSERT_EQ(stack_->Post("/api/search", R"({"query":"rust","k":2})").status, 200);

    std::vector<pid_t> workers = stack_->WorkerPids();
    ASSERT_EQ(workers.size(), 2u);
    ASSERT_EQ(kill(workers[0], SIGKILL), 0);
    ASSERT_TRUE(stack_->WaitForLog("supervisord.log", "exited: folio-worker-", seconds(10)));
    PollUntil([] { return CountInWorkerLogs(*stack_, "\"event\":\"worker_ready\"") >= 3; }, seconds(15));
    ASSERT_EQ(CountInWorkerLogs(*stack_, "\"event\":\"worker_ready\""), 3) << "the killed worker did not come back";

    for (const std::string& needle : {rid_, degraded_rid_, std::string("/_folio_error/405"), std::string("/no/such/page")})
      ASSERT_TRUE(stack_->WaitForLog("nginx-access.log", needle, seconds(10))) << needle;
    ASSERT_TRUE(stack_->WaitForWorkerLog("\"event\":\"chat_degraded\"", seconds(10)));
  }

  // Runs `code` with bash as an operator's shell would, with the doc's variables set.
  static int RunSnippet(const std::string& code, std::string* output) {
    std::string path = stack_->dir() + "/snippet.sh";
    WriteFile(path, code);
    return RunCommand("env LOG_DIR='" + stack_->log_dir() + "' RID='" + rid_ + "' FOLIO_URL='http://127.0.0.1:" +
                          std::to_string(stack_->port()) + "' bash -e -o pipefail " + path,
                      output);
  }

  static inline std::string rid_, degraded_rid_;
};

TEST_F(OperationsDocTest, EveryCheckedSnippetSucceedsAndPrintsWhatItPromises) {
  int checked = 0;
  for (const ShellBlock& block : ShellBlocks()) {
    if (!block.checked()) continue;
    ++checked;
    SCOPED_TRACE("docs/OPERATIONS.md:" + std::to_string(block.line) + ": " + block.code);
    ASSERT_FALSE(block.needles.empty()) << "a checked snippet must say what its output contains";
    std::string out;
    EXPECT_EQ(RunSnippet(block.code, &out), 0) << out;
    EXPECT_EQ(out.find("jq: error"), std::string::npos) << out;
    for (const std::string& needle : block.needles) {
      std::string want = ReplaceAll(needle, "$RID", rid_);
      EXPECT_NE(out.find(want), std::string::npos) << "missing: " << want << "\noutput:\n" << out;
    }
  }
  EXPECT_GE(checked, 15) << "the doc's checked snippets were not found";
}

TEST_F(OperationsDocTest, FollowingOneRequestShowsOnlyItsOwnLinesFromBothLogs) {
  for (const ShellBlock& block : ShellBlocks()) {
    if (block.code.find("select(.request_id == $rid)") == std::string::npos) continue;
    std::string out;
    ASSERT_EQ(RunSnippet(block.code, &out), 0) << out;
    std::stringstream lines(out);
    int nginx = 0, worker = 0;
    for (std::string line; std::getline(lines, line);) {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      ASSERT_TRUE(j.is_object()) << line;
      EXPECT_EQ(j["request_id"], rid_) << line;
      nginx += j["log"] == "nginx-access.log";
      worker += j["event"] == "request";
    }
    EXPECT_EQ(nginx, 1) << out;
    EXPECT_EQ(worker, 1) << out;
    return;
  }
  FAIL() << "no snippet follows one request id";
}

TEST(OperationsDocStaticTest, EverySnippetThatReadsLogsOrEndpointsIsChecked) {
  for (const ShellBlock& block : ShellBlocks()) {
    bool reads = block.code.find("jq ") != std::string::npos || block.code.find("$LOG_DIR") != std::string::npos ||
                 block.code.find("$RID") != std::string::npos || block.code.find("$FOLIO_URL") != std::string::npos;
    if (reads) {
      EXPECT_TRUE(block.checked()) << "docs/OPERATIONS.md:" << block.line << " needs a <!-- checked: … --> line:\n"
                                   << block.code;
    }
  }
}

TEST_F(OperationsDocTest, EveryMetricTheDocNamesIsServed) {
  HttpResponse metrics = stack_->Get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  const std::string nginx_conf = ReadFile(FOLIO_SOURCE_DIR "/nginx/nginx.conf");  // folio_json, folio_api, …
  std::set<std::string> names;
  std::regex name_re(R"(\bfolio_[a-z][a-z0-9_]*)");
  for (std::sregex_iterator it(Doc().begin(), Doc().end(), name_re), end; it != end; ++it) names.insert(it->str());
  EXPECT_GE(names.size(), 15u);
  for (const std::string& name : names)
    EXPECT_TRUE(metrics.body.find(name) != std::string::npos || nginx_conf.find(name) != std::string::npos)
        << name << " is neither a series of /metrics nor a name in nginx/nginx.conf";
}

TEST(OperationsDocStaticTest, EveryLogEventTheDocNamesIsLoggedByTheCode) {
  std::string sources;
  for (const char* dir : {FOLIO_SOURCE_DIR "/worker", FOLIO_SOURCE_DIR "/shared"}) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      if (entry.path().extension() == ".cc") sources += ReadFile(entry.path().string());
    }
  }
  std::set<std::string> events;
  std::regex event_re(R"re("event":"([a-z_]+)")re");
  for (std::sregex_iterator it(Doc().begin(), Doc().end(), event_re), end; it != end; ++it) events.insert((*it)[1].str());
  EXPECT_GE(events.size(), 10u);
  for (const std::string& event : events)
    EXPECT_NE(sources.find("\"" + event + "\""), std::string::npos) << event << " is logged nowhere in worker/ or shared/";
}

// The doc's own command, run from a copy of the tree whose table is stale,
// must rewrite the doc into exactly the committed one (which config_test
// checks against the config table).
TEST(OperationsDocStaticTest, RegenerateCommandRewritesTheEnvTable) {
  std::string command;
  for (const ShellBlock& block : ShellBlocks())
    if (block.marker == "<!-- env-table:regenerate -->") command = block.code;
  ASSERT_FALSE(command.empty()) << "no <!-- env-table:regenerate --> block";
  const std::string& doc = Doc();
  const std::string begin = "<!-- env-table:begin -->\n", end = "<!-- env-table:end -->\n";
  size_t b = doc.find("\n" + begin), e = doc.find("\n" + end);
  ASSERT_TRUE(b != std::string::npos && e != std::string::npos && b < e);
  std::string stale = doc.substr(0, b + 1 + begin.size()) + "\n| stale |\n\n" + doc.substr(e + 1);

  const TempDir scratch("folio-opsdoc");
  const std::string& dir = scratch.path();
  std::filesystem::create_directories(dir + "/docs");
  std::filesystem::create_directories(dir + "/build");
  std::filesystem::create_directory_symlink(FOLIO_BINARY_DIR "/bin", dir + "/build/bin");
  WriteFile(dir + "/docs/OPERATIONS.md", stale);
  WriteFile(dir + "/regenerate.sh", command);
  std::string out;
  EXPECT_EQ(RunCommand("cd '" + dir + "' && bash -e -o pipefail regenerate.sh", &out), 0) << out;
  EXPECT_EQ(ReadFile(dir + "/docs/OPERATIONS.md"), doc);
}

}  // namespace
}  // namespace folio::test
