// stack_suite.h: the base fixture of an integration suite whose tests share
// one stack (and, for the suites that talk to an LLM, one mock LLM): the
// suite's SetUpTestSuite starts them with StartStack(), TearDownTestSuite
// stops them, and each test fails at once if they never started.
//
//   class ChatTest : public StackSuite {
//    protected:
//     static void SetUpTestSuite() { StartStack({{"OPENAI_API_KEY", "sk-x"}}, WithMock()); }
//   };
//
// One suite runs at a time in a test process, so the members are shared by
// every suite deriving from StackSuite in it.
#pragma once

#include <functional>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "mock_llm.h"
#include "stack.h"

namespace folio::test {

// Whether a StackSuite starts a mock LLM, and how it scripts it before the
// stack starts (the workers check the key at start-up): StackSuite::WithMock().
struct SuiteMock {
  bool start = false;
  std::function<void(MockLlm&)> script;  // a key to require, a default reply
};

class StackSuite : public ::testing::Test {
 protected:
  static SuiteMock WithMock(std::function<void(MockLlm&)> script = nullptr) { return {true, std::move(script)}; }

  // Starts the suite's stack with `env` on top of TestStack's defaults;
  // with a mock, LLM_BASE_URL is the mock's. A fatal test failure (with the
  // start log) if it does not start. Call from SetUpTestSuite.
  static void StartStack(std::map<std::string, std::string> env, const SuiteMock& mock = {});
  // Stops the stack, then the mock.
  static void TearDownTestSuite();
  void SetUp() override;

  static inline TestStack* stack_ = nullptr;
  static inline MockLlm* mock_ = nullptr;  // null unless StartStack(…, WithMock())
};

}  // namespace folio::test
