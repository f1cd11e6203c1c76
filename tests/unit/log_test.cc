// log_test.cc: the hand-rendered log fields write what nlohmann::json would,
// so a request line reads the same whichever path made it.
#include <gtest/gtest.h>

#include "log.h"

namespace folio {
namespace {

TEST(AppendJsonStringTest, WritesWhatJsonDumpWrites) {
  const std::string cases[] = {
      "",  "GET", "/api/chat", "0123456789abcdef", "a \"quoted\" path", "back\\slash", "tab\there", "new\nline",
      "\x01\x1f", "caf\xC3\xA9", "cut \xE2\x80\xA6", "bad \xFF utf-8", "half \xC3",
  };
  for (const std::string& s : cases) {
    std::string out = "x";
    AppendJsonString(&out, s);
    EXPECT_EQ(out, "x" + nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) << s;
  }
}

}  // namespace
}  // namespace folio
