// openai_sdk_test.cc: the official `openai` npm package (installed by this
// test's setup from the npm registry, pinned by package-lock.json) drives
// /v1/models and /v1/chat/completions, plain and streamed, through the real
// stack with the mock upstream, and gets OpenAI's error shape back.
#include <gtest/gtest.h>

#include <filesystem>

#include "mock_llm.h"
#include "stack.h"

namespace folio::test {
namespace {

const std::string kSdkDir = FOLIO_SOURCE_DIR "/tests/integration/openai_sdk";

TEST(OpenAiSdkTest, OfficialClientWorksPlainAndStreamed) {
  std::string out;
  if (!std::filesystem::exists(kSdkDir + "/node_modules/openai/package.json")) {
    ASSERT_EQ(RunCommand("cd " + kSdkDir + " && npm ci --no-audit --no-fund", &out), 0) << out;
  }

  MockLlm mock;
  ASSERT_TRUE(mock.Start().ok());
  MockBehaviour reply;
  reply.reply = "Tollgate is a distributed rate limiter.";
  reply.token_delay_ms = 5;
  mock.SetChatDefault(reply);
  std::string error;
  auto stack = TestStack::Start({{"OPENAI_API_KEY", "sk-test"}, {"LLM_BASE_URL", mock.base_url()}}, &error);
  ASSERT_NE(stack, nullptr) << error;

  std::string base = "http://127.0.0.1:" + std::to_string(stack->port()) + "/v1";
  ASSERT_EQ(RunCommand("node " + kSdkDir + "/sdk_check.mjs " + base, &out), 0) << out;
  auto seen = nlohmann::json::parse(out.substr(out.find('{')), nullptr, false);
  ASSERT_TRUE(seen.is_object()) << out;
  EXPECT_EQ(seen["models"], nlohmann::json::array({"folio"}));
  EXPECT_EQ(seen["text"], "Tollgate is a distributed rate limiter.");
  EXPECT_EQ(seen["finish_reason"], "stop");
  EXPECT_GT(seen["usage"]["total_tokens"].get<int>(), 0);
  EXPECT_EQ(seen["stream_text"], "Tollgate is a distributed rate limiter.");
  EXPECT_GE(seen["stream_chunks"].get<int>(), 3);
  EXPECT_EQ(seen["error_status"], 422);
  EXPECT_EQ(seen["error_code"], "invalid_messages");
  EXPECT_EQ(seen["error_type"], "invalid_request_error");
  // The streamed request carried the conversation's earlier turns upstream.
  EXPECT_NE(mock.LastBody("chat_completions").find("Hi! Ask me about Maya."), std::string::npos);
  stack.reset();
  mock.Stop();
}

}  // namespace
}  // namespace folio::test
