// sse_parser_test.cc: every table case must parse the same however the
// bytes are split: whole, at every single split point, and byte by byte.
#include "sse_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace folio {
namespace {

struct Want {
  std::string event;
  std::string data;
};

struct Case {
  const char* name;
  std::string input;
  std::vector<Want> events;
  bool partial_at_end = false;
};

std::vector<Case> Cases() {
  return {
      {"lf", "data: hello\n\n", {{"message", "hello"}}},
      {"crlf", "data: hello\r\n\r\n", {{"message", "hello"}}},
      {"cr_only", "data: hello\r\r", {{"message", "hello"}}},
      {"mixed_terminators", "data: a\r\ndata: b\rdata: c\n\r\n", {{"message", "a\nb\nc"}}},
      {"multi_line_data", "data: one\ndata: two\n\n", {{"message", "one\ntwo"}}},
      {"no_space_after_colon", "data:x\n\n", {{"message", "x"}}},
      {"only_one_space_stripped", "data:  x\n\n", {{"message", " x"}}},
      {"colon_in_value", "data: {\"a\":1}\n\n", {{"message", "{\"a\":1}"}}},
      {"event_name", "event: delta\ndata: d\n\n", {{"delta", "d"}}},
      {"event_name_resets", "event: a\ndata: 1\n\ndata: 2\n\n", {{"a", "1"}, {"message", "2"}}},
      {"comment_ignored", ": keep-alive\ndata: x\n\n", {{"message", "x"}}},
      {"comment_only", ": ping\n\n", {}},
      {"field_without_colon", "data\n\n", {{"message", ""}}},
      {"blank_lines_no_event", "\n\n\n", {}},
      {"unknown_field_ignored", "foo: bar\nretry: 10\ndata: x\n\n", {{"message", "x"}}},
      {"bom_skipped", "\xEF\xBB\xBF" "data: x\n\n", {{"message", "x"}}},
      {"garbage_lines", std::string("\x01\x02\xff\xfe\n") + std::string("\0zz", 3) + "\ndata: ok\n\n", {{"message", "ok"}}},
      {"openai_stream",
       "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n",
       {{"message", "{\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}"}, {"message", "[DONE]"}}},
      {"unterminated_event_dropped", "data: a\n\ndata: b\n", {{"message", "a"}}, true},
      {"unterminated_line_dropped", "data: a\n\ndata: b", {{"message", "a"}}, true},
  };
}

// Parses `pieces` in order; fails the test on any error.
std::vector<SseEvent> ParsePieces(const std::vector<std::string>& pieces, bool* partial) {
  SseParser parser;
  std::vector<SseEvent> events;
  for (const std::string& p : pieces) {
    Status s = parser.Feed(p, &events);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  *partial = parser.HasPartialEvent();
  return events;
}

void ExpectEvents(const Case& c, const std::vector<SseEvent>& got, bool partial, const std::string& how) {
  ASSERT_EQ(got.size(), c.events.size()) << c.name << " " << how;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].event, c.events[i].event) << c.name << " " << how << " event " << i;
    EXPECT_EQ(got[i].data, c.events[i].data) << c.name << " " << how << " event " << i;
  }
  EXPECT_EQ(partial, c.partial_at_end) << c.name << " " << how;
}

TEST(SseParserTest, TableWhole) {
  for (const Case& c : Cases()) {
    bool partial = false;
    auto got = ParsePieces({c.input}, &partial);
    ExpectEvents(c, got, partial, "whole");
  }
}

TEST(SseParserTest, TableAtEverySplitPoint) {
  for (const Case& c : Cases()) {
    for (size_t cut = 0; cut <= c.input.size(); ++cut) {
      bool partial = false;
      auto got = ParsePieces({c.input.substr(0, cut), c.input.substr(cut)}, &partial);
      ExpectEvents(c, got, partial, "cut at " + std::to_string(cut));
    }
  }
}

TEST(SseParserTest, TableByteByByte) {
  for (const Case& c : Cases()) {
    std::vector<std::string> bytes;
    for (char ch : c.input) bytes.emplace_back(1, ch);
    bool partial = false;
    auto got = ParsePieces(bytes, &partial);
    ExpectEvents(c, got, partial, "byte by byte");
  }
}

TEST(SseParserTest, IdIsRemembered) {
  SseParser parser;
  std::vector<SseEvent> events;
  ASSERT_TRUE(parser.Feed("id: 7\ndata: a\n\ndata: b\n\n", &events).ok());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].id, "7");
  EXPECT_EQ(events[1].id, "7");
}

TEST(SseParserTest, OverlongLineFailsAndStaysFailed) {
  SseParser parser(/*max_line_bytes=*/16);
  std::vector<SseEvent> events;
  Status s = parser.Feed("data: ok\n\ndata: " + std::string(100, 'x') + "\n\ndata: later\n\n", &events);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.error(), "sse_line_too_long");
  ASSERT_EQ(events.size(), 1u);  // the event before the overflow still arrives
  EXPECT_EQ(events[0].data, "ok");
  EXPECT_EQ(parser.Feed("data: more\n\n", &events).error(), "sse_line_too_long");
  EXPECT_EQ(events.size(), 1u);
}

TEST(SseParserTest, OverlongLineAcrossManyChunksFails) {
  SseParser parser(/*max_line_bytes=*/64);
  std::vector<SseEvent> events;
  Status s;
  for (int i = 0; i < 100 && s.ok(); ++i) s = parser.Feed("xxxxxxxx", &events);
  EXPECT_EQ(s.error(), "sse_line_too_long");
}

TEST(SseParserTest, TooManyDataLinesFail) {
  SseParser parser(/*max_line_bytes=*/64, /*max_event_bytes=*/100);
  std::vector<SseEvent> events;
  std::string many;
  for (int i = 0; i < 50; ++i) many += "data: 0123456789\n";
  EXPECT_EQ(parser.Feed(many, &events).error(), "sse_event_too_large");
  EXPECT_TRUE(events.empty());
}

TEST(SseParserTest, RandomBytesNeverCrashOrGrowUnbounded) {
  std::mt19937 rng(12345);
  const std::string alphabet = "data: event:id\r\n\n\n:x\xff";
  for (int round = 0; round < 200; ++round) {
    SseParser parser(/*max_line_bytes=*/256, /*max_event_bytes=*/1024);
    std::vector<SseEvent> events;
    for (int piece = 0; piece < 20; ++piece) {
      std::string bytes(rng() % 64, '\0');
      for (char& c : bytes) c = (rng() % 4 == 0) ? static_cast<char>(rng()) : alphabet[rng() % alphabet.size()];
      if (!parser.Feed(bytes, &events).ok()) break;
    }
    for (const SseEvent& e : events) EXPECT_LE(e.data.size(), 1024u);
  }
}

}  // namespace
}  // namespace folio
