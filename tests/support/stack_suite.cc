// stack_suite.cc: see stack_suite.h.
#include "stack_suite.h"

namespace folio::test {

void StackSuite::StartStack(std::map<std::string, std::string> env, const SuiteMock& mock) {
  if (mock.start) {
    mock_ = new MockLlm();
    ASSERT_TRUE(mock_->Start().ok());
    if (mock.script) mock.script(*mock_);
    env["LLM_BASE_URL"] = mock_->base_url();
  }
  std::string error;
  stack_ = TestStack::Start(env, &error).release();
  ASSERT_NE(stack_, nullptr) << error;
}

void StackSuite::TearDownTestSuite() {
  delete stack_;
  stack_ = nullptr;
  delete mock_;  // ~MockLlm stops it
  mock_ = nullptr;
}

void StackSuite::SetUp() { ASSERT_NE(stack_, nullptr) << "the suite's stack did not start"; }

}  // namespace folio::test
